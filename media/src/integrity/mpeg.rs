//! MPEG audio: walks the stream frame by frame (headers only) and compares the
//! frames present with what the Xing/Info or VBRI header promises. The frames win: a
//! file is catalogued with the length it plays, and a header that disagrees is reported
//! ("truncated" when most of the promised audio is missing).

use std::io::{self, Read, Seek, SeekFrom};

use super::{read_window, skip, truncated, Findings};
use crate::error::MediaError;
use crate::mpeg::{read_summary, FrameHeader, Layer};
use crate::sniff::find_mpeg_stream;
use crate::warning::{Warning, WarningCode};

/// How much to read when looking for the first frame or for lost sync.
const WINDOW: usize = 64 * 1024;
/// Junk regions skipped before the walk gives up on a damaged stream.
const MAX_RESYNCS: u32 = 32;
/// Frames an honest encoder's count may disagree with the stream by (LAME counts
/// exactly; a cut through the very last frame loses one).
const TOLERATED_FRAMES: u64 = 2;

pub(super) fn check<R: Read + Seek>(
    reader: &mut R,
    audio_start: u64,
    file_len: u64,
) -> Result<Findings, MediaError> {
    let window = read_window(reader, audio_start, WINDOW)?;
    let Some((offset, first)) = first_frame(&window) else {
        let after_tag = if audio_start > 0 {
            " after its ID3v2 tag"
        } else {
            ""
        };
        return Err(MediaError::unreadable(format!(
            "no MPEG audio frames were found{after_tag}; the file is damaged or is not \
             really an MP3"
        )));
    };
    if first.layer == Layer::One {
        return Err(MediaError::unsupported(
            "MPEG Layer I (MP1)",
            "the player decodes MPEG Layers II and III (MP2, MP3) only; convert it, e.g. \
             `ffmpeg -i INPUT -c:a libmp3lame -q:a 2 OUTPUT.mp3`",
        ));
    }
    let summary = window
        .get(offset..offset + first.length)
        .and_then(|frame| read_summary(&first, frame));
    let walk = walk(reader, audio_start + offset as u64, file_len, &first)?;
    // The frame holding the Xing/VBRI header is silent and not in its count.
    let audio_frames = walk.frames - u64::from(summary.is_some());
    if audio_frames == 0 {
        return Err(truncated("it holds no complete MPEG audio frame"));
    }
    let millis =
        |frames: u64| frames * u64::from(first.samples()) * 1000 / u64::from(first.sample_rate);
    let counted_ms = millis(audio_frames);
    // The frames are what plays, so their length is the one to store, whatever a header
    // says. Where a header agrees with them, lofty's figure from it is kept: it also
    // knows the encoder delay and padding.
    let counted = Findings {
        counted_duration_ms: Some(counted_ms),
        counted_bitrate_kbps: (counted_ms > 0)
            .then(|| u32::try_from(walk.bytes * 8 / counted_ms).unwrap_or(u32::MAX)),
        ..Findings::default()
    };
    let Some(promised) = summary.and_then(|summary| summary.frames) else {
        // Without a frame count a shorter stream is indistinguishable from a shorter song.
        return Ok(counted);
    };
    let promised = u64::from(promised);
    if audio_frames.abs_diff(promised) <= TOLERATED_FRAMES {
        return Ok(Findings::default());
    }
    let stored = format!("the {counted_ms} ms of audio present are catalogued");
    let warning = if audio_frames > promised {
        Warning::new(
            WarningCode::LengthMismatch,
            format!(
                "its Xing/VBRI header says {} ms but its frames hold {counted_ms} ms (often \
                 files joined without rewriting the header): {stored}; re-encode or fix the \
                 header (e.g. `vbrfix`) to silence this",
                millis(promised)
            ),
        )
    } else {
        let code = if audio_frames * 2 < promised {
            WarningCode::Truncated
        } else {
            WarningCode::LengthMismatch
        };
        let (what, cause) = match walk.lost_sync_at {
            Some(at) => (
                "the MPEG stream is damaged",
                format!("the rest, from byte {at} on, is not audio"),
            ),
            None => (
                "the file is truncated",
                "it was probably cut off while copying or downloading".to_string(),
            ),
        };
        let what = if code == WarningCode::Truncated {
            what
        } else {
            "part of the promised audio is missing"
        };
        Warning::new(
            code,
            format!(
                "{what}: its header promises {promised} MPEG frames ({} ms) but only \
                 {audio_frames} ({counted_ms} ms) are there and {cause}; {stored}. Copy it \
                 again or re-encode it from the source",
                millis(promised)
            ),
        )
    };
    Ok(Findings {
        warnings: vec![warning],
        ..counted
    })
}

fn first_frame(window: &[u8]) -> Option<(usize, FrameHeader)> {
    let offset = find_mpeg_stream(window)?;
    Some((offset, FrameHeader::parse(&window[offset..])?))
}

struct Walk {
    /// Complete frames, the Xing/VBRI frame included.
    frames: u64,
    /// Their bytes.
    bytes: u64,
    /// Where the stream stopped making sense before the end of the file (tags at the
    /// end, such as ID3v1 or APE, also stop it; that is harmless).
    lost_sync_at: Option<u64>,
}

fn walk<R: Read + Seek>(
    reader: &mut R,
    start: u64,
    file_len: u64,
    first: &FrameHeader,
) -> io::Result<Walk> {
    reader.seek(SeekFrom::Start(start))?;
    let mut position = start;
    let mut frames = 0;
    let mut bytes_walked = 0;
    let mut resyncs = 0;
    loop {
        if position + 4 > file_len {
            return Ok(Walk {
                frames,
                bytes: bytes_walked,
                lost_sync_at: None,
            });
        }
        let mut bytes = [0u8; 4];
        reader.read_exact(&mut bytes)?;
        match FrameHeader::parse(&bytes) {
            Some(header) if first.same_stream(&header) => {
                let end = position + header.length as u64;
                if end > file_len {
                    // The last frame is cut: the file ends inside it.
                    return Ok(Walk {
                        frames,
                        bytes: bytes_walked,
                        lost_sync_at: None,
                    });
                }
                skip(reader, header.length as u64 - 4)?;
                position = end;
                frames += 1;
                bytes_walked += header.length as u64;
            }
            _ => {
                let found = if resyncs < MAX_RESYNCS {
                    resyncs += 1;
                    resync(reader, position, first)?
                } else {
                    None
                };
                match found {
                    Some(next) => {
                        position = next;
                        reader.seek(SeekFrom::Start(position))?;
                    }
                    None => {
                        return Ok(Walk {
                            frames,
                            bytes: bytes_walked,
                            lost_sync_at: Some(position),
                        })
                    }
                }
            }
        }
    }
}

/// Looks for the stream again after junk at `position`.
fn resync<R: Read + Seek>(
    reader: &mut R,
    position: u64,
    first: &FrameHeader,
) -> io::Result<Option<u64>> {
    let window = read_window(reader, position + 1, WINDOW)?;
    Ok(first_frame(&window)
        .filter(|(_, header)| first.same_stream(header))
        .map(|(offset, _)| position + 1 + offset as u64))
}
