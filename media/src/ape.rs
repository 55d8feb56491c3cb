//! A trailing APEv2 tag (mp3gain and foobar2000 append them to MP3s), and a view of the
//! file that ends before it.
//!
//! lofty reads an APE tag whole: one item it cannot decode fails the file in every
//! parsing mode, ID3v2 tag included. Shown the file without the APE tag, lofty reads
//! the audio and the other tags, so only the damaged tag is lost.

use std::io::{self, Read, Seek, SeekFrom};

use crate::integrity::read_window;

const PREAMBLE: &[u8; 8] = b"APETAGEX";
const FOOTER_LEN: u64 = 32;
/// An ID3v1 tag, which may follow the APE tag at the very end.
const ID3V1_LEN: u64 = 128;
/// Footer flag: a 32-byte header precedes the items.
const HAS_HEADER: u32 = 1 << 31;

/// Where an APEv2 tag at the end of the file (before an ID3v1 tag, if any) starts.
pub(crate) fn trailing_tag_start<R: Read + Seek>(
    reader: &mut R,
    file_len: u64,
) -> io::Result<Option<u64>> {
    let behind_id3v1 = file_len
        .checked_sub(ID3V1_LEN)
        .map(|start| read_window(reader, start, 3))
        .transpose()?
        .is_some_and(|head| head == b"TAG");
    let tag_end = if behind_id3v1 {
        file_len - ID3V1_LEN
    } else {
        file_len
    };
    let Some(footer_start) = tag_end.checked_sub(FOOTER_LEN) else {
        return Ok(None);
    };
    let footer = read_window(reader, footer_start, FOOTER_LEN as usize)?;
    if footer.len() < FOOTER_LEN as usize || &footer[..8] != PREAMBLE {
        return Ok(None);
    }
    let le32 = |at: usize| {
        u32::from_le_bytes([footer[at], footer[at + 1], footer[at + 2], footer[at + 3]])
    };
    // The size counts the items and the footer; the flags say whether a header precedes.
    let header = if le32(20) & HAS_HEADER != 0 {
        FOOTER_LEN
    } else {
        0
    };
    Ok(tag_end.checked_sub(u64::from(le32(12)) + header))
}

/// The first `len` bytes of `inner`, as a file of that length.
pub(crate) struct Prefix<'a, R> {
    inner: &'a mut R,
    len: u64,
    pos: u64,
}

impl<'a, R: Seek> Prefix<'a, R> {
    pub(crate) fn new(inner: &'a mut R, len: u64) -> io::Result<Self> {
        inner.seek(SeekFrom::Start(0))?;
        Ok(Prefix { inner, len, pos: 0 })
    }
}

impl<R: Read> Read for Prefix<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.len.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let wanted = buf.len().min(left);
        let read = self.inner.read(&mut buf[..wanted])?;
        self.pos += read as u64;
        Ok(read)
    }
}

impl<R: Seek> Seek for Prefix<'_, R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.inner.seek(SeekFrom::Start(target))?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn footer(size: u32, flags: u32) -> Vec<u8> {
        let mut footer = PREAMBLE.to_vec();
        for field in [2000, size, 1, flags] {
            footer.extend_from_slice(&u32::to_le_bytes(field));
        }
        footer.extend_from_slice(&[0; 8]);
        footer
    }

    #[test]
    fn finds_the_tag_with_or_without_header_and_behind_id3v1() {
        let audio = vec![0xFFu8; 100];
        let items = vec![b'x'; 20];
        let mut with_header = audio.clone();
        with_header.extend(footer(52, HAS_HEADER)); // the header: a footer's twin
        with_header.extend(&items);
        with_header.extend(footer(52, HAS_HEADER));
        let len = with_header.len() as u64;
        let mut cursor = Cursor::new(with_header.clone());
        assert_eq!(trailing_tag_start(&mut cursor, len).unwrap(), Some(100));

        let mut bare = audio.clone();
        bare.extend(&items);
        bare.extend(footer(52, 0));
        bare.extend(b"TAG");
        bare.extend([0u8; 125]);
        let len = bare.len() as u64;
        assert_eq!(
            trailing_tag_start(&mut Cursor::new(bare), len).unwrap(),
            Some(100)
        );

        let len = audio.len() as u64;
        assert_eq!(
            trailing_tag_start(&mut Cursor::new(audio), len).unwrap(),
            None
        );
    }

    #[test]
    fn a_prefix_reads_and_seeks_like_a_shorter_file() {
        let mut inner = Cursor::new((0u8..50).collect::<Vec<u8>>());
        let mut prefix = Prefix::new(&mut inner, 10).unwrap();
        let mut all = Vec::new();
        prefix.read_to_end(&mut all).unwrap();
        assert_eq!(all, (0u8..10).collect::<Vec<u8>>());
        assert_eq!(prefix.seek(SeekFrom::End(-3)).unwrap(), 7);
        let mut tail = Vec::new();
        prefix.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, [7, 8, 9]);
        assert!(prefix.seek(SeekFrom::Current(-11)).is_err());
    }
}
