//! ID3v2 tags in front of the audio: their length, and a structural check that mirrors
//! what the player's decoder (symphonia 0.5, inside rodio 0.23) refuses.
//!
//! lofty is lenient (it drops a frame it cannot read); symphonia 0.5 fails to open
//! the whole file when a frame overruns its tag, carries unknown flag bits or is
//! compressed. Whatever the server accepts the player must play, so these files
//! are refused at ingest instead of failing on the listener's machine.

use std::io::{self, Read, Take};

/// The 10-byte header of an ID3v2 tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TagHeader {
    pub major: u8,
    flags: u8,
    /// Bytes after the header, extended header included, footer excluded.
    pub body_len: u32,
}

pub(crate) const HEADER_LEN: usize = 10;

impl TagHeader {
    /// Parses the header at the start of `bytes`; `None` when it is not one.
    pub fn parse(bytes: &[u8]) -> Option<TagHeader> {
        let header = bytes.get(..HEADER_LEN)?;
        if &header[..3] != b"ID3" || header[3] == 0xFF || header[4] == 0xFF {
            return None;
        }
        let size = &header[6..10];
        if size.iter().any(|byte| byte & 0x80 != 0) {
            return None;
        }
        Some(TagHeader {
            major: header[3],
            flags: header[5],
            body_len: syncsafe(size),
        })
    }

    /// Whole tag in bytes: header, body and the optional ID3v2.4 footer.
    pub fn total_len(&self) -> u64 {
        let footer = if self.major >= 4 && self.flags & 0x10 != 0 {
            HEADER_LEN as u64
        } else {
            0
        };
        HEADER_LEN as u64 + u64::from(self.body_len) + footer
    }

    fn unsynchronised(&self) -> bool {
        self.flags & 0x80 != 0
    }
}

fn syncsafe(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0, |acc, byte| (acc << 7) | u32::from(byte & 0x7F))
}

/// The biggest frames of a tag, so the caller can keep the tag reader from
/// allocating them (lofty reads a frame whole, whatever its size).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LargestFrames {
    /// Largest picture frame (APIC, or PIC in v2.2), in bytes.
    pub picture: u32,
    /// Largest other frame: its id and size.
    pub other: Option<(String, u32)>,
}

impl LargestFrames {
    fn record(&mut self, id: &str, size: u32) {
        if id == "APIC" || id == "PIC" {
            self.picture = self.picture.max(size);
        } else if self
            .other
            .as_ref()
            .is_none_or(|(_, largest)| size > *largest)
        {
            self.other = Some((id.to_string(), size));
        }
    }
}

/// Walks every frame header of the tag whose body `reader` is positioned at, skipping
/// frame bodies without keeping them. Returns a sentence naming the first problem.
pub(crate) fn check_frames<R: Read>(
    reader: R,
    header: &TagHeader,
) -> Result<LargestFrames, String> {
    if !(2..=4).contains(&header.major) {
        return Err(format!(
            "it has an ID3v2.{} tag, a version no player supports",
            header.major
        ));
    }
    if header.major == 2 && header.flags & 0x40 != 0 {
        return Err("its ID3v2.2 tag is compressed, which the player cannot read".into());
    }
    let mut body = TagBody {
        raw: reader.take(u64::from(header.body_len)),
        // Before v2.4 unsynchronisation applies to the whole tag; v2.4 marks it per frame.
        unsync: header.unsynchronised() && header.major < 4,
        after_ff: false,
    };
    if header.major >= 3 && header.flags & 0x40 != 0 {
        skip_extended_header(&mut body, header.major)?;
    }
    let frame_header_len: u64 = if header.major == 2 { 6 } else { 10 };
    let mut largest = LargestFrames::default();
    loop {
        if let Some((id, size)) = check_frame(&mut body, header.major)? {
            largest.record(&id, size);
        }
        if body.raw.limit() < frame_header_len {
            return Ok(largest);
        }
    }
}

