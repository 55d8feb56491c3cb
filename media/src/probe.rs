//! Probing a file: recognise it by content, check it is whole and playable, then
//! read its properties, tags and cover with lofty.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use lofty::config::{apply_global_options, GlobalOptions, ParseOptions};
use lofty::error::AllocationError;
use lofty::file::{AudioFile, TaggedFile};
use lofty::flac::FlacFile;
use lofty::iff::wav::WavFile;
use lofty::mp4::{Mp4Codec, Mp4File};
use lofty::mpeg::MpegFile;
use lofty::ogg::{OpusFile, VorbisFile};

use crate::codec::Codec;
use crate::error::MediaError;
use crate::id3v2::TagHeader;
use crate::integrity;
use crate::integrity::read_window;
use crate::playable;
use crate::sniff::{describe_non_audio, sniff, sniff_untagged, Container, SNIFF_LEN};
use crate::tags::{read_cover, read_tags, Cover, Tags};

/// Largest single tag item (a cover picture, usually) read into memory. A bigger
/// ID3v2 picture is skipped (the song keeps no cover); any other bigger item makes
/// the file unreadable. lofty enforces the same limit on the items it allocates up
/// front, so a bogus size field never makes a probe allocate gigabytes.
pub const MAX_TAG_ITEM_BYTES: usize = 32 * 1024 * 1024;

/// Everything Cadenza needs to know about an accepted audio file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub codec: Codec,
    pub duration_ms: u64,
    pub bitrate_kbps: Option<u32>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u8>,
    pub tags: Tags,
    pub cover: Option<Cover>,
}

/// Probes the file at `path`: identifies it by content, checks that it is whole and
/// that the player's decoder opens it, then reads properties, tags and cover.
///
/// Memory is bounded: headers, windows of at most 256 KiB, tag items up to
/// [`MAX_TAG_ITEM_BYTES`] and a few decoded packets, never the whole audio. It
/// blocks on file I/O and some CPU (an MP3 is walked frame by frame): async callers
/// should run it on a blocking thread (`tokio::task::spawn_blocking`).
pub fn probe_file(path: &Path) -> Result<Probe, MediaError> {
    probe_reader(BufReader::new(File::open(path)?))
}

/// [`probe_file`] for any seekable reader (wrap files in a `BufReader`: the MPEG
/// check reads frame headers a few bytes at a time).
pub fn probe_reader<R>(mut reader: R) -> Result<Probe, MediaError>
where
    R: Read + Seek + Send + Sync + 'static,
{
    let len = reader.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Err(MediaError::Empty);
    }
    let container = identify(&mut reader, len)?;
    if let Some(reason) = container.refusal() {
        return Err(MediaError::unsupported(container.name(), reason));
    }
    let findings = integrity::check(&mut reader, container, len)?;
    let (codec, file) = read_with_lofty(&mut reader, container, !findings.skip_cover_art)?;
    let properties = file.properties();
    let duration_ms = findings
        .counted_duration_ms
        .unwrap_or_else(|| u64::try_from(properties.duration().as_millis()).unwrap_or(u64::MAX));
    if duration_ms == 0 {
        return Err(MediaError::unreadable(format!(
            "no playable length could be read from this {} file; it is damaged or holds no \
             audio, re-encode it from the source",
            container.name()
        )));
    }
    let probe = Probe {
        codec,
        duration_ms,
        bitrate_kbps: findings
            .counted_bitrate_kbps
            .or(properties.audio_bitrate())
            .or(properties.overall_bitrate())
            .filter(|&kbps| kbps > 0),
        sample_rate: properties.sample_rate().filter(|&rate| rate > 0),
        channels: properties.channels().filter(|&channels| channels > 0),
        tags: read_tags(&file),
        cover: read_cover(&file),
    };
    // The player's decoder reads the ID3v2 tag too; past a certain size it gets only
    // the audio, which keeps this check's memory bounded like the rest.
    let start = if findings.leading_tag_len > MAX_TAG_ITEM_BYTES as u64 {
        findings.leading_tag_len
    } else {
        0
    };
    playable::check(reader, start, container)?;
    Ok(probe)
}

