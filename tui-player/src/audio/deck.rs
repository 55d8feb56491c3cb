//! The deck: one endless [`rodio::Source`] that plays the current track, then the preloaded
//! next one with no gap, and silence when paused or idle. Controls reach it through shared
//! state that it reads between packets, so no caller ever waits on the audio thread.

use std::num::NonZero;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rodio::{ChannelCount, SampleRate, Source};

use super::decoder::{Decoded, Format};

/// Identifies one load of a track, so late reports about an older track can be told apart.
pub type Token = u64;

/// A decoded track waiting to play.
pub struct Loaded {
    pub token: Token,
    pub decoded: Decoded,
    /// Where the decoder already stands (a resumed episode starts mid-way).
    pub start: Duration,
}

/// What the deck reports about a track that stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub token: Token,
    /// Why it stopped early; `None` when it played to its end.
    pub error: Option<String>,
}

#[derive(Default)]
struct Pending {
    /// Replace whatever plays (`Some(None)` stops).
    replace: Option<Option<Loaded>>,
    /// Play after the current track, seamlessly.
    next: Option<Loaded>,
    seek: Option<Duration>,
}

#[derive(Default)]
struct Report {
    finished: Vec<Finished>,
    /// Where the last seek actually landed, for the token that was playing.
    seeked: Option<(Token, Duration)>,
    /// When the first decoded buffer of a track went to the output (only while stamping).
    first_buffers: Vec<(Token, Instant)>,
}

/// State shared by the deck (audio side) and its [`DeckControl`].
struct Shared {
    paused: AtomicBool,
    /// `f32` bits; multiplies every sample.
    volume: AtomicU32,
    /// Set whenever `pending` holds something, so the audio side checks it cheaply.
    has_pending: AtomicBool,
    pending: Mutex<Pending>,
    report: Mutex<Report>,
    /// Token of the track playing now (0: none).
    token: AtomicU64,
    /// Frames of it played so far, counted from its start (seeks included).
    frames: AtomicU64,
    rate: AtomicU32,
    /// Record when each track's first buffer is handed out (the `--timings` hook); off, the
    /// deck pays one relaxed load per track.
    stamp_first_buffer: AtomicBool,
    /// Woken when the deck may have something to play (for outputs that sleep when idle).
    wake: Condvar,
    wake_lock: Mutex<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take playback down with it: the data is still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The audio side: handed to the output, which pulls samples from it.
pub struct Deck {
    shared: Arc<Shared>,
    current: Option<Loaded>,
    buffer: Vec<f32>,
    pos: usize,
    format: Format,
    frames: u64,
    /// Silent samples given while paused (kept to whole frames).
    silence: usize,
    /// The current track has not handed out a decoded buffer yet.
    fresh: bool,
}

/// The control side, held by the audio worker.
#[derive(Clone)]
pub struct DeckControl {
    shared: Arc<Shared>,
}

/// A snapshot of what plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub token: Option<Token>,
    pub position: Duration,
    pub paused: bool,
}

const SILENCE: Format = Format {
    rate: 44_100,
    channels: 2,
};

/// A fresh deck and its control.
pub fn deck() -> (Deck, DeckControl) {
    let shared = Arc::new(Shared {
        paused: AtomicBool::new(false),
        volume: AtomicU32::new(1.0f32.to_bits()),
        has_pending: AtomicBool::new(false),
        pending: Mutex::new(Pending::default()),
        report: Mutex::new(Report::default()),
        token: AtomicU64::new(0),
        frames: AtomicU64::new(0),
        rate: AtomicU32::new(SILENCE.rate),
        stamp_first_buffer: AtomicBool::new(false),
        wake: Condvar::new(),
        wake_lock: Mutex::new(()),
    });
    let deck = Deck {
        shared: shared.clone(),
        current: None,
        buffer: Vec::new(),
        pos: 0,
        format: SILENCE,
        frames: 0,
        silence: 0,
        fresh: false,
    };
    (deck, DeckControl { shared })
}

impl DeckControl {
    fn with_pending(&self, change: impl FnOnce(&mut Pending)) {
        change(&mut lock(&self.shared.pending));
        self.shared.has_pending.store(true, Ordering::Release);
        self.wake();
    }

    /// Wakes an output sleeping in [`DeckControl::wait_active`].
    pub fn wake(&self) {
        let _guard = lock(&self.shared.wake_lock);
        self.shared.wake.notify_all();
    }

