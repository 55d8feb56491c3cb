//! Sizes and durations as people type them, read one way by every Cadenza program: the
//! server's flags, environment and TOML file, the player's config and `:seek`, and the
//! capacity calculator.
//!
//! The convention:
//! - **Sizes** are bytes. A bare number is a count of bytes (`5000000`). Prefixes are SI unless
//!   written with an `i`: `5MB` is 5,000,000 bytes, `512MiB` is 512 × 2^20; the prefix letter
//!   may be either case (`kB`, `KB`), the `B` must be upper case, because `Mb` means megabits
//!   and is refused. A prefix with no `B` (`2G`) is refused too: it could mean either base.
//!   Decimals and exponents are exact (`1.5TB`, `5e6`) as long as they come to whole bytes.
//! - **Durations**: a bare number is seconds (`90`, `2.5`); otherwise units as `humantime`
//!   reads them (`45s`, `15m`, `1h30m`, `30d`, `2w`, `3.5min`, `250ms`; `m` is minutes, `M`
//!   months); or a clock, `m:ss` or `h:mm:ss` (`3:30`), whose minutes and seconds stay below 60.
//!
//! Its own small crate (serde, thiserror and humantime, nothing else) so the server and the
//! player share it without linking the capacity model, and the capacity model shares it
//! without linking anything else. Durations are `humantime` (a kept crate already in the
//! build) plus the two forms it lacks; sizes are hand-written because no kept crate reads them
//! exactly into `u128` (the capacity model counts exabytes with exact fractions) or refuses
//! bits.

mod decimal;
mod duration;
mod size;

use thiserror::Error;

pub use decimal::{split_number, Decimal};
pub use duration::{format_clock, parse_duration, Span, DURATION_HINT};
pub use size::{parse_size, ByteSize, SIZE_HINT};

/// Typed text that is not a size or a duration: `'5 XB' has an unknown unit 'XB'; give a size
/// such as 512MiB, ...`: the text, what is wrong with it, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("'{text}' {problem}; {hint}")]
pub struct UnitError {
    text: String,
    problem: String,
    hint: &'static str,
}

impl UnitError {
    fn new(text: &str, problem: impl Into<String>, hint: &'static str) -> Self {
        Self {
            text: text.trim().to_string(),
            problem: problem.into(),
            hint,
        }
    }

    /// What is wrong, as a phrase about the text ("is negative"), for callers that word the
    /// rest of the message themselves.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

/// The checks every typed quantity shares (not empty, not negative, no thousands commas): the
/// trimmed text, or what is wrong with it as a phrase ("is negative").
pub fn plain(text: &str) -> Result<&str, String> {
    let text = text.trim();
    if text.is_empty() {
        Err("is empty".to_string())
    } else if text.starts_with(['-', '−']) {
        Err("is negative".to_string())
    } else if text.contains(',') {
        Err("uses commas; write 1_000_000 or 1e6 instead".to_string())
    } else {
        Ok(text)
    }
}

/// A config value given either as a bare number or as text with a unit.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(u64),
    Float(f64),
    Text(String),
}

impl NumberOrText {
    /// The text a person would have typed for this value.
    fn into_text(self) -> String {
        match self {
            NumberOrText::Number(n) => n.to_string(),
            NumberOrText::Float(x) => x.to_string(),
            NumberOrText::Text(text) => text,
        }
    }
}
