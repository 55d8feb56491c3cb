//! Harness for end-to-end tests: runs the real binaries built by cargo, each server on
//! 127.0.0.1 port 0 with a temp data dir, and kills every process it starts, also when a
//! test fails (the guards kill on drop).
//!
//! `cargo test` builds only the binaries of packages with integration tests, so [`bin`]
//! builds the workspace's binaries the first time a test asks for one: `cargo build
//! --workspace --bins`, the command `scripts/test.sh` runs, for the profile and target dir
//! of the running test, once per test process (cargo's own lock makes concurrent builds
//! wait for each other). After test.sh's build step, or a previous run, it has nothing to do.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use cadenza_api::Client;

pub mod cluster;
pub mod tmux;

/// The admin password every test server starts with.
pub const ADMIN_PASSWORD: &str = "test-admin-password";

/// `target/<profile>/`, where cargo puts the workspace's binaries.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its own path");
    // target/<profile>/deps/<test-binary>
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// Path of a workspace binary such as `cadenza-server`, built first if need be.
pub fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = BUILT.get_or_init(build_binaries) {
        panic!("{e}");
    }
    let path = profile_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing after `cargo build --workspace --bins`: no package has a binary `{name}`",
        path.display()
    );
    path
}

/// `cargo build --workspace --bins` into the running test's profile directory: the same
/// cargo, profile and target dir, and the lock file as it is. Building every binary, as
/// test.sh does, gives the shared libraries the features of that build, so test.sh's
/// build and this one reuse each other's artifacts.
fn build_binaries() -> Result<(), String> {
    let profile_dir = profile_dir();
    let (Some(target_dir), Some(profile)) = (
        profile_dir.parent(),
        profile_dir.file_name().and_then(|name| name.to_str()),
    ) else {
        return Err(format!(
            "cannot tell the target dir and profile from {}",
            profile_dir.display()
        ));
    };
    // The `dev` profile builds into `debug/`; every other profile into its own name.
    let profile = if profile == "debug" { "dev" } else { profile };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut command = Command::new(&cargo);
    command
        .args([
            "build",
            "--workspace",
            "--bins",
            "--locked",
            "--profile",
            profile,
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir);
    let status = command.stdin(Stdio::null()).status().map_err(|e| {
        format!(
            "cannot run {} to build the binaries the tests run: {e}",
            Path::new(&cargo).display()
        )
    })?;
    if !status.success() {
        return Err(format!(
            "building the binaries the tests run failed ({status}); see cargo's output above, \
             or build them yourself: cargo build --workspace --bins"
        ));
    }
    Ok(())
}

/// A running `cadenza-server`, killed when dropped.
pub struct Server {
    child: Option<Child>,
    /// Base URL, e.g. `http://127.0.0.1:40123/`.
    pub url: String,
    /// The data dir; kept across [`Server::restart`].
    pub data_dir: PathBuf,
    extra_args: Vec<String>,
    /// Where stderr (the log) goes, when captured ([`Server::start_logging`]).
    log: Option<PathBuf>,
    _temp: Option<tempfile::TempDir>,
}

impl Server {
    /// A fresh server on an empty temp data dir.
    pub fn start() -> Server {
        Server::start_with(&[] as &[&str])
    }

    /// A fresh server with extra command-line flags (e.g. `--max-upload-bytes`).
    pub fn start_with(extra_args: &[impl AsRef<str>]) -> Server {
        Server::start_in(extra_args, false)
    }

    /// Like [`Server::start_with`], with the log (stderr, at `info`) kept for [`Server::log`].
    pub fn start_logging(extra_args: &[impl AsRef<str>]) -> Server {
        Server::start_in(extra_args, true)
    }

    fn start_in(extra_args: &[impl AsRef<str>], logging: bool) -> Server {
        let temp = tempfile::tempdir().expect("create a temp data dir");
        let data_dir = temp.path().join("data");
        let mut server = Server {
            child: None,
            url: String::new(),
            data_dir,
            extra_args: extra_args.iter().map(|s| s.as_ref().to_string()).collect(),
            log: logging.then(|| temp.path().join("server.log")),
            _temp: Some(temp),
        };
        server.spawn();
        server
    }

    /// Everything the server logged so far (empty unless started by [`Server::start_logging`]).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    }

    /// Another copy of a server on `data_dir` (as copies behind a load balancer share the
    /// catalog, volumes and secret), with extra flags. The caller keeps the folder alive.
    pub fn start_on(data_dir: &Path, extra_args: &[&str]) -> Server {
        let mut server = Server {
            child: None,
            url: String::new(),
            data_dir: data_dir.to_path_buf(),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            log: None,
            _temp: None,
        };
        server.spawn();
        server
    }

    /// Stops the server (SIGTERM, then kill) and starts it again on the same data dir.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Restarts the server on the same data dir with other flags (e.g. another catalog).
    pub fn restart_with(&mut self, extra_args: &[impl AsRef<str>]) {
        self.extra_args = extra_args.iter().map(|s| s.as_ref().to_string()).collect();
        self.restart();
    }

    /// Stops the server gracefully (SIGTERM), killing it if it does not exit in 10 s.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
    }

    fn spawn(&mut self) {
        let mut command = Command::new(bin("cadenza-server"));
        command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(&self.extra_args)
            .env("CADENZA_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("CADENZA_CONFIG")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(path) = &self.log {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("open the server log");
            command.env("RUST_LOG", "info").stderr(log);
        }
        let mut child = command.spawn().expect("start cadenza-server");
        let stdout = child.stdout.take().expect("piped stdout");
        self.child = Some(child);
        self.url = wait_for_listen_line(stdout);
    }

    /// Volume folders of the embedded default (`<data-dir>/volumes/vol1..`).
    pub fn volume_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.data_dir.join("volumes"))
            .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.sort();
        dirs
    }

    /// Where a blob lives on a volume.
    pub fn blob_path(volume: &Path, hash: &str) -> PathBuf {
        volume
            .join("blobs")
            .join(&hash[0..2])
            .join(&hash[2..4])
            .join(hash)
    }

    /// A client without a token.
    pub fn client(&self) -> Client {
        Client::new(&self.url).expect("server URL is valid")
    }

    /// A client logged in as the first admin.
    pub async fn admin(&self) -> Client {
        self.login("admin", ADMIN_PASSWORD).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Client {
        let mut client = self.client();
        client
            .login(username, password)
            .await
            .unwrap_or_else(|e| panic!("login as {username} failed: {e}"));
        client
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_for_listen_line(stdout: std::process::ChildStdout) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            eprintln!("[cadenza-server] {line}");
            if !sent {
                if let Some(at) = line.find("listening on ") {
                    let url = line[at + "listening on ".len()..].trim().to_string();
                    let _ = tx.send(url);
                    sent = true;
                }
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("cadenza-server did not print `listening on URL` within 60 s")
}

fn terminate(child: &mut Child) {
    // SIGTERM lets the server shut down gracefully; `kill` would skip that path.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..100 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs `cadenza-admin` against `server` with `token`, capturing its output.
pub fn admin_cli(server: &Server, token: &str, args: &[&str]) -> Output {
    admin_cli_at(&server.url, token, args)
}

/// Runs `cadenza-admin` against the server (or edge) at `url` with `token`.
pub fn admin_cli_at(url: &str, token: &str, args: &[&str]) -> Output {
    Command::new(bin("cadenza-admin"))
        .args(args)
        .env("CADENZA_SERVER", url)
        .env("CADENZA_TOKEN", token)
        .stdin(Stdio::null())
        .output()
        .expect("run cadenza-admin")
}

/// Flags that put a server's catalog in a new database of `cluster`, reading from all its
/// replicas.
pub fn postgres_args(cluster: &cadenza_pgtest::Cluster) -> Vec<String> {
    cluster.server_args().expect("a test database")
}

/// The fixture folder of real audio files.
pub fn fixtures_dir() -> PathBuf {
    cadenza_fixtures::fixtures_dir()
}
