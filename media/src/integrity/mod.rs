//! Structural checks the tag readers skip: is the file complete, and will the
//! player's decoder open it? Each check reads headers and at most a bounded window,
//! never the audio into memory.
//!
//! A file cut short usually still has headers that promise its full length (a Xing
//! frame count, FLAC's total samples, a WAV data size), so tag readers report a
//! duration the file cannot play. These checks compare promise and content.

mod adts;
mod aiff;
mod flac;
mod mp4;
mod mpeg;
mod ogg;
mod wav;

use std::io::{self, Read, Seek, SeekFrom};

pub(crate) use flac::CUESHEET;

use crate::error::MediaError;
use crate::id3v2::{self, TagHeader};
use crate::probe::MAX_TAG_ITEM_BYTES;
use crate::sniff::Container;
use crate::warning::Warning;

/// What the structural check measured on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Findings {
    /// Length of an MPEG stream counted frame by frame, when that is the length to
    /// store: there is no Xing/VBRI header (lofty would estimate from the first frame's
    /// bitrate) or the header disagrees with the frames.
    pub counted_duration_ms: Option<u64>,
    /// Average bitrate of that stream (lofty reports the first frame's).
    pub counted_bitrate_kbps: Option<u32>,
    /// A picture is too big to read: read the tags without cover art.
    pub skip_cover_art: bool,
    /// Bytes of the ID3v2 tag in front of the audio (0 without one).
    pub leading_tag_len: u64,
    /// What is wrong without keeping the file out (a header promising more audio).
    pub warnings: Vec<Warning>,
}

/// Checks the structure of an accepted container. `reader` may be anywhere.
pub(crate) fn check<R: Read + Seek>(
    reader: &mut R,
    container: Container,
    file_len: u64,
) -> Result<Findings, MediaError> {
    let (audio_start, huge_id3_picture) = check_leading_id3(reader, file_len)?;
    let nothing = |result: Result<(), MediaError>| result.map(|()| Findings::default());
    let findings = match container {
        Container::Mpeg => mpeg::check(reader, audio_start, file_len),
        Container::Flac => flac::check(reader, audio_start, file_len),
        Container::OggVorbis | Container::OggOpus => nothing(ogg::check(reader, file_len)),
        Container::Wav => nothing(wav::check(reader, file_len)),
        Container::Aiff => nothing(aiff::check(reader, file_len)),
        Container::Adts => adts::check(reader, audio_start, file_len),
        Container::Mp4 => nothing(mp4::check(reader, file_len)),
        other => Err(MediaError::unsupported(
            other.name(),
            other.refusal().unwrap_or("the player cannot decode it"),
        )),
    }?;
    Ok(Findings {
        skip_cover_art: findings.skip_cover_art || huge_id3_picture,
        leading_tag_len: audio_start,
        ..findings
    })
}

/// Validates an ID3v2 tag at the start of the file, if any. Returns where the data
/// after it begins and whether it holds a picture too big to read.
fn check_leading_id3<R: Read + Seek>(
    reader: &mut R,
    file_len: u64,
) -> Result<(u64, bool), MediaError> {
    reader.seek(SeekFrom::Start(0))?;
    let mut header_bytes = [0u8; id3v2::HEADER_LEN];
    let Ok(()) = reader.read_exact(&mut header_bytes) else {
        return Ok((0, false));
    };
    let Some(header) = TagHeader::parse(&header_bytes) else {
        return Ok((0, false));
    };
    let tag_len = header.total_len();
    if tag_len >= file_len {
        return Err(MediaError::unreadable(format!(
            "its ID3v2 tag header claims {tag_len} bytes but the whole file has {file_len}, so \
             no audio is left: the tag is corrupt or the file was cut short; rewrite the tags \
             with a tag editor or copy the file again"
        )));
    }
    let largest = id3v2::check_frames(&mut *reader, &header).map_err(|problem| {
        MediaError::unreadable(format!(
            "{problem}; the player would refuse to open it, so remove or rewrite the tags \
             with a tag editor and try again"
        ))
    })?;
    if let Some((id, size)) = largest.other {
        if size as usize > MAX_TAG_ITEM_BYTES {
            return Err(too_big_tag_item(&format!("ID3v2 frame {id}"), size.into()));
        }
    }
    Ok((tag_len, largest.picture as usize > MAX_TAG_ITEM_BYTES))
}

/// A tag item Cadenza will not read into memory.
pub(crate) fn too_big_tag_item(what: &str, size: u64) -> MediaError {
    MediaError::unreadable(format!(
        "its {what} holds {size} bytes, more than the {} MiB Cadenza reads from a tag; \
         remove that item with a tag editor and try again",
        MAX_TAG_ITEM_BYTES / (1024 * 1024)
    ))
}

/// "cut short" message shared by the format checks.
pub(crate) fn truncated(what: impl std::fmt::Display) -> MediaError {
    MediaError::unreadable(format!(
        "the file is truncated: {what}; it was probably cut off while copying or \
         downloading, so copy or download it again"
    ))
}

/// Byte order of the chunk sizes of an IFF-style file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    /// RIFF (WAV).
    Little,
    /// AIFF.
    Big,
}

/// Walks the chunks of a RIFF or AIFF file after its 12-byte form header, handing each
/// chunk's id and length to `each` with `reader` at the chunk's body. A chunk that runs
/// past the end of the file means the file is truncated.
pub(crate) fn walk_chunks<R: Read + Seek>(
    reader: &mut R,
    file_len: u64,
    order: ByteOrder,
    mut each: impl FnMut(&mut R, [u8; 4], u64) -> Result<(), MediaError>,
) -> Result<(), MediaError> {
    let mut position = 12;
    while position + 8 <= file_len {
        reader.seek(SeekFrom::Start(position))?;
        let mut header = [0u8; 8];
        reader.read_exact(&mut header)?;
        let id = [header[0], header[1], header[2], header[3]];
        let size = [header[4], header[5], header[6], header[7]];
        let len = u64::from(match order {
            ByteOrder::Little => u32::from_le_bytes(size),
            ByteOrder::Big => u32::from_be_bytes(size),
        });
        let end = position + 8 + len;
        if end > file_len {
            let name = String::from_utf8_lossy(&id).trim_end().to_string();
            return Err(truncated(format!(
                "its {name:?} chunk claims {len} bytes but only {} are present (or the tool \
                 that wrote it never finalised its header)",
                file_len - position - 8
            )));
        }
        each(reader, id, len)?;
        // Chunks are padded to an even length.
        position = end + (len & 1);
    }
    Ok(())
}

/// Reads up to `len` bytes starting at `offset` (fewer at the end of the file).
pub(crate) fn read_window<R: Read + Seek>(
    reader: &mut R,
    offset: u64,
    len: usize,
) -> io::Result<Vec<u8>> {
    reader.seek(SeekFrom::Start(offset))?;
    let mut window = Vec::with_capacity(len);
    reader.take(len as u64).read_to_end(&mut window)?;
    Ok(window)
}

/// Skips `len` bytes of a sequential reader; returns how many were there.
pub(crate) fn skip<R: Read>(reader: &mut R, len: u64) -> io::Result<u64> {
    io::copy(&mut reader.take(len), &mut io::sink())
}
