//! `cadenza-bench`: the measuring helpers `scripts/bench.sh` calls. The script owns the
//! orchestration (processes, baselines, the table); this binary does what needs precise
//! timing or the catalog's own code.

mod calls;
mod latency;
mod listeners;
mod playback;
mod proc_cpu;
mod queries;
mod search;
mod start;
#[cfg(test)]
mod test_support;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use latency::{median, ms};

#[derive(Parser)]
#[command(
    name = "cadenza-bench",
    version,
    about = "Measuring helpers for scripts/bench.sh"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print a fixed list of realistic search queries built from a catalog, one per line.
    Queries {
        /// The catalog database (DATA_DIR/catalog.sqlite).
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Print `/api/v1/search?q=...&limit=N` request paths instead of the raw text.
        #[arg(long, value_name = "LIMIT")]
        paths: Option<u32>,
    },
    /// Time queries in process and print `key=value` figures (medians over the rounds).
    Search {
        #[arg(long)]
        db: PathBuf,
        /// A file of queries, one per line (from `queries`).
        #[arg(long)]
        queries: PathBuf,
        #[arg(long, value_enum)]
        engine: search::Engine,
        /// Results per group, as the player asks.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Use only this many of the queries, spread over the list.
        #[arg(long)]
        sample: Option<usize>,
        /// Also print the N slowest queries of the first round to stderr.
        #[arg(long, default_value_t = 0)]
        slowest: usize,
        /// Which groups Cadenza searches (the server's `type`); `all` is what the player asks.
        #[arg(long, value_enum, default_value_t = search::Group::All)]
        r#type: search::Group,
    },
    /// Time the catalog's other calls in process, one line per case: pages and details,
    /// song lookups, as-you-type and hostile searches, the hot chart, stats (wall and
    /// thread CPU time, p50 and p99).
    Calls {
        /// The catalog database (DATA_DIR/catalog.sqlite).
        #[arg(long)]
        db: PathBuf,
        /// Calls per case (stats: 3).
        #[arg(long, default_value_t = 200)]
        calls: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Also time recording plays: adds `--calls` plays by the first account.
        #[arg(long)]
        writes: bool,
    },
    /// Print what Cadenza's search returns for each query, one line each (total and ids of
    /// every group), to compare two builds' results.
    Results {
        #[arg(long)]
        db: PathBuf,
        /// A file of queries, one per line (from `queries`).
        #[arg(long)]
        queries: PathBuf,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Time SQL statements on a catalog (read-only), for profiling: rows and median time.
    Sql {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// A value for the next `?` parameter (bound as text), repeatable.
        #[arg(long = "param")]
        params: Vec<String>,
        /// Statements to time, each run `repeat` times.
        #[arg(required = true)]
        statements: Vec<String>,
    },
    /// Simulate listeners playing songs at their bitrate from one server: times to first
    /// byte, underruns, the server's CPU. One run of `--listeners N`, or with `--find-limit`
    /// the largest N that runs without an underrun or a failed request. Prints
    /// `RESULT key=value ...` lines (one per run, then `LIMIT ...` for a search).
    Listeners(ListenersArgs),
    /// Start a server, wait for `/readyz` to answer 200, print its pid, address and timings,
    /// and leave it running.
    Start {
        #[arg(long)]
        stdout: PathBuf,
        #[arg(long)]
        stderr: PathBuf,
        #[arg(long, default_value_t = 120)]
        timeout_secs: u64,
        /// The server program and its arguments.
        #[arg(required = true, last = true)]
        command: Vec<String>,
    },
}

