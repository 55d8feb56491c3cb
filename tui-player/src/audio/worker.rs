//! The audio thread: owns the output and the deck, takes [`AudioCommand`]s, and reports
//! [`AudioEvent`]s. Opening a track (probing, maybe waiting for bytes) happens on a short-lived
//! helper thread so commands such as pause are never stuck behind the network.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use symphonia::core::io::MediaSource;

use super::deck::{deck, DeckControl, Loaded, Token};
use super::decoder::Decoded;
use super::output::{Output, OutputChoice};
use crate::cache::progressive::Progressive;

/// Where a track's bytes come from.
#[derive(Debug, Clone)]
pub enum TrackInput {
    /// A complete, verified file.
    File(PathBuf),
    /// A download in progress.
    Stream(Arc<Progressive>),
}

#[derive(Debug)]
pub enum AudioCommand {
    /// Replace what plays with this track, starting at `start`.
    Load {
        token: Token,
        input: TrackInput,
        hint: String,
        start: Duration,
        paused: bool,
    },
    /// Queue this track to follow the current one without a gap.
    Preload {
        token: Token,
        input: TrackInput,
        hint: String,
    },
    CancelPreload,
    Play,
    Pause,
    Seek(Duration),
    /// 0.0 ..= 1.0
    SetVolume(f32),
    Stop,
    /// From now on, report [`AudioEvent::FirstBuffer`] for every track (the timings hook).
    ReportFirstBuffers,
    Shutdown,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AudioEvent {
    /// The track is decoding and (unless loaded paused) audible.
    Started {
        token: Token,
        duration: Option<Duration>,
    },
    Position {
        token: Token,
        position: Duration,
    },
    Seeked {
        token: Token,
        position: Duration,
    },
    /// The track ended (error: why it ended early). `continued` is true when the preloaded
    /// track took over without a gap (a `Started` for it follows).
    Finished {
        token: Token,
        error: Option<String>,
        continued: bool,
    },
    /// The track could not be opened.
    Failed {
        token: Token,
        error: String,
    },
    /// The track's first decoded buffer went to the output at `at` (only after
    /// [`AudioCommand::ReportFirstBuffers`]; reported at the next poll, so up to a tick late).
    FirstBuffer {
        token: Token,
        at: Instant,
    },
}

enum Message {
    Command(AudioCommand),
    Opened {
        token: Token,
        preload: bool,
        result: Result<(Decoded, Duration), String>,
    },
}

/// Handle to the audio thread.
pub struct AudioHandle {
    tx: Sender<Message>,
    thread: Option<JoinHandle<()>>,
}

/// How often the position is reported while something plays.
const TICK: Duration = Duration::from_millis(250);

impl AudioHandle {
    /// Starts the audio thread. Also returns why playback is silent, if it is.
    pub fn start(
        choice: OutputChoice,
        events: impl Fn(AudioEvent) + Send + 'static,
    ) -> (AudioHandle, Option<String>) {
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let self_tx = tx.clone();
        let thread = std::thread::Builder::new()
            .name("cadenza-audio".into())
            .spawn(move || {
                let (deck, control) = deck();
                // The output lives on this thread: device streams need not be `Send`.
                let (_output, silent) = Output::open(choice, deck, control.clone());
                let _ = ready_tx.send(silent);
                Worker {
                    control,
                    rx,
                    tx: self_tx,
                    events: Box::new(events),
                    current: None,
                    pending_load: None,
                    preload: None,
                    paused: false,
                    last_position: None,
                    awaiting: None,
                    report_first_buffers: false,
                }
                .run();
            })
            .ok();
        let silent = match ready_rx.recv() {
            Ok(silent) => silent,
            Err(_) => Some("the audio thread did not start: playback is off".into()),
        };
        (AudioHandle { tx, thread }, silent)
    }

