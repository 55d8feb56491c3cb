//! Wires the app to the world: one channel of events in (keys, network answers, audio
//! reports), effects out (requests, audio commands, saving the login). It blocks until
//! something happens, so an idle player uses no CPU. The terminal front-end and the tests both
//! drive the app through this.

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
}

pub struct Runtime {
    pub app: App,
    tx: Sender<Event>,
    rx: Receiver<Event>,
    net: NetHandle,
    audio: AudioHandle,
    session_path: Option<PathBuf>,
}

impl Runtime {
    pub fn start(options: Options) -> std::io::Result<Self> {
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
