//! Wires the app to the world: one channel of events in (keys, network answers, audio
//! reports), effects out (requests, audio commands, saving the login). It blocks until
//! something happens, so an idle player uses no CPU. The terminal front-end and the tests both
//! drive the app through this.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::{App, Effect, Event};
use crate::audio::{AudioCommand, AudioHandle, OutputChoice};
use crate::cache::Cache;
use crate::config::Config;
use crate::net::NetHandle;
use crate::session::Session;

pub struct Options {
    pub config: Config,
    pub cache: Arc<Cache>,
    /// Where the login is saved (`None`: never saved, e.g. a token from the environment).
    pub session_path: Option<PathBuf>,
    pub session: Option<Session>,
    pub audio: OutputChoice,
    /// Append one line per play started by a key or click: the time from that input to the
    /// first decoded buffer handed to the output (`--timings`). `None`: nothing is measured.
    pub timings: Option<PathBuf>,
}

pub struct Runtime {
    pub app: App,
    tx: Sender<Event>,
    rx: Receiver<Event>,
    net: NetHandle,
    audio: AudioHandle,
    session_path: Option<PathBuf>,
    timings: Option<File>,
}

impl Runtime {
    pub fn start(options: Options) -> std::io::Result<Self> {
        let timings = match &options.timings {
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        std::io::Error::new(
                            e.kind(),
                            format!("cannot open the timings file {}: {e}", path.display()),
                        )
                    })?,
            ),
            None => None,
        };
        let (tx, rx) = mpsc::channel();
        let audio_tx = tx.clone();
        let (audio, silent) = AudioHandle::start(options.audio, move |e| {
            let _ = audio_tx.send(Event::Audio(e));
        });
        let net_tx = tx.clone();
        let net = NetHandle::start(options.session.clone(), options.cache.clone(), move |e| {
            let _ = net_tx.send(Event::Net(e));
        })?;
        let mut app = App::new(
            &options.config,
            Some(options.cache),
            options.session.as_ref(),
        );
        app.silent = silent;
        if timings.is_some() {
            app.timings = true;
            audio.send(AudioCommand::ReportFirstBuffers);
        }
        audio.send(AudioCommand::SetVolume(
            f32::from(app.player.volume) / 100.0,
        ));
        let mut runtime = Self {
            app,
            tx,
            rx,
            net,
            audio,
            session_path: options.session_path,
            timings,
        };
        runtime.run_effects();
        Ok(runtime)
    }

    /// A sender for events from outside (the terminal's input thread).
    pub fn sender(&self) -> Sender<Event> {
        self.tx.clone()
    }

    /// Waits for the next event (at most `timeout`, or forever with `None`), handles it and
    /// everything else already waiting. Returns false once the app wants to quit.
    pub fn step(&mut self, timeout: Option<Duration>) -> bool {
        let now = Instant::now();
        let timer = self
            .app
            .next_deadline()
            .map(|d| d.saturating_duration_since(now));
        let wait = match (timer, timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let first = match wait {
            Some(wait) => match self.rx.recv_timeout(wait) {
                Ok(event) => Some(event),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return false,
            },
            None => match self.rx.recv() {
                Ok(event) => Some(event),
                Err(_) => return false,
            },
        };
        if let Some(event) = first {
            self.app.handle(event, Instant::now());
        }
        // Take whatever else arrived, so a burst costs one redraw.
        while let Ok(event) = self.rx.try_recv() {
            self.app.handle(event, Instant::now());
        }
        self.app.on_timer(Instant::now());
        self.run_effects();
        !self.app.quit
    }

    fn run_effects(&mut self) {
        for effect in self.app.take_effects() {
            match effect {
                Effect::Net(request) => self.net.send(request),
                Effect::Audio(command) => self.audio.send(command),
                Effect::SaveSession(session) => {
                    if let Some(path) = &self.session_path {
                        if let Err(e) = session.save(path) {
                            self.app.error(format!(
                                "logged in, but cannot save the login to {}: {e}",
                                path.display()
                            ));
                        }
                    }
                }
                Effect::ForgetSession => {
                    if let Some(path) = &self.session_path {
                        Session::forget(path);
                    }
                }
                Effect::Timing(line) => {
                    if let Some(file) = &mut self.timings {
                        // One write per line, so readers never see half of one.
                        if let Err(e) = file.write_all(format!("{line}\n").as_bytes()) {
                            self.app
                                .error(format!("cannot write the timings file: {e}"));
                        }
                    }
                }
            }
        }
    }

    /// Stops playback and gives writes in flight (a podcast position) a moment to land.
    pub fn shutdown(mut self) {
        self.run_effects();
        self.audio.send(AudioCommand::Stop);
        self.net.flush(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Pane;
    use crate::track::{Track, TrackId};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    /// A cached WAV in the queue; the server is unreachable, so the play is cache-only.
    fn runtime_with_cached_song(dir: &std::path::Path, timings: Option<PathBuf>) -> Runtime {
        let cache = Cache::open(&dir.join("cache"), 64 << 20).unwrap();
        let part = dir.join("song.part");
        std::fs::write(&part, crate::audio::deck::tests::wav(8000, 8000, 100)).unwrap();
        let track = Track {
            id: TrackId::Song(42),
            title: "Tone".into(),
            artist: "Test".into(),
            album: String::new(),
            duration_ms: 1000,
            hash: crate::cache::hash_file(&part).unwrap(),
            size: std::fs::metadata(&part).unwrap().len(),
            content_type: "audio/wav".into(),
            codec: "wav".into(),
        };
        cache.insert(&track, &part, &[]).unwrap();
        let mut rt = Runtime::start(Options {
            config: Config::default(),
            cache: Arc::new(cache),
            session_path: None,
            session: Some(Session {
                server: "http://127.0.0.1:9".into(),
                token: "t".into(),
                username: "u".into(),
            }),
            audio: OutputChoice::Null,
            timings,
        })
        .unwrap();
        rt.app.queue.replace(vec![(track, None)], 0);
        rt.app.focus = Pane::Queue;
        rt
    }

    fn press_enter_and_play(rt: &mut Runtime) {
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        rt.sender().send(Event::Key(enter)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while rt.app.player.position < Duration::from_millis(300) {
            assert!(Instant::now() < deadline, "the cached song did not play");
            rt.step(Some(Duration::from_millis(20)));
        }
    }

    #[test]
    fn timings_file_gets_one_line_per_play_from_the_key_to_the_first_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("timings.txt");
        let mut rt = runtime_with_cached_song(dir.path(), Some(file.clone()));
        press_enter_and_play(&mut rt);
        rt.shutdown();
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text:?}");
        let fields: Vec<&str> = lines[0].split(' ').collect();
        let ms: f64 = fields[0]
            .strip_prefix("key_to_first_buffer_ms=")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no time in {:?}", lines[0]));
        assert!(ms > 0.0 && ms < 10_000.0, "{ms}");
        assert_eq!(&fields[1..], ["input=enter", "source=cache", "song=42"]);
    }

    #[test]
    fn without_the_hook_nothing_is_measured() {
        let dir = tempfile::tempdir().unwrap();
        let mut rt = runtime_with_cached_song(dir.path(), None);
        press_enter_and_play(&mut rt);
        assert!(!rt.app.timings);
        assert_eq!(rt.app.player.timing, None);
    }

    #[test]
    fn an_unwritable_timings_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("missing-folder").join("t.txt");
        let error = Runtime::start(Options {
            config: Config::default(),
            cache: Arc::new(Cache::open(&dir.path().join("c"), 1 << 20).unwrap()),
            session_path: None,
            session: None,
            audio: OutputChoice::Null,
            timings: Some(bad.clone()),
        })
        .err()
        .expect("a missing folder cannot hold the file");
        assert!(error.to_string().contains(&bad.display().to_string()));
    }
}