#[derive(clap::Args)]
struct ListenersArgs {
    /// The server's address (loopback).
    #[arg(long)]
    addr: SocketAddr,
    /// A file of request paths, one song per line; listener i plays line i mod lines.
    #[arg(long)]
    paths: PathBuf,
    /// Bearer token sent with every request.
    #[arg(long, env = "BENCH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Pids of the server's processes (repeatable); their CPU time and their children's is
    /// measured from /proc.
    #[arg(long = "pid")]
    pids: Vec<u32>,
    /// Listeners in one run.
    #[arg(long, required_unless_present = "find_limit")]
    listeners: Option<usize>,
    /// Search for the largest clean listener count instead, from --from up to --max.
    #[arg(long, conflicts_with = "listeners")]
    find_limit: bool,
    #[arg(long, default_value_t = 500)]
    from: usize,
    #[arg(long, default_value_t = 8000)]
    max: usize,
    /// Runs a search may take.
    #[arg(long, default_value_t = 8)]
    max_trials: usize,
    /// Playback bitrate, bit/s.
    #[arg(long, default_value_t = 160_000)]
    bitrate: u64,
    /// Seconds buffered before playback starts.
    #[arg(long, default_value_t = 2.0)]
    prebuffer: f64,
    /// Seconds a listener holds ahead at most.
    #[arg(long, default_value_t = 10.0)]
    read_ahead: f64,
    /// Seconds over which the listeners arrive.
    #[arg(long, default_value_t = 5.0)]
    ramp: f64,
    /// Seconds each listener listens.
    #[arg(long, default_value_t = 15.0)]
    listen: f64,
    /// Share of listeners that seek once.
    #[arg(long, default_value_t = 0.25)]
    seek_share: f64,
    /// Each listener's socket receive buffer in bytes (SO_RCVBUF). Linux doubles the figure
    /// for its bookkeeping: the default keeps Linux's initial 128 KiB from growing.
    #[arg(long, default_value_t = 65_536)]
    receive_buffer: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl ListenersArgs {
    fn settings(&self) -> anyhow::Result<listeners::Settings> {
        let text = std::fs::read_to_string(&self.paths)
            .with_context(|| format!("reading the song paths {}", self.paths.display()))?;
        let paths: Vec<String> = text
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        anyhow::ensure!(!paths.is_empty(), "{} holds no paths", self.paths.display());
        let secs = |name: &str, v: f64| -> anyhow::Result<Duration> {
            Duration::try_from_secs_f64(v).map_err(|_| {
                anyhow::anyhow!("--{name} {v}: give a number of seconds of at least 0")
            })
        };
        let (prebuffer, read_ahead) = (
            secs("prebuffer", self.prebuffer)?,
            secs("read-ahead", self.read_ahead)?,
        );
        anyhow::ensure!(
            read_ahead > prebuffer,
            "--read-ahead ({}) must be more than --prebuffer ({})",
            self.read_ahead,
            self.prebuffer
        );
        anyhow::ensure!(
            self.bitrate >= 8,
            "--bitrate {} is below one byte a second",
            self.bitrate
        );
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.seek_share),
            "--seek-share {} is not a share between 0 and 1",
            self.seek_share
        );
        Ok(listeners::Settings {
            addr: self.addr,
            paths,
            token: self.token.clone(),
            policy: playback::Policy {
                bytes_per_second: self.bitrate / 8,
                prebuffer,
                read_ahead,
                refill: Duration::from_secs(1).min(read_ahead - prebuffer),
            },
            ramp: secs("ramp", self.ramp)?,
            listen: secs("listen", self.listen)?,
            seek_share: self.seek_share,
            receive_buffer: self.receive_buffer,
            seed: self.seed,
            server_pids: self.pids.clone(),
        })
    }
}

fn listeners_cmd(args: &ListenersArgs) -> anyhow::Result<()> {
    let settings = args.settings()?;
    let room = open_files_limit().saturating_sub(64);
    let most = args.listeners.unwrap_or(args.max);
    anyhow::ensure!(
        most <= room,
        "{most} listeners need {most} open sockets, but this process may open {room}; \
         raise the limit (ulimit -n) or lower --max/--listeners"
    );
    let print = |trial: &listeners::Trial| {
        println!("RESULT {}", trial.line());
        if let Some(e) = &trial.first_error {
            eprintln!("  first failure: {e}");
        }
    };
    match args.listeners {
        Some(n) => print(&listeners::run(&settings, n)?),
        None => {
            let limit =
                listeners::find_limit(&settings, args.from, args.max, args.max_trials, print)?;
            let failed_at = limit
                .failed_at
                .map_or("none".to_string(), |n| n.to_string());
            println!("LIMIT listeners={} failed_at={failed_at}", limit.listeners);
        }
    }
    Ok(())
}