/// Sniffs the container; looks behind an ID3v2 tag longer than the sniffed head.
fn identify<R: Read + Seek>(reader: &mut R, len: u64) -> Result<Container, MediaError> {
    let head = read_window(reader, 0, SNIFF_LEN)?;
    if let Some(tag) = TagHeader::parse(&head) {
        let after = tag.total_len();
        if after >= head.len() as u64 && after < len {
            let behind = read_window(reader, after, SNIFF_LEN)?;
            return Ok(match sniff_untagged(&behind) {
                Some(Container::Flac) => Container::Flac,
                _ => Container::Mpeg,
            });
        }
    }
    sniff(&head).ok_or_else(|| MediaError::NotAudio {
        detail: describe_non_audio(&head).to_string(),
    })
}

fn read_with_lofty<R: Read + Seek>(
    reader: &mut R,
    container: Container,
    read_cover_art: bool,
) -> Result<(Codec, TaggedFile), MediaError> {
    // Thread-local in lofty, so set on every call: callers use thread pools.
    apply_global_options(GlobalOptions::new().allocation_limit(MAX_TAG_ITEM_BYTES));
    let options = ParseOptions::new()
        .read_cover_art(read_cover_art)
        .max_junk_bytes(8 * 1024);
    reader.seek(SeekFrom::Start(0))?;
    let failed = |error: lofty::error::FileParseError| {
        if caused_by::<AllocationError>(&error) {
            return MediaError::unreadable(format!(
                "its tags hold an item larger than the {} MiB Cadenza reads (usually an \
                 oversized cover picture); shrink or remove it with a tag editor and try again",
                MAX_TAG_ITEM_BYTES / (1024 * 1024)
            ));
        }
        MediaError::unreadable(format!(
            "the {} file could not be parsed ({}); it is damaged, re-encode it from the source",
            container.name(),
            error_chain(&error)
        ))
    };
    Ok(match container {
        Container::Mpeg => (
            Codec::Mp3,
            MpegFile::read_from(reader, options).map_err(failed)?.into(),
        ),
        Container::Flac => (
            Codec::Flac,
            FlacFile::read_from(reader, options).map_err(failed)?.into(),
        ),
        Container::OggVorbis => (
            Codec::Vorbis,
            VorbisFile::read_from(reader, options)
                .map_err(failed)?
                .into(),
        ),
        Container::OggOpus => (
            Codec::Opus,
            OpusFile::read_from(reader, options).map_err(failed)?.into(),
        ),
        Container::Wav => (
            Codec::Wav,
            WavFile::read_from(reader, options).map_err(failed)?.into(),
        ),
        Container::Mp4 => {
            let file = Mp4File::read_from(reader, options).map_err(failed)?;
            check_mp4_codec(&file)?;
            (Codec::Aac, file.into())
        }
        other => {
            return Err(MediaError::unsupported(
                other.name(),
                other.refusal().unwrap_or("the player cannot decode it"),
            ))
        }
    })
}

/// MP4 may carry several codecs; the player decodes AAC only.
fn check_mp4_codec(file: &Mp4File) -> Result<(), MediaError> {
    let properties = file.properties();
    if properties.is_drm_protected() {
        return Err(MediaError::unsupported(
            "DRM-protected M4A (M4P)",
            "its audio is encrypted and only the store's own player can decode it; \
             download a DRM-free copy",
        ));
    }
    match properties.codec() {
        Some(Mp4Codec::AAC) => Ok(()),
        Some(Mp4Codec::ALAC) => Err(MediaError::unsupported(
            "Apple Lossless (ALAC)",
            "the player cannot decode it; convert it to FLAC (also lossless), e.g. \
             `ffmpeg -i INPUT -c:a flac OUTPUT.flac`",
        )),
        Some(Mp4Codec::FLAC) => Err(MediaError::unsupported(
            "FLAC in MP4",
            "the player reads FLAC only in its native container; remux it without \
             re-encoding: `ffmpeg -i INPUT -c:a copy OUTPUT.flac`",
        )),
        Some(Mp4Codec::MP3) => Err(MediaError::unsupported(
            "MP3 in MP4",
            "the player reads MP3 only as a plain .mp3 file; remux it without \
             re-encoding: `ffmpeg -i INPUT -c:a copy OUTPUT.mp3`",
        )),
        _ => Err(MediaError::unsupported(
            "MP4 with an unknown audio codec",
            "the player decodes AAC only in MP4; convert it, e.g. \
             `ffmpeg -i INPUT -c:a aac -b:a 256k OUTPUT.m4a`",
        )),
    }
}

fn caused_by<E: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(cause) = current {
        if cause.is::<E>() {
            return true;
        }
        current = cause.source();
    }
    false
}

/// "outer: inner: innermost", since lofty's top-level message alone says little.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
