//! ISO base media (MP4/M4A): every top-level box must fit in the file, there must be
//! a `moov` index, and there must be sound. Video files are refused: Cadenza stores
//! songs, and a film's audio track should be extracted first.

use std::io::{Read, Seek, SeekFrom};

use super::truncated;
use crate::error::MediaError;

/// Brands of audio-only files; their video tracks, if any, are chapter pictures.
const AUDIO_BRANDS: [&[u8; 4]; 4] = [b"M4A ", b"M4B ", b"M4P ", b"F4A "];
/// Nesting we descend into to find track handlers; deeper boxes are never needed.
const HANDLER_PATH: [&[u8; 4]; 3] = [b"moov", b"trak", b"mdia"];

#[derive(Debug, Clone, Copy)]
struct BoxHeader {
    kind: [u8; 4],
    /// Offset of the box content.
    body: u64,
    /// Offset just past the box.
    end: u64,
}

pub(super) fn check<R: Read + Seek>(reader: &mut R, file_len: u64) -> Result<(), MediaError> {
    let mut brand = None;
    let mut moov = None;
    let mut position = 0;
    while position < file_len {
        let header = read_box(reader, position, file_len)?.ok_or_else(|| {
            MediaError::unreadable("an MP4 box header is damaged; re-export the file")
        })?;
        if header.end > file_len {
            let kind = String::from_utf8_lossy(&header.kind).into_owned();
            return Err(truncated(format!(
                "its {kind:?} box claims {} bytes but only {} are present",
                header.end - position,
                file_len - position
            )));
        }
        match &header.kind {
            b"ftyp" => {
                reader.seek(SeekFrom::Start(header.body))?;
                let mut major = [0u8; 4];
                reader.read_exact(&mut major)?;
                brand = Some(major);
            }
            b"moov" => moov = Some(header),
            _ => {}
        }
        position = header.end;
    }
    let Some(moov) = moov else {
        return Err(MediaError::unreadable(
            "the MP4 file has no \"moov\" index, so nothing can play it (an interrupted \
             recording or export leaves files like this); export it again",
        ));
    };
    let mut handlers = Vec::new();
    collect_handlers(reader, moov, 1, &mut handlers)?;
    if !handlers.iter().any(|handler| handler == b"soun") {
        return Err(MediaError::NotAudio {
            detail: "an MP4 file without any audio track (a video or image sequence)".into(),
        });
    }
    let audio_brand = brand.is_some_and(|brand| AUDIO_BRANDS.contains(&&brand));
    if handlers.iter().any(|handler| handler == b"vide") && !audio_brand {
        return Err(MediaError::unsupported(
            "MP4 video",
            "Cadenza stores audio only; extract the sound without re-encoding, e.g. \
             `ffmpeg -i INPUT -vn -c:a copy OUTPUT.m4a`, and upload that",
        ));
    }
    Ok(())
}

/// Reads the header of the box at `position`; `None` when it is malformed.
fn read_box<R: Read + Seek>(
    reader: &mut R,
    position: u64,
    limit: u64,
) -> Result<Option<BoxHeader>, MediaError> {
    reader.seek(SeekFrom::Start(position))?;
    let mut header = [0u8; 8];
    if reader.read_exact(&mut header).is_err() {
        return Err(truncated("it ends inside an MP4 box header"));
    }
    let size = u64::from(u32::from_be_bytes([
        header[0], header[1], header[2], header[3],
    ]));
    let kind = [header[4], header[5], header[6], header[7]];
    let (body, end) = match size {
        // Runs to the end of its parent.
        0 => (position + 8, limit),
        1 => {
            let mut large = [0u8; 8];
            if reader.read_exact(&mut large).is_err() {
                return Err(truncated("it ends inside an MP4 box header"));
            }
            let large = u64::from_be_bytes(large);
            if large < 16 {
                return Ok(None);
            }
            (position + 16, position.saturating_add(large))
        }
        2..=7 => return Ok(None),
        _ => (position + 8, position + size),
    };
    Ok(Some(BoxHeader { kind, body, end }))
}

