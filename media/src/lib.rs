//! Reading audio files: format detection by content, tags, duration and embedded cover art.
//!
//! The store helper owns this crate.