    /// Plays `track` now, dropping the current and any preloaded track.
    pub fn play_now(&self, track: Loaded) {
        self.with_pending(|p| {
            p.replace = Some(Some(track));
            p.next = None;
            p.seek = None;
        });
    }

    /// Plays `track` when the current one ends, with no gap.
    pub fn set_next(&self, track: Option<Loaded>) {
        self.with_pending(|p| p.next = track);
    }

    pub fn stop(&self) {
        self.with_pending(|p| {
            p.replace = Some(None);
            p.next = None;
            p.seek = None;
        });
    }

    pub fn seek(&self, to: Duration) {
        self.with_pending(|p| p.seek = Some(to));
    }

    pub fn set_paused(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::Release);
        self.wake();
    }

    pub fn set_volume(&self, volume: f32) {
        self.shared
            .volume
            .store(volume.clamp(0.0, 2.0).to_bits(), Ordering::Release);
    }

    pub fn status(&self) -> Status {
        let token = self.shared.token.load(Ordering::Acquire);
        let frames = self.shared.frames.load(Ordering::Acquire);
        let rate = self.shared.rate.load(Ordering::Acquire).max(1);
        Status {
            token: (token != 0).then_some(token),
            position: Duration::from_secs_f64(frames as f64 / f64::from(rate)),
            paused: self.shared.paused.load(Ordering::Acquire),
        }
    }

    /// Tracks that stopped since the last call, oldest first.
    pub fn take_finished(&self) -> Vec<Finished> {
        std::mem::take(&mut lock(&self.shared.report).finished)
    }

    /// Where the last seek landed, once the deck has done it.
    pub fn take_seeked(&self) -> Option<(Token, Duration)> {
        lock(&self.shared.report).seeked.take()
    }

    /// From now on, note when each track's first decoded buffer goes to the output.
    pub fn stamp_first_buffers(&self) {
        self.shared
            .stamp_first_buffer
            .store(true, Ordering::Release);
    }

    /// Tracks whose first decoded buffer went to the output since the last call, and when.
    pub fn take_first_buffers(&self) -> Vec<(Token, Instant)> {
        std::mem::take(&mut lock(&self.shared.report).first_buffers)
    }

    /// True while the deck has audio to play and is not paused (outputs may sleep otherwise).
    pub fn is_active(&self) -> bool {
        let shared = &self.shared;
        shared.has_pending.load(Ordering::Acquire)
            || (!shared.paused.load(Ordering::Acquire) && shared.token.load(Ordering::Acquire) != 0)
    }

    /// Blocks until a change waits for the deck (a new track, a seek, a stop) or `timeout`
    /// passes; may return early on a pause or resume too.
    pub fn wait_pending(&self, timeout: Duration) {
        let guard = lock(&self.shared.wake_lock);
        if self.shared.has_pending.load(Ordering::Acquire) {
            return;
        }
        let _ = self.shared.wake.wait_timeout(guard, timeout);
    }

    /// Blocks until [`DeckControl::is_active`] or `timeout` passes.
    pub fn wait_active(&self, timeout: Duration) {
        let guard = lock(&self.shared.wake_lock);
        if self.is_active() {
            return;
        }
        let _ = self.shared.wake.wait_timeout(guard, timeout);
    }
}

impl Deck {
    fn publish(&self) {
        self.shared.frames.store(self.frames, Ordering::Release);
    }

    fn start(&mut self, track: Option<Loaded>) {
        let token = track.as_ref().map_or(0, |t| t.token);
        self.frames = 0;
        if let Some(track) = &track {
            self.format = track.decoded.format();
            self.frames = (track.start.as_secs_f64() * f64::from(self.format.rate)).round() as u64;
        }
        self.fresh = track.is_some();
        self.current = track;
        self.shared.rate.store(self.format.rate, Ordering::Release);
        self.shared.token.store(token, Ordering::Release);
        self.publish();
    }

    fn finish_current(&mut self) {
        if let Some(track) = self.current.take() {
            let error = track.decoded.failure().map(str::to_owned);
            lock(&self.shared.report).finished.push(Finished {
                token: track.token,
                error,
            });
        }
    }