/// Handler types (`soun`, `vide`, ...) of the tracks in `parent`.
fn collect_handlers<R: Read + Seek>(
    reader: &mut R,
    parent: BoxHeader,
    depth: usize,
    handlers: &mut Vec<[u8; 4]>,
) -> Result<(), MediaError> {
    let mut position = parent.body;
    while position + 8 <= parent.end {
        let Some(child) = read_box(reader, position, parent.end)? else {
            return Ok(());
        };
        if child.end > parent.end {
            return Err(MediaError::unreadable(
                "an MP4 box overruns its parent; the file is damaged, export it again",
            ));
        }
        if depth < HANDLER_PATH.len() && &child.kind == HANDLER_PATH[depth] {
            collect_handlers(reader, child, depth + 1, handlers)?;
        } else if depth == HANDLER_PATH.len() && &child.kind == b"hdlr" {
            // version/flags (4), pre-defined (4), handler type (4).
            reader.seek(SeekFrom::Start(child.body + 8))?;
            let mut handler = [0u8; 4];
            if reader.read_exact(&mut handler).is_ok() {
                handlers.push(handler);
            }
        }
        position = child.end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn boxed(kind: &[u8; 4], content: &[u8]) -> Vec<u8> {
        let mut bytes = ((content.len() + 8) as u32).to_be_bytes().to_vec();
        bytes.extend(kind);
        bytes.extend(content);
        bytes
    }

    fn track(handler: &[u8; 4]) -> Vec<u8> {
        let mut hdlr = vec![0; 8];
        hdlr.extend(handler);
        hdlr.extend([0; 12]);
        boxed(b"trak", &boxed(b"mdia", &boxed(b"hdlr", &hdlr)))
    }

    fn mp4(brand: &[u8; 4], tracks: &[&[u8; 4]], mdat: usize) -> Vec<u8> {
        let mut ftyp = brand.to_vec();
        ftyp.extend([0; 4]);
        let mut bytes = boxed(b"ftyp", &ftyp);
        let traks: Vec<u8> = tracks.iter().flat_map(|handler| track(handler)).collect();
        bytes.extend(boxed(b"moov", &traks));
        bytes.extend(boxed(b"mdat", &vec![0; mdat]));
        bytes
    }

    fn check_bytes(bytes: &[u8]) -> Result<(), MediaError> {
        check(&mut Cursor::new(bytes), bytes.len() as u64)
    }

    #[test]
    fn audio_passes() {
        assert!(check_bytes(&mp4(b"M4A ", &[b"soun"], 100)).is_ok());
        // Chapter pictures in an audiobook/podcast are a video track, yet audio.
        assert!(check_bytes(&mp4(b"M4B ", &[b"soun", b"vide"], 100)).is_ok());
        assert!(check_bytes(&mp4(b"isom", &[b"soun"], 100)).is_ok());
    }

    #[test]
    fn video_is_refused() {
        let error = check_bytes(&mp4(b"isom", &[b"vide", b"soun"], 10)).unwrap_err();
        assert_eq!(error.code(), "unsupported_format");
        assert!(error.to_string().contains("-vn"), "{error}");
        let silent = check_bytes(&mp4(b"isom", &[b"vide"], 10)).unwrap_err();
        assert_eq!(silent.code(), "not_audio");
    }

    #[test]
    fn truncated_and_indexless_files() {
        let whole = mp4(b"M4A ", &[b"soun"], 1000);
        let error = check_bytes(&whole[..whole.len() - 500]).unwrap_err();
        assert!(
            error.to_string().contains("\"mdat\" box claims 1008 bytes"),
            "{error}"
        );
        let mut no_moov = boxed(b"ftyp", b"M4A \x00\x00\x00\x00");
        no_moov.extend(boxed(b"mdat", &[0; 50]));
        let error = check_bytes(&no_moov).unwrap_err();
        assert!(error.to_string().contains("moov"), "{error}");
    }

    #[test]
    fn size_zero_box_runs_to_the_end() {
        let mut bytes = mp4(b"M4A ", &[b"soun"], 0);
        let mdat_at = bytes.len() - 8;
        bytes[mdat_at..mdat_at + 4].copy_from_slice(&[0, 0, 0, 0]);
        bytes.extend([0; 64]);
        assert!(check_bytes(&bytes).is_ok());
    }
}
