//! A real `cadenza-server` with fixtures uploaded, and the player's runtime driven by keys.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cadenza::app::{App, Event};
use cadenza::audio::OutputChoice;
use cadenza::cache::Cache;
use cadenza::config::Config;
use cadenza::runtime::{Options, Runtime};
use cadenza::session::Session;
use cadenza_api::{Client, Role, Song, TagOverrides};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub const ADMIN_PASSWORD: &str = "correct horse battery";
pub const USER: &str = "ada";
pub const USER_PASSWORD: &str = "lovelace-1815";

pub struct Server {
    child: Child,
    pub url: String,
    data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts a server on a free port in a fresh data folder.
    pub fn start() -> Server {
        let data = tempfile::tempdir().expect("temp dir");
        Self::start_in(data)
    }

    fn start_in(data: tempfile::TempDir) -> Server {
        Self::start_on(data, "127.0.0.1:0")
    }

    fn start_on(data: tempfile::TempDir, listen: &str) -> Server {
        let mut child = Command::new(cadenza_tests::bin("cadenza-server"))
            .arg("--data-dir")
            .arg(data.path())
            .args(["--listen", listen, "--log-level", "warn"])
            .env("CADENZA_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("CADENZA_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cadenza-server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("cadenza-server listening on ") {
                        break url.trim().to_string();
                    }
                }
                _ => {
                    let _ = child.kill();
                    panic!("cadenza-server exited before listening");
                }
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, url, data }
    }

    /// Stops the server (the data folder is kept for [`Server::restart`]).
    pub fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let data = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.data, data)
    }

    pub fn restart(data: tempfile::TempDir) -> Server {
        Self::start_in(data)
    }

    /// Restarts on the address it had (`url`), so clients that knew it find it again.
    pub fn restart_at(data: tempfile::TempDir, url: &str) -> Server {
        let listen = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        Self::start_on(data, &listen)
    }
}

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

/// Logs in as the admin, creates the listener account and uploads the fixtures whose paths
/// contain one of `wanted`. Returns the uploaded songs.
pub fn seed(server: &Server, wanted: &[&str]) -> Vec<Song> {
    let manifest = cadenza_fixtures::load_manifest().expect("fixture manifest");
    block_on(async {
        let mut admin = Client::new(&server.url).unwrap();
        admin
            .login("admin", ADMIN_PASSWORD)
            .await
            .expect("admin login");
        admin
            .create_user(USER, USER_PASSWORD, Role::Listener)
            .await
            .expect("create the listener");
        let mut songs = Vec::new();
        for file in manifest.good_files() {
            if file.path.contains("podcast/") || !wanted.iter().any(|w| file.path.contains(w)) {
                continue;
            }
            let path = cadenza_fixtures::fixtures_dir().join(&file.path);
            let overrides = TagOverrides {
                filename: path.file_name().map(|n| n.to_string_lossy().into_owned()),
                ..Default::default()
            };
            let uploaded = admin
                .upload_song_file(&path, &overrides)
                .await
                .unwrap_or_else(|e| panic!("upload {}: {e}", file.path));
            songs.push(uploaded.song);
        }
        songs
    })
}

/// A client logged in as the listener.
pub fn listener(server: &Server) -> Client {
    block_on(async {
        let mut client = Client::new(&server.url).unwrap();
        client
            .login(USER, USER_PASSWORD)
            .await
            .expect("listener login");
        client
    })
}

/// The player, with its own cache and config folders, and silent audio.
pub struct Player {
    pub rt: Runtime,
    pub cache_dir: PathBuf,
    pub session_path: PathBuf,
    _dirs: Arc<tempfile::TempDir>,
}

impl Player {
    pub fn start(session: Option<Session>) -> Player {
        let dirs = Arc::new(tempfile::tempdir().expect("temp dir"));
        Self::start_in(dirs, session)
    }

    /// A second run of the player over the same folders (cache and saved login).
    pub fn restart(self) -> Player {
        let Player {
            rt,
            session_path,
            _dirs: dirs,
            ..
        } = self;
        let session = Session::load(&session_path);
        rt.shutdown();
        Self::start_in(dirs, session)
    }

    fn start_in(dirs: Arc<tempfile::TempDir>, session: Option<Session>) -> Player {
        let cache_dir = dirs.path().join("cache");
        let session_path = dirs.path().join("config").join("token");
        let cache = Cache::open(&cache_dir, 64 * 1024 * 1024).expect("cache");
        let rt = Runtime::start(Options {
            config: Config::default(),
            cache: Arc::new(cache),
            session_path: Some(session_path.clone()),
            session,
            audio: OutputChoice::Null,
            timings: None,
        })
        .expect("runtime");
        Player {
            rt,
            cache_dir,
            session_path,
            _dirs: dirs,
        }
    }

    pub fn app(&self) -> &App {
        &self.rt.app
    }

    pub fn key(&mut self, code: KeyCode) {
        self.key_with(code, KeyModifiers::NONE);
    }