/// Checks one frame and returns its id and size; `Ok(None)` when padding starts
/// (the walk then stops at the next length check, since padding is not a frame id).
fn check_frame<R: Read>(body: &mut TagBody<R>, major: u8) -> Result<Option<(String, u32)>, String> {
    let id_len = if major == 2 { 3 } else { 4 };
    let mut id = [0u8; 4];
    body.read_exact(&mut id[..id_len])
        .map_err(|_| "its ID3v2 tag is too short to hold a frame".to_string())?;
    let id = &id[..id_len];
    if !id
        .iter()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        // Padding (or junk the decoder also treats as padding): nothing more to check.
        body.drain();
        return Ok(None);
    }
    let name = String::from_utf8_lossy(id).into_owned();
    let mut size_bytes = [0u8; 4];
    let size = match major {
        2 => {
            body.read_exact(&mut size_bytes[1..])
                .map_err(|_| truncated_header(&name))?;
            u32::from_be_bytes(size_bytes)
        }
        _ => {
            body.read_exact(&mut size_bytes)
                .map_err(|_| truncated_header(&name))?;
            let mut flag_bytes = [0u8; 2];
            body.read_exact(&mut flag_bytes)
                .map_err(|_| truncated_header(&name))?;
            check_frame_flags(&name, major, u16::from_be_bytes(flag_bytes))?;
            if major == 4 {
                syncsafe(&size_bytes)
            } else {
                u32::from_be_bytes(size_bytes)
            }
        }
    };
    let available = body.raw.limit();
    let skipped = io::copy(&mut body.by_ref().take(u64::from(size)), &mut io::sink())
        .map_err(|error| format!("reading its ID3v2 tag failed: {error}"))?;
    if skipped < u64::from(size) {
        return Err(format!(
            "its ID3v2 tag is corrupt: frame {name} claims {size} bytes but only {available} \
             remain in the tag"
        ));
    }
    Ok(Some((name, size)))
}

fn truncated_header(name: &str) -> String {
    format!("its ID3v2 tag is corrupt: it ends inside the header of frame {name}")
}

fn check_frame_flags(name: &str, major: u8, flags: u16) -> Result<(), String> {
    let (unknown, compressed, encrypted) = match major {
        3 => (0x1F1F, 0x0080, 0),
        _ => (0x8FB0, 0x0008, 0x0004),
    };
    if flags & unknown != 0 {
        return Err(format!(
            "its ID3v2 tag is corrupt: frame {name} sets undefined flag bits ({flags:#06x})"
        ));
    }
    if flags & (compressed | encrypted) != 0 {
        return Err(format!(
            "its ID3v2 frame {name} is compressed or encrypted, which the player cannot read"
        ));
    }
    Ok(())
}

fn skip_extended_header<R: Read>(body: &mut TagBody<R>, major: u8) -> Result<(), String> {
    let mut size_bytes = [0u8; 4];
    body.read_exact(&mut size_bytes)
        .map_err(|_| "its ID3v2 extended header is truncated".to_string())?;
    let rest = if major == 3 {
        // v2.3 counts the bytes after the size field and allows only two layouts.
        match u32::from_be_bytes(size_bytes) {
            size @ (6 | 10) => size,
            size => {
                return Err(format!(
                    "its ID3v2.3 extended header has an invalid size ({size} bytes)"
                ))
            }
        }
    } else {
        // v2.4 counts the whole extended header, size field included.
        syncsafe(&size_bytes)
            .checked_sub(4)
            .ok_or_else(|| "its ID3v2.4 extended header has an invalid size".to_string())?
    };
    let skipped = io::copy(&mut body.by_ref().take(u64::from(rest)), &mut io::sink())
        .map_err(|error| format!("reading its ID3v2 tag failed: {error}"))?;
    if skipped < u64::from(rest) {
        return Err("its ID3v2 extended header overruns the tag".into());
    }
    Ok(())
}

