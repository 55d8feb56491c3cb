//! Harness for the server's integration tests: runs the real `cadenza-server` binary on
//! 127.0.0.1 port 0 with a temp data dir, finds its address from the line it prints, and
//! kills it when the guard drops (also when a test fails, printing the server's log then).

#![allow(dead_code)] // each test file uses a different part of the harness

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cadenza_api::{Client, TagOverrides, UploadedSong};
use cadenza_fixtures::GoodFile;

pub const ADMIN_PASSWORD: &str = "integration admin password";

pub struct TestServer {
    child: Option<Child>,
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    pub data_dir: PathBuf,
    args: Vec<String>,
    log_path: PathBuf,
    _temp: tempfile::TempDir,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    /// A server on a fresh temp data dir, with extra flags.
    pub fn start_with(args: &[&str]) -> TestServer {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut server = TestServer {
            child: None,
            url: String::new(),
            data_dir: temp.path().join("data"),
            args: args.iter().map(|a| a.to_string()).collect(),
            log_path: temp.path().join("server.log"),
            _temp: temp,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("open the server log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_cadenza-server"));
        command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        // The tests' own environment must not leak settings into the server.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CADENZA_") {
                command.env_remove(key);
            }
        }
        command
            .env("CADENZA_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("CADENZA_LOG_LEVEL", "info");
        let mut child = command.spawn().expect("start cadenza-server");
        let stdout = child.stdout.take().expect("piped stdout");
        self.child = Some(child);
        self.url = wait_for_listen_line(stdout).unwrap_or_else(|| {
            panic!(
                "cadenza-server did not print its address within 60 s; log:\n{}",
                self.log()
            )
        });
    }

    /// Sends SIGTERM (graceful shutdown) without waiting.
    pub fn terminate(&self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
    }

    /// Waits up to 20 s for the server to exit (killing it after that).
    pub fn wait(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        child.wait().ok()
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        self.terminate();
        self.wait()
    }

    /// Stops gracefully and starts again on the same data dir (new port).
    pub fn restart(&mut self) -> Option<ExitStatus> {
        let status = self.stop();
        self.spawn();
        status
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url).expect("server URL")
    }

    pub async fn login(&self, username: &str, password: &str) -> Client {
        let mut client = self.client();
        client
            .login(username, password)
            .await
            .unwrap_or_else(|e| panic!("login as {username}: {e}"));
        client
    }

    pub async fn admin(&self) -> Client {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// A listener account, logged in.
    pub async fn listener(&self, admin: &Client, username: &str) -> Client {
        let password = format!("{username}'s password");
        admin
            .create_user(username, &password, cadenza_api::Role::Listener)
            .await
            .unwrap_or_else(|e| panic!("create {username}: {e}"));
        self.login(username, &password).await
    }

    /// `<data-dir>/volumes/<name>` (the default volumes are vol1..vol3).
    pub fn volume_dir(&self, name: &str) -> PathBuf {
        self.data_dir.join("volumes").join(name)
    }

    /// Where a blob's replica lives on a local volume.
    pub fn blob_path(&self, volume: &str, hash: &str) -> PathBuf {
        self.volume_dir(volume)
            .join("blobs")
            .join(&hash[0..2])
            .join(&hash[2..4])
            .join(hash)
    }

    /// `GET /metrics` as text.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.url))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics body")
    }

    /// The value of one sample line of `/metrics` (`name{labels}` exactly as printed).
    pub async fn metric(&self, series: &str) -> f64 {
        metric_value(&self.metrics().await, series)
    }
}

pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
        .unwrap_or(0.0)
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("---- last lines of the server log ----");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

fn wait_for_listen_line(stdout: std::process::ChildStdout) -> Option<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        // Keep reading after the address so the server never blocks on a full pipe.
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(at) = line.find("listening on ") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(line[at + "listening on ".len()..].trim().to_string());
                }
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60)).ok()
}

/// Every file the server must accept.
pub fn good_files() -> Vec<GoodFile> {
    cadenza_fixtures::good_files().expect("fixture manifest")
}

pub fn good_file(path_suffix: &str) -> GoodFile {
    good_files()
        .into_iter()
        .find(|f| f.path.ends_with(path_suffix))
        .unwrap_or_else(|| panic!("no fixture ending in {path_suffix}"))
}

/// Uploads a fixture as the admin CLI would (file name passed for the title fallback).
pub async fn upload(admin: &Client, file: &GoodFile) -> UploadedSong {
    let path = file.absolute_path();
    let overrides = TagOverrides {
        filename: file_name(&path),
        ..TagOverrides::default()
    };
    admin
        .upload_song_file(&path, &overrides)
        .await
        .unwrap_or_else(|e| panic!("upload {}: {e}", file.path))
}

pub fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Files under a folder, recursively (to check nothing was left behind).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

pub fn open(path: &Path) -> File {
    File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

/// A raw request with the client's token (for headers the typed client does not send).
pub fn raw(client: &Client, method: reqwest::Method, route: &str) -> reqwest::RequestBuilder {
    client.request(method, route).expect("route URL")
}