    pub fn key_with(&mut self, code: KeyCode, mods: KeyModifiers) {
        let _ = self.rt.sender().send(Event::Key(KeyEvent::new(code, mods)));
        self.rt.step(Some(Duration::from_millis(10)));
    }

    pub fn char(&mut self, c: char) {
        self.key(KeyCode::Char(c));
    }

    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.char(c);
        }
    }

    /// Runs the event loop until `done` holds; panics (showing `what`) after `timeout`.
    pub fn wait(&mut self, what: &str, timeout: Duration, done: impl Fn(&App) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(&self.rt.app) {
            if Instant::now() > deadline {
                let app = &self.rt.app;
                panic!(
                    "timed out waiting for {what}; message: {:?}; player: {:?}; screen: {:?} ({} rows, loading {})",
                    app.message,
                    app.player.state,
                    app.screen().title,
                    app.screen().rows.len(),
                    app.screen().loading
                );
            }
            self.rt.step(Some(Duration::from_millis(50)));
        }
    }

    /// Logs in through the form.
    pub fn log_in(&mut self, server: &Server) {
        self.log_in_at(&server.url);
    }

    /// Logs in through the form to the server at `url` (e.g. a proxy in front of one).
    pub fn log_in_at(&mut self, url: &str) {
        let field = |p: &Player| match &p.app().mode {
            cadenza::app::Mode::Login(form) => form.field,
            cadenza::app::Mode::Main => panic!("not on the login form"),
        };
        while field(self) != 0 {
            self.key(KeyCode::BackTab);
        }
        for value in [url, USER, USER_PASSWORD] {
            self.key_with(KeyCode::Char('u'), KeyModifiers::CONTROL);
            self.type_text(value);
            self.key(KeyCode::Enter);
        }
        self.wait("the login", Duration::from_secs(20), |app| {
            matches!(app.mode, cadenza::app::Mode::Main) && app.user.is_some()
        });
    }

    /// Searches and waits for results.
    pub fn search(&mut self, query: &str) {
        self.char('/');
        self.key_with(KeyCode::Char('u'), KeyModifiers::CONTROL);
        self.type_text(query);
        self.key(KeyCode::Enter);
        let q = query.to_string();
        self.wait(
            &format!("results for {q}"),
            Duration::from_secs(10),
            |app| {
                app.screen().kind == cadenza::app::screen::ScreenKind::Search
                    && !app.screen().loading
                    && app.screen().selected_row().is_some()
            },
        );
    }
}

/// A TCP proxy in front of `upstream` (an `http://host:port` URL) that passes answers on at
/// most `bytes_per_second`, so a download is still running when a test acts on it. Returns
/// the proxy's URL. Its threads end with their connections; the listener lives with the test.
pub fn throttled(upstream: &str, bytes_per_second: u64) -> String {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};

    let target = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let url = format!("http://{}", listener.local_addr().expect("proxy address"));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&target) else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (Ok(mut client_in), Ok(mut server_out)) = (client.try_clone(), server.try_clone())
            else {
                continue;
            };
            // Requests go through as they come.
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut client_in, &mut server_out);
                let _ = server_out.shutdown(Shutdown::Write);
            });
            // Answers are paced.
            let (mut server_in, mut client_out) = (server, client);
            std::thread::spawn(move || {
                const PIECE: usize = 8 * 1024;
                let pause = Duration::from_secs_f64(PIECE as f64 / bytes_per_second as f64);
                let mut buf = vec![0u8; PIECE];
                loop {
                    match server_in.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if client_out.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            std::thread::sleep(pause.mul_f64(n as f64 / PIECE as f64));
                        }
                    }
                }
                let _ = client_out.shutdown(Shutdown::Both);
                let _ = server_in.shutdown(Shutdown::Both);
            });
        }
    });
    url
}

/// A mono 16-bit WAV of `seconds` of a quiet 440 Hz tone at 44.1 kHz.
pub fn tone_wav(seconds: u32) -> Vec<u8> {
    let rate: u32 = 44_100;
    let frames = rate * seconds;
    let data_len = frames * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let t = f64::from(i) / f64::from(rate);
        let sample = (t * 440.0 * std::f64::consts::TAU).sin() * 3000.0;
        out.extend_from_slice(&(sample as i16).to_le_bytes());
    }
    out
}

/// Uploads `bytes` as the song “Long Tone” by “Test Signals” (after [`seed`], which makes
/// the accounts).
pub fn upload(server: &Server, dir: &Path, name: &str, bytes: &[u8]) -> Song {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write the upload");
    block_on(async {
        let mut admin = Client::new(&server.url).unwrap();
        admin
            .login("admin", ADMIN_PASSWORD)
            .await
            .expect("admin login");
        let overrides = TagOverrides {
            title: Some("Long Tone".into()),
            artist: Some("Test Signals".into()),
            filename: Some(name.to_string()),
            ..Default::default()
        };
        admin
            .upload_song_file(&path, &overrides)
            .await
            .unwrap_or_else(|e| panic!("upload {name}: {e}"))
            .song
    })
}