    fn apply_pending(&mut self) {
        if !self.shared.has_pending.swap(false, Ordering::AcqRel) {
            return;
        }
        let (replace, seek) = {
            let mut pending = lock(&self.shared.pending);
            (pending.replace.take(), pending.seek.take())
        };
        if let Some(track) = replace {
            // A replaced track did not finish: it is not reported.
            self.current = None;
            self.start(track);
        }
        if let Some(to) = seek {
            if let Some(track) = &mut self.current {
                match track.decoded.seek(to) {
                    Ok(landed) => {
                        self.frames =
                            (landed.as_secs_f64() * f64::from(self.format.rate)).round() as u64;
                        lock(&self.shared.report).seeked = Some((track.token, landed));
                    }
                    Err(e) => {
                        let token = track.token;
                        self.current = None;
                        lock(&self.shared.report).finished.push(Finished {
                            token,
                            error: Some(format!("cannot seek: {e}")),
                        });
                        self.start(None);
                    }
                }
                self.publish();
            }
        }
    }

    /// Fills `buffer` with the next packet (or silence); never leaves it empty.
    fn refill(&mut self) {
        self.apply_pending();
        self.buffer.clear();
        self.pos = 0;
        if !self.shared.paused.load(Ordering::Acquire) {
            while let Some(track) = &mut self.current {
                let buffer = &mut self.buffer;
                // A decoder bug on one file must not take the audio thread down with it.
                let chunk = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    track.decoded.next_chunk().map(|(format, samples)| {
                        buffer.extend_from_slice(samples);
                        format
                    })
                }));
                match chunk {
                    Ok(Some(format)) => {
                        self.format = format;
                        self.shared.rate.store(format.rate, Ordering::Release);
                        if std::mem::take(&mut self.fresh) {
                            self.stamp_first_buffer();
                        }
                        break;
                    }
                    Ok(None) => self.finish_current(),
                    Err(_) => {
                        self.buffer.clear();
                        let token = track.token;
                        self.current = None;
                        lock(&self.shared.report).finished.push(Finished {
                            token,
                            error: Some("the decoder failed on this file".into()),
                        });
                    }
                }
                let next = lock(&self.shared.pending).next.take();
                self.start(next);
            }
        }
        if self.buffer.is_empty() {
            // 10 ms of silence keeps the output fed while paused or idle.
            let frames = (self.format.rate / 100).max(1) as usize;
            self.buffer
                .resize(frames * usize::from(self.format.channels.max(1)), 0.0);
        }
    }

    /// The buffer just decoded is the track's first, and the output takes its first sample
    /// as soon as `refill` returns: that is the moment the `--timings` hook measures to.
    fn stamp_first_buffer(&self) {
        if !self.shared.stamp_first_buffer.load(Ordering::Relaxed) {
            return;
        }
        if let Some(track) = &self.current {
            lock(&self.shared.report)
                .first_buffers
                .push((track.token, Instant::now()));
        }
    }

    fn channel_count(&self) -> usize {
        usize::from(self.format.channels.max(1))
    }
}

impl Iterator for Deck {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        // Pause at once (not at the end of the packet), on a frame boundary so channels stay
        // in place; the rest of the packet waits in the buffer.
        let channels = self.channel_count();
        let paused = self.shared.paused.load(Ordering::Relaxed);
        if (paused && self.pos.is_multiple_of(channels)) || !self.silence.is_multiple_of(channels) {
            if self.silence == 0 {
                self.publish();
            }
            self.silence += 1;
            return Some(0.0);
        }
        self.silence = 0;
        if self.pos >= self.buffer.len() {
            self.refill();
        }
        let sample = self.buffer.get(self.pos).copied().unwrap_or(0.0);
        self.pos += 1;
        let playing = self.current.is_some();
        if playing && self.pos.is_multiple_of(channels) {
            self.frames += 1;
            if self.frames.is_multiple_of(512) {
                self.publish();
            }
        }
        if self.pos >= self.buffer.len() {
            // Refill eagerly so the span length never reads 0 while audio continues.
            if playing {
                self.publish();
            }
            self.refill();
        }
        let volume = f32::from_bits(self.shared.volume.load(Ordering::Relaxed));
        Some(sample * volume)
    }
}

impl Source for Deck {
    fn current_span_len(&self) -> Option<usize> {
        Some(self.buffer.len().saturating_sub(self.pos).max(1))
    }

    fn channels(&self) -> ChannelCount {
        NonZero::new(self.format.channels).unwrap_or(NonZero::<u16>::MIN)
    }

    fn sample_rate(&self) -> SampleRate {
        NonZero::new(self.format.rate).unwrap_or(NonZero::<u32>::MIN)
    }

