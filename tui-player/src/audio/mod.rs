//! Playback: decoding, the gapless deck, output selection and the worker thread that owns them.

pub mod deck;
pub mod decoder;
mod opus;
pub mod output;
pub mod worker;

pub use output::OutputChoice;
pub use worker::{AudioCommand, AudioEvent, AudioHandle, TrackInput};