/// The tag body, bounded to the tag, undoing tag-wide unsynchronisation (a 0x00
/// stuffed after every 0xFF) when the tag uses it.
struct TagBody<R> {
    raw: Take<R>,
    unsync: bool,
    after_ff: bool,
}

impl<R: Read> TagBody<R> {
    fn drain(&mut self) {
        self.raw.set_limit(0);
    }
}

impl<R: Read> Read for TagBody<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let read = self.raw.read(buf)?;
            if read == 0 || !self.unsync {
                return Ok(read);
            }
            let mut kept = 0;
            for index in 0..read {
                let byte = buf[index];
                if !(self.after_ff && byte == 0) {
                    buf[kept] = byte;
                    kept += 1;
                }
                self.after_ff = byte == 0xFF;
            }
            if kept > 0 {
                return Ok(kept);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(major: u8, flags: u8, body: &[u8]) -> Vec<u8> {
        let len = body.len() as u32;
        let mut bytes = b"ID3".to_vec();
        bytes.extend([major, 0, flags]);
        bytes.extend([
            (len >> 21) as u8 & 0x7F,
            (len >> 14) as u8 & 0x7F,
            (len >> 7) as u8 & 0x7F,
            len as u8 & 0x7F,
        ]);
        bytes.extend(body);
        bytes
    }

    fn frame_v4(id: &[u8; 4], content: &[u8]) -> Vec<u8> {
        let len = content.len() as u32;
        let mut bytes = id.to_vec();
        bytes.extend([
            (len >> 21) as u8 & 0x7F,
            (len >> 14) as u8 & 0x7F,
            (len >> 7) as u8 & 0x7F,
            len as u8 & 0x7F,
        ]);
        bytes.extend([0, 0]);
        bytes.extend(content);
        bytes
    }

    fn check(bytes: &[u8]) -> Result<(), String> {
        let header = TagHeader::parse(bytes).expect("a header");
        check_frames(&bytes[HEADER_LEN..], &header).map(|_| ())
    }

    #[test]
    fn reports_the_largest_frames() {
        let mut body = frame_v4(b"TIT2", b"\x03Hello");
        body.extend(frame_v4(b"APIC", &[0; 300]));
        body.extend(frame_v4(b"GEOB", &[0; 200]));
        body.extend(frame_v4(b"APIC", &[0; 100]));
        body.extend([0; 8]);
        let bytes = tag(4, 0, &body);
        let header = TagHeader::parse(&bytes).unwrap();
        let largest = check_frames(&bytes[HEADER_LEN..], &header).unwrap();
        assert_eq!(largest.picture, 300);
        assert_eq!(largest.other, Some(("GEOB".to_string(), 200)));
    }

    #[test]
    fn header_lengths() {
        let bytes = tag(4, 0, &[0; 300]);
        let header = TagHeader::parse(&bytes).unwrap();
        assert_eq!(header.body_len, 300);
        assert_eq!(header.total_len(), 310);
        let with_footer = TagHeader::parse(&tag(4, 0x10, &[0; 20])).unwrap();
        assert_eq!(with_footer.total_len(), 40);
        // The footer flag means something else before v2.4.
        assert_eq!(
            TagHeader::parse(&tag(3, 0x10, &[0; 20]))
                .unwrap()
                .total_len(),
            30
        );
    }

    #[test]
    fn not_a_header() {
        assert!(TagHeader::parse(b"ID3").is_none());
        assert!(TagHeader::parse(b"ID3\x04\x00\x00\x00\x00\x80\x00").is_none());
        assert!(TagHeader::parse(b"ID3\xFF\x00\x00\x00\x00\x00\x00").is_none());
        assert!(TagHeader::parse(b"RIFF\x04\x00\x00\x00\x00\x00").is_none());
    }

    #[test]
    fn honest_tags_pass() {
        let mut body = frame_v4(b"TIT2", b"\x03Hello");
        body.extend(frame_v4(b"TPE1", b"\x03World"));
        body.extend([0; 64]);
        assert_eq!(check(&tag(4, 0, &body)), Ok(()));
        // A tag filled exactly by its frames, no padding.
        assert_eq!(check(&tag(4, 0, &frame_v4(b"TIT2", b"\x03x"))), Ok(()));
    }

    #[test]
    fn a_frame_overrunning_its_tag_is_refused() {
        let mut body = frame_v4(b"TIT2", b"\x03Bogus");
        body.extend(b"APIC\x5f\x7f\x7f\x7f\x00\x00\x00image/png\x00\x03\x00");
        body.extend([0; 40]);
        let error = check(&tag(4, 0, &body)).unwrap_err();
        assert!(
            error.contains("frame APIC claims 201326591 bytes"),
            "{error}"
        );
    }

    #[test]
    fn undefined_flags_and_compression_are_refused() {
        let mut frame = frame_v4(b"TIT2", b"\x03x");
        frame[9] = 0x08;
        let error = check(&tag(4, 0, &frame)).unwrap_err();
        assert!(error.contains("compressed"), "{error}");
        frame[9] = 0x20;
        let error = check(&tag(4, 0, &frame)).unwrap_err();
        assert!(error.contains("undefined flag"), "{error}");
    }

    #[test]
    fn v2_3_and_v2_2_frames() {
        let mut v3 = b"TIT2\x00\x00\x00\x04\x00\x00\x00abc".to_vec();
        v3.extend([0; 10]);
        assert_eq!(check(&tag(3, 0, &v3)), Ok(()));
        let overrun = b"TIT2\x00\x00\x01\x00\x00\x00\x00abc".to_vec();
        assert!(check(&tag(3, 0, &overrun)).is_err());
        let v2 = b"TT2\x00\x00\x04\x00abcTP1\x00\x00\x02\x00a".to_vec();
        assert_eq!(check(&tag(2, 0, &v2)), Ok(()));
        let v2_overrun = b"TT2\x00\x01\x00\x00abc".to_vec();
        assert!(check(&tag(2, 0, &v2_overrun)).is_err());
    }

    #[test]
    fn unsynchronised_v2_3_sizes_count_decoded_bytes() {
        // The raw content FF 00 E0 41 decodes to FF E0 41: three bytes, as the size says.
        let body = b"TIT2\x00\x00\x00\x03\x00\x00\xFF\x00\xE0\x41".to_vec();
        assert_eq!(check(&tag(3, 0x80, &body)), Ok(()));
        // Read raw, the same frame leaves one stray byte, too short for another frame.
        assert_eq!(check(&tag(3, 0, &body)), Ok(()));
        // A size counting raw bytes overruns once the stuffing is removed.
        let raw_counted = b"TIT2\x00\x00\x00\x04\x00\x00\xFF\x00\xE0\x41".to_vec();
        assert!(check(&tag(3, 0x80, &raw_counted)).is_err());
    }

    #[test]
    fn empty_tags_and_unknown_versions() {
        assert!(
            check(&tag(4, 0, &[])).is_err(),
            "the decoder reads one frame header"
        );
        assert_eq!(check(&tag(4, 0, &[0; 16])), Ok(()), "padding only");
        let error = check(&tag(5, 0, &[0; 16])).unwrap_err();
        assert!(error.contains("ID3v2.5"), "{error}");
    }

    #[test]
    fn extended_headers_are_skipped() {
        let mut v3 = b"\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00".to_vec();
        v3.extend(b"TIT2\x00\x00\x00\x02\x00\x00\x00a");
        assert_eq!(check(&tag(3, 0x40, &v3)), Ok(()));
        let bad = b"\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00".to_vec();
        assert!(check(&tag(3, 0x40, &bad)).is_err());
        let mut v4 = b"\x00\x00\x00\x06\x01\x00".to_vec();
        v4.extend(frame_v4(b"TIT2", b"\x03x"));
        assert_eq!(check(&tag(4, 0x40, &v4)), Ok(()));
    }
}
