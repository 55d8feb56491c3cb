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
//!    (not audio: 415; audio the player cannot decode, such as WavPack: 415).
//! 2. Structural checks: the file is whole (FLAC's total samples, the last Ogg page,
//!    WAV, AIFF and MP4 sizes) and its ID3v2 tag is one the player's decoder accepts
//!    (422 otherwise). An MP3 is walked frame by frame: its frames, not its Xing
//!    header, give its length.
//! 3. lofty: duration, bitrate, sample rate, channels, tags, front cover; MP4 must
//!    hold AAC or Apple Lossless (DRM: 415). Tags are read leniently.
//! 4. The player's own decoder (symphonia 0.5, shown the file through
//!    [`DecoderInput`] as the player is) opens the file and decodes its first packets
//!    (422, or 415 for a codec variant it lacks, such as AAC Main).
//!
//! What is wrong without stopping playback (a damaged tag item, a truncated MP3, a cue
//! sheet) comes back as [`Warning`]s in the [`Probe`].
//!
//! [`resolve_tags`] then turns tags, the uploader's overrides and the file name into
//! what the catalog shows, flagging fallbacks.

mod ape;
mod codec;
mod decoder_input;
mod error;
mod id3v2;
mod integrity;
mod mpeg;
mod playable;
mod probe;
mod resolve;
mod sniff;
mod tags;
mod warning;

pub use codec::Codec;
pub use decoder_input::DecoderInput;
pub use error::MediaError;
pub use probe::{probe_file, probe_reader, Probe, MAX_TAG_ITEM_BYTES};
pub use resolve::{
    resolve_tags, title_from_filename, ResolvedTags, UNKNOWN_ALBUM, UNKNOWN_ARTIST, UNKNOWN_TITLE,
};
pub use sniff::{sniff, Container, SNIFF_LEN};
pub use tags::{Cover, Tags, VARIOUS_ARTISTS};
pub use warning::{Warning, WarningCode};
