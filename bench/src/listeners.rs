//! The listener benchmark: N simulated listeners on loopback, each playing a song at its
//! bitrate (see `playback`) from one HTTP server. The same client runs against Cadenza and
//! against nginx serving the same files, so the two are compared on equal terms.
//!
//! Listeners arrive at random moments over a ramp, each plays song `i mod songs` from the
//! start, and some seek once (the player drops its connection and asks for a range from the
//! new position, as real players do). Each reports its times to first byte (from connecting
//! to the first body byte, per request) and its underruns. The client runs on one thread, so
//! it never takes more than one core from the server it measures, and its work per byte is
//! small (reads of at most the read-ahead, no parsing beyond the response head).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{sleep_until, timeout_at};

use crate::latency::{ms, Summary};
use crate::playback::{Next, Playback, Policy};
use crate::proc_cpu;

/// Everything a run needs besides the number of listeners.
#[derive(Clone, Debug)]
pub struct Settings {
    pub addr: SocketAddr,
    /// One request path per song; listener `i` plays `paths[i % len]`.
    pub paths: Vec<String>,
    /// Sent as `Authorization: Bearer` (nginx ignores it).
    pub token: Option<String>,
    pub policy: Policy,
    /// Listeners arrive over this long.
    pub ramp: Duration,
    /// How long each listener stays.
    pub listen: Duration,
    /// Share of listeners that seek once while listening.
    pub seek_share: f64,
    /// Each listener's socket receive buffer (`SO_RCVBUF`), fixed. A player that reads at
    /// playback rate has no use for more; left to itself, Linux grows a loopback receive
    /// buffer to megabytes, and a thousand clients' buffers then exhaust the machine's TCP
    /// memory (`tcp_mem`), which on a real network would sit on the listeners' devices.
    pub receive_buffer: u32,
    pub seed: u64,
    /// The server's processes: their CPU time (and their children's) is measured.
    pub server_pids: Vec<u32>,
}

/// What one run measured.
#[derive(Debug)]
pub struct Trial {
    pub listeners: usize,
    pub requests: usize,
    pub ttfb: Option<Summary>,
    pub underruns: u64,
    pub listeners_with_underruns: usize,
    pub errors: usize,
    pub first_error: Option<String>,
    pub server_cpu: Duration,
    pub wall: Duration,
    pub bytes: u64,
}

impl Trial {
    /// No underrun and no failed request.
    pub fn clean(&self) -> bool {
        self.underruns == 0 && self.errors == 0
    }

    /// One `key=value` line for scripts/bench.sh.
    pub fn line(&self) -> String {
        let ttfb =
            |f: fn(&Summary) -> Duration| self.ttfb.as_ref().map_or("nan".into(), |s| ms(f(s)));
        format!(
            "listeners={} requests={} ttfb_p50_ms={} ttfb_p99_ms={} ttfb_max_ms={} underruns={} \
             listeners_with_underruns={} errors={} server_cpu_s={:.3} cpu_per_listener_ms={:.3} \
             wall_s={:.1} mb_received={:.1}",
            self.listeners,
            self.requests,
            ttfb(|s| s.p50),
            ttfb(|s| s.p99),
            ttfb(|s| s.max),
            self.underruns,
            self.listeners_with_underruns,
            self.errors,
            self.server_cpu.as_secs_f64(),
            self.server_cpu.as_secs_f64() * 1e3 / self.listeners.max(1) as f64,
            self.wall.as_secs_f64(),
            self.bytes as f64 / 1e6,
        )
    }
}

/// One listener's schedule, drawn before the run so both servers see the same one.
#[derive(Clone, Copy, Debug)]
struct Plan {
    song: usize,
    start: Duration,
    /// When to seek (since the listener started) and to which share of the song.
    seek: Option<(Duration, f64)>,
}

fn plans(settings: &Settings, n: usize) -> Vec<Plan> {
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let listen = settings.listen.as_secs_f64();
    (0..n)
        .map(|i| {
            let start = Duration::from_secs_f64(rng.random::<f64>() * settings.ramp.as_secs_f64());
            let seek = (rng.random::<f64>() < settings.seek_share).then(|| {
                let at = listen * rng.random_range(0.3..0.8);
                (Duration::from_secs_f64(at), rng.random_range(0.0..0.9))
            });
            Plan {
                song: i % settings.paths.len(),
                start,
                seek,
            }
        })
        .collect()
}