    fn total_duration(&self) -> Option<Duration> {
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! The deck is driven here with synthetic WAV tracks, pulling samples by hand.
    use super::*;

    /// A mono 16-bit WAV of `frames` samples all equal to `value`.
    pub(crate) fn wav(rate: u32, frames: u32, value: i16) -> Vec<u8> {
        cadenza_fixtures::synth::wav::file(rate, &vec![value; frames as usize], &[])
    }

    fn loaded(token: Token, rate: u32, frames: u32, value: i16) -> Loaded {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wav");
        std::fs::write(&path, wav(rate, frames, value)).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        Loaded {
            token,
            decoded: Decoded::open(Box::new(file), Some("wav")).unwrap(),
            start: Duration::ZERO,
        }
    }

    #[test]
    fn plays_the_next_track_without_a_gap() {
        let (mut deck, control) = deck();
        control.play_now(loaded(1, 8000, 800, 1000));
        control.set_next(Some(loaded(2, 8000, 800, 2000)));
        let samples: Vec<f32> = (&mut deck).take(1500).collect();
        let first = 1000.0 / 32768.0;
        let second = 2000.0 / 32768.0;
        assert!(samples[..800].iter().all(|s| (s - first).abs() < 1e-4));
        assert!(
            samples[800..].iter().all(|s| (s - second).abs() < 1e-4),
            "the second track must follow at once"
        );
        assert_eq!(
            control.take_finished(),
            vec![Finished {
                token: 1,
                error: None
            }]
        );
        assert_eq!(control.status().token, Some(2));
    }

    #[test]
    fn pause_gives_silence_and_keeps_position() {
        let (mut deck, control) = deck();
        control.play_now(loaded(7, 8000, 8000, 3000));
        let _: Vec<f32> = (&mut deck).take(4000).collect();
        control.set_paused(true);
        let silent: Vec<f32> = (&mut deck).take(2000).skip(200).collect();
        assert!(silent.iter().all(|s| *s == 0.0));
        let status = control.status();
        assert!(status.paused);
        let pos = status.position.as_secs_f64();
        assert!((0.45..=0.55).contains(&pos), "position {pos}");
        assert!(!control.is_active());
    }

    #[test]
    fn seek_moves_the_position_and_volume_scales() {
        let (mut deck, control) = deck();
        control.play_now(loaded(3, 8000, 16000, 1000));
        let _ = deck.next();
        control.seek(Duration::from_millis(1500));
        control.set_volume(0.5);
        let _: Vec<f32> = (&mut deck).take(2000).collect();
        let (token, landed) = control.take_seeked().expect("seek reported");
        assert_eq!(token, 3);
        assert!((landed.as_secs_f64() - 1.5).abs() < 0.01, "{landed:?}");
        let pos = control.status().position.as_secs_f64();
        assert!(pos > 1.5 && pos < 2.0, "position {pos}");
        let s = deck.next().unwrap();
        assert!((s - 500.0 / 32768.0).abs() < 1e-4, "{s}");
    }

    #[test]
    fn first_buffers_are_stamped_once_per_track_and_only_when_asked() {
        let (mut deck, control) = deck();
        control.play_now(loaded(1, 8000, 800, 1000));
        let _: Vec<f32> = (&mut deck).take(100).collect();
        assert!(control.take_first_buffers().is_empty(), "off by default");

        control.stamp_first_buffers();
        control.play_now(loaded(2, 8000, 800, 1000));
        control.set_next(Some(loaded(3, 8000, 800, 1000)));
        let before = Instant::now();
        assert!(
            control.take_first_buffers().is_empty(),
            "nothing pulled yet"
        );
        let _: Vec<f32> = (&mut deck).take(2400).collect();
        let stamped = control.take_first_buffers();
        let tokens: Vec<Token> = stamped.iter().map(|(t, _)| *t).collect();
        assert_eq!(tokens, [2, 3], "the gapless follower is a first buffer too");
        assert!(stamped.iter().all(|(_, at)| *at >= before));
        let _: Vec<f32> = (&mut deck).take(200).collect();
        assert!(control.take_first_buffers().is_empty(), "once per track");
    }

    #[test]
    fn idle_deck_is_silent_and_inactive() {
        let (deck, control) = deck();
        assert!(deck.take(100).all(|s| s == 0.0));
        assert!(!control.is_active());
        assert_eq!(control.status().token, None);
    }
}
