//! Where the deck's samples go: the default sound device, or a silent clock that consumes them
//! in real time (no sound card, CI, SSH sessions, `--audio null`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rodio::Source;

use super::deck::{Deck, DeckControl};

/// Which output to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputChoice {
    /// The default device, or the silent output when there is none.
    #[default]
    Auto,
    /// Always the silent output.
    Null,
}

/// A running output; dropping it stops the sound.
pub enum Output {
    Device(rodio::MixerDeviceSink),
    Silent(SilentOutput),
}

impl Output {
    /// Starts pulling from `deck`. The second value explains why playback is silent, if it is.
    pub fn open(
        choice: OutputChoice,
        deck: Deck,
        control: DeckControl,
    ) -> (Output, Option<String>) {
        if choice == OutputChoice::Auto {
            match without_stderr(rodio::DeviceSinkBuilder::open_default_sink) {
                Ok(mut sink) => {
                    sink.log_on_drop(false);
                    sink.mixer().add(deck);
                    return (Output::Device(sink), None);
                }
                Err(e) => {
                    let why = format!("no audio device: playing silently ({e})");
                    return (
                        Output::Silent(SilentOutput::start(deck, control)),
                        Some(why),
                    );
                }
            }
        }
        let why = "audio off (--audio null): playing silently".to_string();
        (
            Output::Silent(SilentOutput::start(deck, control)),
            Some(why),
        )
    }
}

/// Runs `f` with the process's stderr pointed at /dev/null: ALSA prints its probing errors
/// straight to fd 2, which would land on the user's terminal.
#[cfg(unix)]
fn without_stderr<T>(f: impl FnOnce() -> T) -> T {
    use std::os::fd::AsRawFd;
    let Ok(devnull) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
        return f();
    };
    // SAFETY: dup/dup2/close on fd 2 and descriptors we own; no Rust object owns fd 2, and
    // the saved copy is restored and closed before returning.
    let saved = unsafe { libc::dup(2) };
    if saved < 0 {
        return f();
    }
    unsafe { libc::dup2(devnull.as_raw_fd(), 2) };
    let result = f();
    unsafe {
        libc::dup2(saved, 2);
        libc::close(saved);
    }
    result
}

#[cfg(not(unix))]
fn without_stderr<T>(f: impl FnOnce() -> T) -> T {
    f()
}

/// Consumes samples at the deck's sample rate and throws them away, so time passes as it
/// would through speakers. Sleeps while nothing plays.
pub struct SilentOutput {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    control: DeckControl,
}

/// How much audio one wake-up consumes.
const SLICE: Duration = Duration::from_millis(20);

impl SilentOutput {
    pub fn start(mut deck: Deck, control: DeckControl) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            let control = control.clone();
            std::thread::Builder::new()
                .name("cadenza-silent-output".into())
                .spawn(move || {
                    let mut deadline = Instant::now();
                    while !stop.load(Ordering::Acquire) {
                        if !control.is_active() {
                            // Let the deck apply its last change (e.g. a pause), then sleep.
                            let _ = deck.next();
                            control.wait_active(Duration::from_secs(60));
                            deadline = Instant::now();
                            continue;
                        }
                        consume(&mut deck, SLICE);
                        deadline += SLICE;
                        let now = Instant::now();
                        if deadline > now {
                            // A change (a new track, a seek) is pulled at once rather than at
                            // the end of the slice, as a sound card with a short period would.
                            // Never more than one slice ahead, so a burst of changes cannot
                            // make time run fast; the deadline keeps the rate real-time.
                            if let Some(ahead) = (deadline - now).checked_sub(SLICE) {
                                std::thread::sleep(ahead);
                            }
                            control
                                .wait_pending(deadline.saturating_duration_since(Instant::now()));
                        } else if now - deadline > Duration::from_millis(500) {
                            // Fell far behind (a blocked read): don't rush to catch up.
                            deadline = now;
                        }
                    }
                })
                .ok()
        };
        Self {
            stop,
            thread,
            control,
        }
    }
}

/// Pulls `time` worth of samples, span by span: the format holds only within a span (rodio's
/// contract), and a slice can cross from the idle deck's 44.1 kHz stereo silence into an
/// 8 kHz mono track. Counting the whole slice at the first span's rate would play the new
/// track's first slice fast.
fn consume(deck: &mut Deck, time: Duration) {
    let mut left = time.as_secs_f64();
    while left > 0.0 {
        let per_second = f64::from(deck.sample_rate().get()) * f64::from(deck.channels().get());
        // At least 1: `left` is positive.
        let wanted = (left * per_second).ceil() as usize;
        let take = deck.current_span_len().unwrap_or(1).clamp(1, wanted);
        for _ in 0..take {
            let _ = deck.next();
        }
        left -= take as f64 / per_second;
    }
}

impl Drop for SilentOutput {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.control.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::deck::{deck, Loaded};
    use crate::audio::decoder::Decoded;

    #[test]
    fn a_burst_of_changes_cannot_make_silent_time_run_fast() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.wav");
        std::fs::write(&path, crate::audio::deck::tests::wav(8000, 80_000, 100)).unwrap();
        let (deck, control) = deck();
        let decoded =
            Decoded::open(Box::new(std::fs::File::open(&path).unwrap()), Some("wav")).unwrap();
        let output = SilentOutput::start(deck, control.clone());
        // Let the output go idle first: it then waits part-way through a block of 44.1 kHz
        // silence, and the track must not be timed at that rate.
        std::thread::sleep(Duration::from_millis(50));
        let began = Instant::now();
        control.play_now(Loaded {
            token: 1,
            decoded,
            start: Duration::ZERO,
        });
        // Each of these wakes the output early (a pending change that changes nothing).
        while began.elapsed() < Duration::from_millis(400) {
            control.set_next(None);
            std::thread::sleep(Duration::from_millis(2));
        }
        let heard = control.status().position;
        let elapsed = began.elapsed();
        drop(output);
        // Woken ~200 times, it may run at most two slices ahead of the wall clock.
        assert!(
            heard <= elapsed + 2 * SLICE + Duration::from_millis(15),
            "{heard:?} of audio in {elapsed:?}"
        );
        assert!(heard >= Duration::from_millis(200), "it plays: {heard:?}");
    }
}
