//! The `--timings` hook: for each play the user started, how long from their key (or click)
//! to the first decoded buffer handed to the audio output. Off unless the runtime turns it on;
//! then each play yields one [`Effect::Timing`] line for the runtime to append to the file.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Effect};
use crate::audio::deck::Token;
use crate::track::TrackId;

/// A play waiting for its first buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayTiming {
    /// When the app took the input event that started the play.
    pub requested_at: Instant,
    /// That input, as written in the line (`enter`, `n`, `click`...).
    pub input: String,
    /// Whether the bytes come from the cache (known once the track is prepared).
    pub from_cache: Option<bool>,
}

/// The input event being handled, while timings are on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputStamp {
    pub at: Instant,
    pub input: String,
}

pub fn key_name(key: &KeyEvent) -> String {
    match key.code {
        KeyCode::Char(' ') => "space".into(),
        KeyCode::Char(c) => c.to_string(),
        code => code.to_string().to_lowercase().replace(' ', "_"),
    }
}

/// One line of the timings file, e.g.
/// `key_to_first_buffer_ms=13.2 input=enter source=cache song=42`.
pub fn timing_line(timing: &PlayTiming, first_buffer: Instant, track: TrackId) -> String {
    let ms = first_buffer
        .saturating_duration_since(timing.requested_at)
        .as_secs_f64()
        * 1000.0;
    let source = match timing.from_cache {
        Some(true) => "cache",
        Some(false) => "stream",
        None => "unknown",
    };
    let item = match track {
        TrackId::Song(id) => format!("song={id}"),
        TrackId::Episode(id) => format!("episode={id}"),
    };
    format!(
        "key_to_first_buffer_ms={ms:.1} input={} source={source} {item}",
        timing.input
    )
}

impl App {
    /// The play just started came from the input being handled: time it.
    pub(super) fn start_timing(&mut self) {
        self.player.timing = self.input_stamp.as_ref().map(|stamp| PlayTiming {
            requested_at: stamp.at,
            input: stamp.input.clone(),
            from_cache: None,
        });
    }

    pub(super) fn on_first_buffer(&mut self, token: Token, at: Instant) {
        if self.player.token != Some(token) {
            return;
        }
        let Some(timing) = self.player.timing.take() else {
            return;
        };
        if let Some(track) = &self.player.track {
            let line = timing_line(&timing, at, track.id);
            self.effects.push(Effect::Timing(line));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;
    use std::time::Duration;

    #[test]
    fn a_line_names_the_time_the_input_the_source_and_the_song() {
        let t0 = Instant::now();
        let timing = PlayTiming {
            requested_at: t0,
            input: key_name(&KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            from_cache: Some(false),
        };
        let line = timing_line(
            &timing,
            t0 + Duration::from_micros(13_240),
            TrackId::Song(42),
        );
        assert_eq!(
            line,
            "key_to_first_buffer_ms=13.2 input=enter source=stream song=42"
        );
        let cached = PlayTiming {
            from_cache: Some(true),
            input: key_name(&KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE)),
            ..timing
        };
        assert_eq!(
            timing_line(&cached, t0 + Duration::from_millis(2), TrackId::Episode(7)),
            "key_to_first_buffer_ms=2.0 input=n source=cache episode=7"
        );
    }
}