/// Raises this process's open-file limit to its hard limit and returns it.
fn open_files_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct passed; no other preconditions.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
    }
    usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Listeners(args) => listeners_cmd(&args)?,
        Cmd::Queries {
            db,
            count,
            seed,
            paths,
        } => {
            let list = queries::generate(&db, count, seed)?;
            let mut out = String::new();
            for q in list {
                match paths {
                    Some(limit) => out.push_str(&format!(
                        "/api/v1/search?q={}&limit={limit}\n",
                        queries::url_encode(&q)
                    )),
                    None => {
                        out.push_str(&q);
                        out.push('\n');
                    }
                }
            }
            print!("{out}");
        }
        Cmd::Search {
            db,
            queries,
            engine,
            limit,
            rounds,
            sample,
            slowest,
            r#type,
        } => {
            let text = std::fs::read_to_string(&queries)
                .with_context(|| format!("reading the queries {}", queries.display()))?;
            let mut list: Vec<String> = text
                .lines()
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            if let Some(m) = sample {
                list = search::sample(&list, m);
            }
            anyhow::ensure!(!list.is_empty(), "{} holds no queries", queries.display());
            let passes = search::run(&db, engine, r#type, &list, limit, rounds.max(1))?;
            let mut by_time: Vec<(Duration, &String)> =
                passes[0].times.iter().copied().zip(&list).collect();
            by_time.sort_by_key(|t| std::cmp::Reverse(t.0));
            for (t, q) in by_time.iter().take(slowest) {
                eprintln!("{:>10} ms  {q}", ms(*t));
            }
            let mid = |f: fn(&search::Pass) -> Duration| -> anyhow::Result<String> {
                Ok(ms(
                    median(passes.iter().map(f).collect()).context("no passes")?
                ))
            };
            println!(
                "queries={} rounds={} with_results={} p50_ms={} p99_ms={} max_ms={} mean_ms={}",
                list.len(),
                passes.len(),
                passes[0].with_results,
                mid(|p| p.summary.p50)?,
                mid(|p| p.summary.p99)?,
                mid(|p| p.summary.max)?,
                mid(|p| p.summary.mean)?,
            );
        }
        Cmd::Calls {
            db,
            calls,
            seed,
            writes,
        } => {
            for case in calls::run(&db, calls, seed, writes)? {
                println!("{case}");
            }
        }
        Cmd::Results {
            db,
            queries,
            limit,
            offset,
        } => {
            let text = std::fs::read_to_string(&queries)
                .with_context(|| format!("reading the queries {}", queries.display()))?;
            let list: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
            let page = cadenza_api::PageRequest { limit, offset };
            print!("{}", search::results(&db, &list, page)?);
        }
        Cmd::Sql {
            db,
            repeat,
            params,
            statements,
        } => {
            for sql in statements {
                let t = search::time_sql(&db, &sql, &params, repeat.max(1))?;
                println!(
                    "{:>10} ms  {:>8} rows  {:>3} reprepares  {sql}",
                    ms(t.median),
                    t.rows,
                    t.reprepares
                );
            }
        }
        Cmd::Start {
            stdout,
            stderr,
            timeout_secs,
            command,
        } => {
            let (program, args) = command.split_first().context("no server program given")?;
            let s = start::start(
                program,
                args,
                &stdout,
                &stderr,
                Duration::from_secs(timeout_secs),
            )?;
            println!(
                "pid={} url=http://{} listening_ms={} ready_ms={}",
                s.pid,
                s.addr,
                ms(s.listening),
                ms(s.ready)
            );
        }
    }
    Ok(())
}
