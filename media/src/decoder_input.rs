//! What the player's decoder is shown of a file: the stored bytes, except what symphonia
//! 0.5 would refuse although the audio is intact. The server's playability check and the
//! player both open files through [`DecoderInput`], so they agree on what plays, and the
//! stored bytes never change (their hash is the song's identity).
//!
//! Hidden today: the FLAC metadata blocks playback never uses but symphonia 0.5 parses,
//! refusing the whole file when one is damaged. A CUESHEET is validated strictly (a CD-DA
//! track offset must be a multiple of 588 samples, reserved bits zero, ...), and CD rippers
//! write sheets that fail; a broken VORBIS_COMMENT or PICTURE block fails it too, though
//! the catalog, not the stream, holds the song's tags and cover. The decoder sees each
//! such block as a PADDING block of the same length: one byte changes, nothing moves.

use std::io::{self, Read, Seek, SeekFrom};

use symphonia::core::io::MediaSource;

use crate::id3v2::TagHeader;
use crate::integrity::CUESHEET;

/// Metadata block type the decoder skips unread.
const PADDING: u8 = 1;
/// Metadata block types playback does not need, shown as padding.
const UNUSED_BY_PLAYBACK: [u8; 3] = [VORBIS_COMMENT, CUESHEET, PICTURE];
const VORBIS_COMMENT: u8 = 4;
const PICTURE: u8 = 6;
/// Metadata blocks looked at before giving up (a real file has a handful).
const MAX_BLOCKS: usize = 1024;

/// `Read + Seek` (and symphonia's `MediaSource`) over a file as the decoder should see it.
pub struct DecoderInput<R> {
    inner: R,
    /// Where the view starts in `inner`.
    start: u64,
    /// Length of the view.
    len: u64,
    /// Position in the view.
    pos: u64,
    /// View offsets of the metadata block headers shown as PADDING.
    hidden: Vec<u64>,
}

impl<R: Read + Seek> DecoderInput<R> {
    /// The whole of `inner`.
    pub fn new(inner: R) -> io::Result<Self> {
        Self::from_offset(inner, 0)
    }

    /// `inner` from byte `start` on, as if the bytes before it were not there (the server
    /// starts past an ID3v2 tag too big to hand over).
    pub fn from_offset(mut inner: R, start: u64) -> io::Result<Self> {
        let end = inner.seek(SeekFrom::End(0))?;
        let len = end.saturating_sub(start);
        let hidden = unused_block_headers(&mut inner, start, len)?;
        inner.seek(SeekFrom::Start(start))?;
        Ok(DecoderInput {
            inner,
            start,
            len,
            pos: 0,
            hidden,
        })
    }
}

/// View offsets of the headers of the blocks playback does not need in a FLAC stream at
/// `start` (behind an ID3v2 tag, if there is one); none for anything else.
fn unused_block_headers<R: Read + Seek>(
    inner: &mut R,
    start: u64,
    len: u64,
) -> io::Result<Vec<u64>> {
    let mut head = [0u8; 10];
    let read_at = |inner: &mut R, at: u64, buf: &mut [u8]| -> io::Result<bool> {
        if at + buf.len() as u64 > len {
            return Ok(false);
        }
        inner.seek(SeekFrom::Start(start + at))?;
        inner.read_exact(buf).map(|()| true)
    };
    let mut at = 0;
    if read_at(inner, 0, &mut head)? {
        if let Some(tag) = TagHeader::parse(&head) {
            at = tag.total_len();
        }
    }
    let mut magic = [0u8; 4];
    if !read_at(inner, at, &mut magic)? || &magic != b"fLaC" {
        return Ok(Vec::new());
    }
    at += 4;
    let mut hidden = Vec::new();
    let mut header = [0u8; 4];
    for _ in 0..MAX_BLOCKS {
        if !read_at(inner, at, &mut header)? {
            break;
        }
        if UNUSED_BY_PLAYBACK.contains(&(header[0] & 0x7F)) {
            hidden.push(at);
        }
        if header[0] & 0x80 != 0 {
            break;
        }
        at += 4 + u64::from(u32::from_be_bytes([0, header[1], header[2], header[3]]));
    }
    Ok(hidden)
}

impl<R: Read> Read for DecoderInput<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        let range = self.pos..self.pos + read as u64;
        for &at in self.hidden.iter().filter(|at| range.contains(at)) {
            let byte = &mut buf[(at - self.pos) as usize];
            // Keep the "last block" bit.
            *byte = (*byte & 0x80) | PADDING;
        }
        self.pos = range.end;
        Ok(read)
    }
}

