//! Probing a file: recognise it by content, check it is whole and playable, then
//! read its properties, tags and cover with lofty.
//!
//! Only audio the player cannot decode is refused. Tags are read leniently: a damaged
//! item is skipped (and reported as a [`Warning`]), and a file whose tags cannot be read
//! at all is catalogued without them.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use lofty::aac::AacFile;
use lofty::config::{apply_global_options, GlobalOptions, ParseOptions, ParsingMode};
use lofty::error::{AllocationError, FileParseError};
use lofty::file::{AudioFile, TaggedFile};
use lofty::flac::FlacFile;
use lofty::iff::aiff::AiffFile;
use lofty::iff::wav::WavFile;
use lofty::mp4::{Mp4Codec, Mp4File};
use lofty::mpeg::{Layer, MpegFile};
use lofty::ogg::{OpusFile, VorbisFile};

use crate::ape;
use crate::codec::Codec;
use crate::error::MediaError;
use crate::id3v2::TagHeader;
use crate::integrity;
use crate::integrity::read_window;
use crate::playable;
use crate::sniff::{behind_id3, describe_non_audio, sniff, Container, SNIFF_LEN};
use crate::tags::{read_cover, read_tags, Cover, Tags};
use crate::warning::{Warning, WarningCode};

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
    /// What is wrong with the file without keeping it out, for the ingest report.
    pub warnings: Vec<Warning>,
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
    let (codec, file, tag_warning) =
        read_with_lofty(&mut reader, container, !findings.skip_cover_art)?;
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
        warnings: tag_warning.into_iter().chain(findings.warnings).collect(),
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
            return Ok(behind_id3(&behind));
        }
    }
    sniff(&head).ok_or_else(|| MediaError::NotAudio {
        detail: describe_non_audio(&head).to_string(),
    })
}

/// Reads the file with lofty, leniently. Strict parsing first: it stops at any tag item
/// lofty's lenient modes would skip, and only log, so its error is what a warning names.
/// Then the lenient modes, which keep every good item; failing those, the file without
/// its tags (a warning says they were dropped). Only a file lofty cannot read even
/// without its tags is refused.
fn read_with_lofty<R: Read + Seek>(
    reader: &mut R,
    container: Container,
    read_cover_art: bool,
) -> Result<(Codec, TaggedFile, Option<Warning>), MediaError> {
    // Thread-local in lofty, so set on every call: callers use thread pools.
    apply_global_options(GlobalOptions::new().allocation_limit(MAX_TAG_ITEM_BYTES));
    let mut strict = ParseOptions::new()
        .read_cover_art(read_cover_art)
        .max_junk_bytes(8 * 1024);
    strict.parsing_mode(ParsingMode::Strict);
    let strict_error = match read_as(reader, container, strict) {
        Ok((codec, file)) => return Ok((codec, file, None)),
        Err(LoftyError::Refused(error)) => return Err(error),
        Err(LoftyError::Parse(error)) => error,
    };
    let problem = error_chain(&strict_error);
    let mut lenient_error = None;
    for mode in [ParsingMode::BestAttempt, ParsingMode::Relaxed] {
        let mut lenient = strict;
        lenient.parsing_mode(mode);
        match read_as(reader, container, lenient) {
            Ok((codec, file)) => {
                // Strict parsing also checks the audio's own headers: only a problem it
                // does not meet without the tags is a tag problem.
                let mut untagged = strict;
                untagged.read_tags(false);
                let tag_problem = read_as(reader, container, untagged).is_ok()
                    && !(problem.contains(ID3V1_YEAR_REFUSED) && id3v1_year_is_blank(reader));
                let warning = tag_problem.then(|| {
                    Warning::new(
                        WarningCode::TagDamaged,
                        format!(
                            "a damaged tag item was skipped ({problem}); the other tags were \
                             read. Fix or remove that item with a tag editor and upload the \
                             file again"
                        ),
                    )
                });
                return Ok((codec, file, warning));
            }
            Err(LoftyError::Refused(error)) => return Err(error),
            Err(LoftyError::Parse(error)) => {
                lenient_error.get_or_insert(error);
            }
        }
    }
    if lenient_error
        .as_ref()
        .is_some_and(|error| caused_by::<AllocationError>(error))
    {
        return Err(MediaError::unreadable(format!(
            "its tags hold an item larger than the {} MiB Cadenza reads (usually an \
             oversized cover picture); shrink or remove it with a tag editor and try again",
            MAX_TAG_ITEM_BYTES / (1024 * 1024)
        )));
    }
    if let Some(file) = read_without_ape_tag(reader, container, strict)? {
        let warning = Warning::new(
            WarningCode::TagDamaged,
            format!(
                "its APE tag could not be read ({problem}) and was left out; the other tags \
                 were read. Remove or rewrite the APE tag with a tag editor and upload the \
                 file again"
            ),
        );
        return Ok((file.0, file.1, Some(warning)));
    }
    let mut untagged = strict;
    untagged.parsing_mode(ParsingMode::Relaxed);
    untagged.read_tags(false);
    match read_as(reader, container, untagged) {
        Ok((codec, file)) => {
            let warning = Warning::new(
                WarningCode::TagsUnreadable,
                format!(
                    "its tags could not be read ({problem}), so it is catalogued without \
                     them; rewrite the tags with a tag editor and upload the file again"
                ),
            );
            Ok((codec, file, Some(warning)))
        }
        Err(LoftyError::Refused(error)) => Err(error),
        Err(LoftyError::Parse(_)) => Err(MediaError::unreadable(format!(
            "the {} file could not be parsed ({problem}); it is damaged, re-encode it from \
             the source",
            container.name()
        ))),
    }
}