#[derive(Default)]
struct Outcome {
    ttfb: Vec<Duration>,
    underruns: u64,
    errors: usize,
    first_error: Option<String>,
    bytes: u64,
}

impl Outcome {
    fn fail(&mut self, e: anyhow::Error) {
        self.errors += 1;
        self.first_error.get_or_insert_with(|| format!("{e:#}"));
    }
}

/// Runs `n` listeners to the end and measures them and the server.
pub fn run(settings: &Settings, n: usize) -> anyhow::Result<Trial> {
    anyhow::ensure!(!settings.paths.is_empty(), "no songs to play");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the client's runtime")?;
    let settings = Arc::new(settings.clone());
    let plans = plans(&settings, n);
    let cpu_before = proc_cpu::of(&settings.server_pids)?;
    let started = Instant::now();
    let outcomes = runtime.block_on(async {
        let begin = tokio::time::Instant::now();
        let tasks: Vec<_> = plans
            .into_iter()
            .map(|plan| tokio::spawn(listener(Arc::clone(&settings), plan, begin)))
            .collect();
        let mut outcomes = Vec::with_capacity(tasks.len());
        for task in tasks {
            outcomes.push(task.await);
        }
        outcomes
    });
    let wall = started.elapsed();
    let server_cpu = proc_cpu::of(&settings.server_pids)?.saturating_sub(cpu_before);
    let mut trial = Trial {
        listeners: n,
        requests: 0,
        ttfb: None,
        underruns: 0,
        listeners_with_underruns: 0,
        errors: 0,
        first_error: None,
        server_cpu,
        wall,
        bytes: 0,
    };
    let mut ttfb = Vec::new();
    for outcome in outcomes {
        let outcome = outcome.context("a listener task failed")?;
        trial.requests += outcome.ttfb.len() + outcome.errors;
        ttfb.extend(outcome.ttfb);
        trial.underruns += outcome.underruns;
        trial.listeners_with_underruns += usize::from(outcome.underruns > 0);
        trial.errors += outcome.errors;
        trial.bytes += outcome.bytes;
        if trial.first_error.is_none() {
            trial.first_error = outcome.first_error;
        }
    }
    trial.ttfb = Summary::of(ttfb);
    Ok(trial)
}

/// What a limit search found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The most listeners that ran clean (0 when none did).
    pub listeners: usize,
    /// The fewest that did not, when a run failed: the limit lies in between. `None` when
    /// every run was clean: the limit is `listeners` or more.
    pub failed_at: Option<usize>,
}

impl Limit {
    /// The count to try after a run of `n` (already recorded), or `None` when the search is
    /// done: the top ran clean, or the gap is within an eighth of the limit.
    fn next(&self, n: usize, max: usize) -> Option<usize> {
        match self.failed_at {
            None if n >= max => None,
            None => Some((n * 2).min(max)),
            Some(f) if f - self.listeners <= (self.listeners / 8).max(1) => None,
            Some(f) => Some((self.listeners + f) / 2),
        }
    }
}

/// The largest listener count in `from..=max` that runs clean, searched by doubling and then
/// halving the gap (until it is within an eighth), within `max_trials` runs. Each run's
/// line goes to `report`.
pub fn find_limit(
    settings: &Settings,
    from: usize,
    max: usize,
    max_trials: usize,
    mut report: impl FnMut(&Trial),
) -> anyhow::Result<Limit> {
    let mut limit = Limit {
        listeners: 0,
        failed_at: None,
    };
    let mut n = from.clamp(1, max);
    for trial_number in 1..=max_trials {
        let trial = run(settings, n)?;
        report(&trial);
        if trial.clean() {
            limit.listeners = n;
        } else {
            limit.failed_at = Some(n);
        }
        n = match limit.next(n, max) {
            Some(next) => next,
            None => break,
        };
        if trial_number < max_trials {
            // Let the server settle (closed connections, freed buffers) between runs.
            std::thread::sleep(Duration::from_secs(2));
        }
    }
    Ok(limit)
}

