//! Reading audio files for Cadenza: format detection by content, completeness and
//! playability checks, tags, duration and embedded cover art.
//!
//! Shared by the server (which validates uploads with [`probe_file`] and answers
//! [`MediaError::http_status`]) and the admin CLI (which reads tags locally for
//! dry runs and reports). The rule both enforce: whatever the server accepts, the
//! player must play. [`Codec`] lists what that is.

mod codec;
mod error;
mod id3v2;
mod integrity;
mod mpeg;
mod playable;
mod probe;
mod resolve;
mod sniff;
mod tags;

pub use codec::Codec;
pub use error::MediaError;
pub use probe::{probe_file, probe_reader, Probe, MAX_TAG_ITEM_BYTES};
pub use resolve::{
    resolve_tags, title_from_filename, ResolvedTags, UNKNOWN_ALBUM, UNKNOWN_ARTIST, UNKNOWN_TITLE,
};
pub use sniff::{sniff, Container, SNIFF_LEN};
pub use tags::{Cover, Tags};
