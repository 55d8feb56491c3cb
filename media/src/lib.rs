//! Reading audio files for Cadenza: format detection by content, completeness and
//! playability checks, tags, duration and embedded cover art.
//!
//! Shared by the server (which validates uploads with [`probe_file`] and answers a
//! refusal with the status its error layer gives each [`MediaError`]) and the admin CLI
//! (which reads tags locally for dry runs and reports). The rule both enforce: whatever the server accepts, the
//! player must play. [`Codec`] lists what that is.
//!
//! A probe runs four stages, each refusing with its own [`MediaError`]:
//! 1. [`sniff`]: the container from the first bytes, never the file name
//!    (not audio: 415; audio the player cannot decode, such as AIFF: 415).
//! 2. Structural checks: the file is whole (a Xing frame count, FLAC's total samples,
//!    the last Ogg page, WAV and MP4 sizes) and its ID3v2 tag is one the player's
//!    decoder accepts (422 otherwise).
//! 3. lofty: duration, bitrate, sample rate, channels, tags, front cover; MP4 must
//!    hold AAC (ALAC, DRM: 415).
//! 4. The player's own decoder (symphonia 0.5) opens the file and decodes its first
//!    packets (422, or 415 for a codec variant it lacks, such as AAC Main).
//!
//! [`resolve_tags`] then turns tags, the uploader's overrides and the file name into
//! what the catalog shows, flagging fallbacks.

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