async fn listener(settings: Arc<Settings>, plan: Plan, begin: tokio::time::Instant) -> Outcome {
    let mut outcome = Outcome::default();
    let start = begin + plan.start;
    let end = start + settings.listen;
    sleep_until(start).await;
    let path = &settings.paths[plan.song];
    let first_end = plan.seek.map_or(end, |(at, _)| start + at);
    let size = match session(&settings, path, 0, first_end, &mut outcome).await {
        Ok(size) => size,
        Err(e) => {
            outcome.fail(e);
            return outcome;
        }
    };
    if let Some((_, share)) = plan.seek {
        let offset = (size as f64 * share) as u64;
        if let Err(e) = session(&settings, path, offset, end, &mut outcome).await {
            outcome.fail(e);
        }
    }
    outcome
}

/// One request from `offset` to the end of the song, played until `until`. Returns the
/// song's size (from the response's length).
async fn session(
    settings: &Settings,
    path: &str,
    offset: u64,
    until: tokio::time::Instant,
    outcome: &mut Outcome,
) -> anyhow::Result<u64> {
    let asked = tokio::time::Instant::now();
    let (mut stream, head, early) = timeout_at(until, request(settings, path, offset))
        .await
        .context("no response before the listener left")??;
    let total = head.length;
    let mut playback = Playback::new(settings.policy, total);
    let since = |at: tokio::time::Instant| at.saturating_duration_since(asked);
    let mut first_byte = None;
    if early > 0 {
        first_byte = Some(asked.elapsed());
        playback.receive(early, since(tokio::time::Instant::now()));
    }
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let now = tokio::time::Instant::now();
        if now >= until {
            break;
        }
        match playback.next(since(now)) {
            Next::Done => {
                sleep_until(until).await;
                break;
            }
            Next::WaitUntil(at) => sleep_until((asked + at).min(until)).await,
            Next::Read { max, dry_at } => {
                let deadline = dry_at.map_or(until, |at| (asked + at).min(until));
                let room = buffer.len().min(usize::try_from(max).unwrap_or(usize::MAX));
                match timeout_at(deadline, stream.read(&mut buffer[..room])).await {
                    Ok(Ok(0)) => bail!(
                        "{path}: the server closed the connection after {} of {total} bytes",
                        playback.received_bytes()
                    ),
                    Ok(Ok(n)) => {
                        first_byte.get_or_insert_with(|| asked.elapsed());
                        playback.receive(n as u64, since(tokio::time::Instant::now()));
                    }
                    Ok(Err(e)) => return Err(e).with_context(|| format!("{path}: reading")),
                    Err(_) if deadline < until => playback.underrun(since(deadline)),
                    Err(_) => break,
                }
            }
        }
    }
    match first_byte {
        Some(t) => outcome.ttfb.push(t),
        None => bail!("{path}: no audio byte before the listener left"),
    }
    outcome.underruns += u64::from(playback.underruns());
    outcome.bytes += playback.received_bytes();
    Ok(offset + total)
}

/// The parts of a response head the listener needs.
struct Head {
    /// Body bytes to come (from `Content-Length`).
    length: u64,
}

