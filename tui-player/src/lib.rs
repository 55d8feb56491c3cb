//! Cadenza's terminal player.

pub mod audio;
pub mod cache;
pub mod track;