impl<R: Seek> Seek for DecoderInput<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(offset) => SeekFrom::Start(self.start + offset),
            other => other,
        };
        let position = self.inner.seek(target)?;
        self.pos = position.checked_sub(self.start).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the audio",
            )
        })?;
        Ok(self.pos)
    }
}

impl<R: Read + Seek + Send + Sync> MediaSource for DecoderInput<R> {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn block(kind: u8, last: bool, body: &[u8]) -> Vec<u8> {
        let mut bytes = vec![kind | if last { 0x80 } else { 0 }];
        bytes.extend(&(body.len() as u32).to_be_bytes()[1..]);
        bytes.extend(body);
        bytes
    }

    fn flac() -> Vec<u8> {
        let mut bytes = b"fLaC".to_vec();
        bytes.extend(block(0, false, &[0x11; 34]));
        bytes.extend(block(CUESHEET, false, &[0x22; 40]));
        bytes.extend(block(2, false, &[0x33; 8])); // APPLICATION
        bytes.extend(block(VORBIS_COMMENT, false, &[0x66; 4]));
        bytes.extend(block(CUESHEET, true, &[0x44; 12]));
        bytes.extend([0xFF, 0xF8, 0x55, 0x55]);
        bytes
    }

    fn read_all<R: Read>(mut reader: R) -> Vec<u8> {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn cue_sheets_and_tags_show_as_padding_and_nothing_else_changes() {
        let stored = flac();
        let shown = read_all(DecoderInput::new(Cursor::new(stored.clone())).unwrap());
        let headers = [4 + 38, 4 + 38 + 44 + 12, 4 + 38 + 44 + 12 + 8];
        assert_eq!(shown.len(), stored.len());
        for (at, (a, b)) in stored.iter().zip(&shown).enumerate() {
            if headers.contains(&at) {
                assert_eq!(*b, (a & 0x80) | PADDING, "byte {at}");
            } else {
                assert_eq!(a, b, "byte {at}");
            }
        }
        assert_eq!(shown[headers[2]], 0x80 | PADDING, "still the last block");
    }

    #[test]
    fn the_header_is_hidden_whatever_the_read_sizes() {
        let stored = flac();
        let whole = read_all(DecoderInput::new(Cursor::new(stored.clone())).unwrap());
        let mut input = DecoderInput::new(Cursor::new(stored)).unwrap();
        let mut bytewise = Vec::new();
        let mut byte = [0u8; 1];
        while input.read(&mut byte).unwrap() == 1 {
            bytewise.push(byte[0]);
        }
        assert_eq!(bytewise, whole);
        input.seek(SeekFrom::Start(40)).unwrap();
        let mut three = [0u8; 3];
        input.read_exact(&mut three).unwrap();
        assert_eq!(three, whole[40..43]);
    }

    #[test]
    fn a_cue_sheet_behind_an_id3_tag_is_found_and_other_files_pass_unchanged() {
        let mut tagged = b"ID3\x04\x00\x00\x00\x00\x00\x05".to_vec();
        tagged.extend([0; 5]);
        tagged.extend(flac());
        let shown = read_all(DecoderInput::new(Cursor::new(tagged.clone())).unwrap());
        assert_eq!(shown[15 + 42], PADDING);
        let mp3 = vec![0xFF, 0xFB, 0x90, 0x64, 5, 0, 0x85];
        assert_eq!(
            read_all(DecoderInput::new(Cursor::new(mp3.clone())).unwrap()),
            mp3
        );
    }

    #[test]
    fn a_window_hides_the_bytes_before_its_start() {
        let mut window = DecoderInput::from_offset(Cursor::new(b"0123456789".to_vec()), 4).unwrap();
        let mut text = String::new();
        window.read_to_string(&mut text).unwrap();
        assert_eq!(text, "456789");
        assert_eq!(window.seek(SeekFrom::Start(1)).unwrap(), 1);
        assert_eq!(window.seek(SeekFrom::End(-1)).unwrap(), 5);
        assert_eq!(window.seek(SeekFrom::Current(-2)).unwrap(), 3);
        assert!(window.seek(SeekFrom::Current(-10)).is_err());
        assert_eq!(window.byte_len(), Some(6));
    }
}