/// Sends `GET path` (from `offset` on) and reads the response head. Returns the stream, the
/// head, and how many body bytes came with the head (they count as received).
async fn request(
    settings: &Settings,
    path: &str,
    offset: u64,
) -> anyhow::Result<(TcpStream, Head, u64)> {
    let socket = match settings.addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .context("creating a socket")?;
    socket
        .set_recv_buffer_size(settings.receive_buffer)
        .context("setting the receive buffer")?;
    let mut stream = socket
        .connect(settings.addr)
        .await
        .with_context(|| format!("connecting to {}", settings.addr))?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", settings.addr);
    if let Some(token) = &settings.token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if offset > 0 {
        request.push_str(&format!("Range: bytes={offset}-\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .context("sending the request")?;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let end = loop {
        let n = stream.read(&mut chunk).await.context("reading the head")?;
        if n == 0 {
            bail!("{path}: the server closed the connection before answering");
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if head.len() > 64 * 1024 {
            bail!("{path}: a response head over 64 KiB");
        }
    };
    let parsed = parse_head(&head[..end], offset > 0).with_context(|| path.to_string())?;
    Ok((stream, parsed, (head.len() - end) as u64))
}

/// Checks the status (200, or 206 for a range) and reads `Content-Length`.
fn parse_head(head: &[u8], range: bool) -> anyhow::Result<Head> {
    let text = std::str::from_utf8(head).context("a response head that is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split(' ').nth(1).unwrap_or_default();
    let expected = if range { "206" } else { "200" };
    if code != expected {
        bail!("expected status {expected}, got `{status}`");
    }
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .context("the response has no Content-Length")?
        .1
        .trim()
        .parse()
        .context("a Content-Length that is not a number")?;
    Ok(Head { length })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(paths: usize) -> Settings {
        Settings {
            addr: "127.0.0.1:9".parse().unwrap(),
            paths: (0..paths).map(|i| format!("/s/{i}")).collect(),
            token: None,
            policy: Policy {
                bytes_per_second: 20_000,
                prebuffer: Duration::from_secs(2),
                read_ahead: Duration::from_secs(10),
                refill: Duration::from_secs(1),
            },
            ramp: Duration::from_secs(5),
            listen: Duration::from_secs(15),
            seek_share: 0.25,
            receive_buffer: 65_536,
            seed: 7,
            server_pids: vec![],
        }
    }

    #[test]
    fn plans_spread_songs_starts_and_seeks_the_same_way_every_time() {
        let s = settings(3);
        let a = plans(&s, 400);
        let b = plans(&s, 400);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(a.iter().filter(|p| p.song == 2).count(), 133);
        assert!(a.iter().all(|p| p.start < s.ramp));
        let seeks = a.iter().filter_map(|p| p.seek).collect::<Vec<_>>();
        assert!((60..140).contains(&seeks.len()), "{}", seeks.len());
        assert!(seeks
            .iter()
            .all(|(at, share)| *at < s.listen && (0.0..0.9).contains(share)));
    }

    /// The counts a search tries when runs above `breaks` fail.
    fn search(from: usize, max: usize, breaks: usize) -> (Vec<usize>, Limit) {
        let mut limit = Limit {
            listeners: 0,
            failed_at: None,
        };
        let (mut tried, mut n) = (Vec::new(), from);
        loop {
            tried.push(n);
            if n <= breaks {
                limit.listeners = n;
            } else {
                limit.failed_at = Some(n);
            }
            match limit.next(n, max) {
                Some(next) => n = next,
                None => return (tried, limit),
            }
        }
    }

    #[test]
    fn the_limit_search_doubles_then_halves_the_gap() {
        let (tried, limit) = search(1000, 8000, 3000);
        assert_eq!(tried, [1000, 2000, 4000, 3000, 3500, 3250]);
        assert_eq!(
            limit,
            Limit {
                listeners: 3000,
                failed_at: Some(3250)
            }
        );
        // A server that never fails is searched up to the top and no further.
        let (tried, limit) = search(1000, 5000, usize::MAX);
        assert_eq!(tried, [1000, 2000, 4000, 5000]);
        assert_eq!(limit.failed_at, None);
        // One that fails from the start goes down to where it does not.
        let (_, limit) = search(1000, 8000, 40);
        assert!(
            limit.listeners <= 40 && limit.failed_at.unwrap() <= 46,
            "{limit:?}"
        );
    }

    #[test]
    fn heads_need_the_right_status_and_a_length() {
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 4200\r\nx: y\r\n\r\n";
        assert_eq!(parse_head(ok, false).unwrap().length, 4200);
        let partial = b"HTTP/1.1 206 Partial Content\r\nContent-Length: 7\r\n\r\n";
        assert_eq!(parse_head(partial, true).unwrap().length, 7);
        let e = parse_head(ok, true).err().unwrap().to_string();
        assert!(e.contains("expected status 206"), "{e}");
        let e = parse_head(b"HTTP/1.1 200 OK\r\n\r\n", false)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("no Content-Length"), "{e}");
    }
}