/// An MP3 read leniently without its trailing APE tag, if it has one: one bad APE item
/// fails the whole file in lofty.
fn read_without_ape_tag<R: Read + Seek>(
    reader: &mut R,
    container: Container,
    options: ParseOptions,
) -> Result<Option<(Codec, TaggedFile)>, MediaError> {
    if container != Container::Mpeg {
        return Ok(None);
    }
    let len = reader.seek(SeekFrom::End(0))?;
    let Some(start) = ape::trailing_tag_start(reader, len)? else {
        return Ok(None);
    };
    let mut relaxed = options;
    relaxed.parsing_mode(ParsingMode::Relaxed);
    let mut without = ape::Prefix::new(reader, start)?;
    Ok(read_as(&mut without, container, relaxed).ok())
}

enum LoftyError {
    /// lofty could not parse the file with these options.
    Parse(FileParseError),
    /// It parsed, but holds audio the player cannot decode.
    Refused(MediaError),
}

fn read_as<R: Read + Seek>(
    reader: &mut R,
    container: Container,
    options: ParseOptions,
) -> Result<(Codec, TaggedFile), LoftyError> {
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|error| LoftyError::Refused(error.into()))?;
    let parsed = |file: Result<TaggedFile, FileParseError>| file.map_err(LoftyError::Parse);
    Ok(match container {
        Container::Mpeg => {
            let file = MpegFile::read_from(reader, options).map_err(LoftyError::Parse)?;
            // The structural check has refused Layer I already.
            let codec = match file.properties().layer() {
                Layer::Layer2 => Codec::Mp2,
                _ => Codec::Mp3,
            };
            (codec, file.into())
        }
        Container::Flac => (
            Codec::Flac,
            parsed(FlacFile::read_from(reader, options).map(Into::into))?,
        ),
        Container::OggVorbis => (
            Codec::Vorbis,
            parsed(VorbisFile::read_from(reader, options).map(Into::into))?,
        ),
        Container::OggOpus => (
            Codec::Opus,
            parsed(OpusFile::read_from(reader, options).map(Into::into))?,
        ),
        Container::Wav => (
            Codec::Wav,
            parsed(WavFile::read_from(reader, options).map(Into::into))?,
        ),
        Container::Aiff => (
            Codec::Aiff,
            parsed(AiffFile::read_from(reader, options).map(Into::into))?,
        ),
        Container::Adts => (
            Codec::Adts,
            parsed(AacFile::read_from(reader, options).map(Into::into))?,
        ),
        Container::Mp4 => {
            let file = Mp4File::read_from(reader, options).map_err(LoftyError::Parse)?;
            let codec = mp4_codec(&file).map_err(LoftyError::Refused)?;
            (codec, file.into())
        }
        other => {
            return Err(LoftyError::Refused(MediaError::unsupported(
                other.name(),
                other.refusal().unwrap_or("the player cannot decode it"),
            )))
        }
    })
}

/// MP4 may carry several codecs; the player decodes AAC and Apple Lossless.
fn mp4_codec(file: &Mp4File) -> Result<Codec, MediaError> {
    let properties = file.properties();
    if properties.is_drm_protected() {
        return Err(MediaError::unsupported(
            "DRM-protected M4A (M4P)",
            "its audio is encrypted and only the store's own player can decode it; \
             download a DRM-free copy",
        ));
    }
    match properties.codec() {
        Some(Mp4Codec::AAC) => Ok(Codec::Aac),
        Some(Mp4Codec::ALAC) => Ok(Codec::Alac),
        Some(Mp4Codec::FLAC) => Err(MediaError::unsupported(
            "FLAC in MP4",
            "Cadenza catalogues FLAC only in its native container; remux it without \
             re-encoding: `ffmpeg -i INPUT -c:a copy OUTPUT.flac`",
        )),
        Some(Mp4Codec::MP3) => Err(MediaError::unsupported(
            "MP3 in MP4",
            "Cadenza catalogues MP3 only as a plain .mp3 file; remux it without \
             re-encoding: `ffmpeg -i INPUT -c:a copy OUTPUT.mp3`",
        )),
        _ => Err(MediaError::unsupported(
            "MP4 with an unknown audio codec",
            "the player decodes AAC and Apple Lossless only in MP4; convert it, e.g. \
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
/// What lofty's strict mode says of an ID3v1 year that is not four digits.
const ID3V1_YEAR_REFUSED: &str = "expected 4 digit year field";

/// Whether the file ends in an ID3v1 tag whose year is blank (NULs or spaces). Most taggers
/// (lame, lofty itself) write a tag without a year so; strict parsing refuses it, but nothing
/// is damaged and nothing is dropped, so it is no warning.
fn id3v1_year_is_blank<R: Read + Seek>(reader: &mut R) -> bool {
    let mut tag = [0u8; 128];
    let read = reader
        .seek(SeekFrom::End(-128))
        .and_then(|_| reader.read_exact(&mut tag));
    read.is_ok() && tag.starts_with(b"TAG") && tag[93..97].iter().all(|b| *b == 0 || *b == b' ')
}

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