    pub fn send(&self, command: AudioCommand) {
        let _ = self.tx.send(Message::Command(command));
    }
}

impl Drop for AudioHandle {
    fn drop(&mut self) {
        self.send(AudioCommand::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Worker {
    control: DeckControl,
    rx: Receiver<Message>,
    tx: Sender<Message>,
    events: Box<dyn Fn(AudioEvent) + Send>,
    /// The token the deck plays (or is about to).
    current: Option<Token>,
    /// A Load whose track is still opening: (token, start, paused).
    pending_load: Option<Token>,
    /// The token opened (or opening) as the next track.
    preload: Option<Token>,
    paused: bool,
    last_position: Option<(Token, u64)>,
    /// Handed to the deck, which has not started it yet.
    awaiting: Option<Token>,
    /// The timings hook is on.
    report_first_buffers: bool,
}

impl Worker {
    fn run(mut self) {
        loop {
            let busy = self.pending_load.is_some() || (self.current.is_some() && !self.paused);
            let message = if busy {
                match self.rx.recv_timeout(TICK) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            } else {
                match self.rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => return,
                }
            };
            match message {
                Some(Message::Command(AudioCommand::Shutdown)) => {
                    self.control.stop();
                    return;
                }
                Some(Message::Command(command)) => self.command(command),
                Some(Message::Opened {
                    token,
                    preload,
                    result,
                }) => self.opened(token, preload, result),
                None => {}
            }
            self.poll();
        }
    }

    fn command(&mut self, command: AudioCommand) {
        match command {
            AudioCommand::Load {
                token,
                input,
                hint,
                start,
                paused,
            } => {
                self.control.stop();
                self.current = None;
                self.awaiting = None;
                self.preload = None;
                self.pending_load = Some(token);
                self.paused = paused;
                self.control.set_paused(paused);
                self.open(token, input, hint, start, false);
            }
            AudioCommand::Preload { token, input, hint } => {
                self.preload = Some(token);
                self.open(token, input, hint, Duration::ZERO, true);
            }
            AudioCommand::CancelPreload => {
                self.preload = None;
                self.control.set_next(None);
            }
            AudioCommand::Play => {
                self.paused = false;
                self.control.set_paused(false);
            }
            AudioCommand::Pause => {
                self.paused = true;
                self.control.set_paused(true);
            }
            AudioCommand::Seek(to) => self.control.seek(to),
            AudioCommand::SetVolume(v) => self.control.set_volume(v),
            AudioCommand::Stop => {
                self.control.stop();
                self.current = None;
                self.awaiting = None;
                self.pending_load = None;
                self.preload = None;
            }
            AudioCommand::ReportFirstBuffers => {
                self.report_first_buffers = true;
                self.control.stamp_first_buffers();
            }
            AudioCommand::Shutdown => {}
        }
    }

    fn open(&self, token: Token, input: TrackInput, hint: String, start: Duration, preload: bool) {
        let tx = self.tx.clone();
        let spawned = std::thread::Builder::new()
            .name("cadenza-open".into())
            .spawn(move || {
                let result = open_track(input, &hint, start);
                let _ = tx.send(Message::Opened {
                    token,
                    preload,
                    result,
                });
            });
        if let Err(e) = spawned {
            (self.events)(AudioEvent::Failed {
                token,
                error: format!("cannot start a decoder thread: {e}"),
            });
        }
    }

    fn opened(&mut self, token: Token, preload: bool, result: Result<(Decoded, Duration), String>) {
        let wanted = if preload {
            self.preload == Some(token)
        } else {
            self.pending_load == Some(token)
        };
        if !wanted {
            return; // superseded while it opened
        }
        match result {
            Ok((decoded, start)) => {
                let duration = decoded.duration();
                let loaded = Loaded {
                    token,
                    decoded,
                    start,
                };
                if preload {
                    self.control.set_next(Some(loaded));
                } else {
                    self.pending_load = None;
                    self.current = Some(token);
                    self.awaiting = Some(token);
                    self.control.play_now(loaded);
                    (self.events)(AudioEvent::Started { token, duration });
                }
            }
            Err(error) => {
                if preload {
                    self.preload = None;
                } else {
                    self.pending_load = None;
                }
                (self.events)(AudioEvent::Failed { token, error });
            }
        }
    }

    /// Reports what changed in the deck since the last look.
    fn poll(&mut self) {
        let finished = self.control.take_finished();
        let status = self.control.status();
        for finished in finished {
            if self.awaiting == Some(finished.token) {
                self.awaiting = None;
            }
            let continued = status.token.is_some()
                && status.token != Some(finished.token)
                && status.token == self.preload;
            (self.events)(AudioEvent::Finished {
                token: finished.token,
                error: finished.error,
                continued,
            });
        }
        if self.report_first_buffers {
            for (token, at) in self.control.take_first_buffers() {
                (self.events)(AudioEvent::FirstBuffer { token, at });
            }
        }
        if let Some((token, position)) = self.control.take_seeked() {
            (self.events)(AudioEvent::Seeked { token, position });
        }
        if self.awaiting.is_some() && self.awaiting == status.token {
            self.awaiting = None;
        }
        let settled = self.pending_load.is_none() && self.awaiting.is_none();
        if settled && status.token != self.current {
            // The deck moved on by itself: to the preloaded track, or to silence.
            self.current = status.token;
            if let Some(token) = status.token {
                if self.preload == Some(token) {
                    self.preload = None;
                }
                (self.events)(AudioEvent::Started {
                    token,
                    duration: None,
                });
            }
        }
        if let Some(token) = status.token {
            let tenths = status.position.as_millis() as u64 / 100;
            if self.last_position != Some((token, tenths)) {
                self.last_position = Some((token, tenths));
                (self.events)(AudioEvent::Position {
                    token,
                    position: status.position,
                });
            }
        }
    }
}

/// Opens the track and moves to `start`; returns where it really starts.
fn open_track(
    input: TrackInput,
    hint: &str,
    start: Duration,
) -> Result<(Decoded, Duration), String> {
    let source: Box<dyn MediaSource> = match input {
        TrackInput::File(path) => Box::new(
            std::fs::File::open(&path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?,
        ),
        TrackInput::Stream(progressive) => Box::new(
            progressive
                .reader()
                .map_err(|e| format!("cannot read the download: {e}"))?,
        ),
    };
    let mut decoded = Decoded::open(source, Some(hint)).map_err(|e| e.to_string())?;
    let landed = if start.is_zero() {
        Duration::ZERO
    } else {
        decoded
            .seek(start)
            .map_err(|e| format!("cannot resume at {start:?}: {e}"))?
    };
    Ok((decoded, landed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn collect_until(
        rx: &Receiver<AudioEvent>,
        timeout: Duration,
        mut done: impl FnMut(&AudioEvent) -> bool,
    ) -> Vec<AudioEvent> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(event) => {
                    let stop = done(&event);
                    seen.push(event);
                    if stop {
                        return seen;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("timed out; saw {seen:?}");
    }

    #[test]
    fn plays_a_file_through_the_silent_output_in_real_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        // 0.6 s of a constant at 8 kHz.
        std::fs::write(&path, crate::audio::deck::tests::wav(8000, 4800, 100)).unwrap();
        let (tx, rx) = mpsc::channel();
        let (audio, silent) = AudioHandle::start(OutputChoice::Null, move |e| {
            let _ = tx.send(e);
        });
        assert!(silent.unwrap().contains("playing silently"));
        let began = Instant::now();
        audio.send(AudioCommand::Load {
            token: 5,
            input: TrackInput::File(path),
            hint: "wav".into(),
            start: Duration::ZERO,
            paused: false,
        });
        let events = collect_until(&rx, Duration::from_secs(5), |e| {
            matches!(e, AudioEvent::Finished { token: 5, .. })
        });
        let elapsed = began.elapsed();
        assert!(
            matches!(events.first(), Some(AudioEvent::Started { token: 5, .. })),
            "{events:?}"
        );
        assert!(events
            .iter()
            .any(|e| matches!(e, AudioEvent::Position { token: 5, position } if *position > Duration::from_millis(100))));
        assert!(
            matches!(
                events.last(),
                Some(AudioEvent::Finished {
                    token: 5,
                    error: None,
                    continued: false
                })
            ),
            "{events:?}"
        );
        // The silent output keeps time: 0.6 s of audio cannot finish in much less.
        assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
    }

    #[test]
    fn a_file_that_is_not_audio_fails_with_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.mp3");
        std::fs::write(&path, vec![0x13u8; 3000]).unwrap();
        let (tx, rx) = mpsc::channel();
        let (audio, _) = AudioHandle::start(OutputChoice::Null, move |e| {
            let _ = tx.send(e);
        });
        audio.send(AudioCommand::Load {
            token: 9,
            input: TrackInput::File(path),
            hint: "mp3".into(),
            start: Duration::ZERO,
            paused: false,
        });
        let events = collect_until(&rx, Duration::from_secs(5), |e| {
            matches!(e, AudioEvent::Failed { .. })
        });
        assert!(matches!(
            events.last(),
            Some(AudioEvent::Failed { token: 9, .. })
        ));
    }
}
