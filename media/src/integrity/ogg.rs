//! Ogg: the last page must be whole. A copy cut at an arbitrary byte almost always
//! ends inside a page; Ogg's per-page CRC tells a whole page from a torn one.

use std::io::{Read, Seek};

use symphonia::core::checksum::Crc32;
use symphonia::core::io::Monitor;

use super::{read_window, truncated};
use crate::error::MediaError;

const PAGE_HEADER: usize = 27;
/// The largest possible page: header, 255 lacing values, 255 × 255 bytes of data.
const MAX_PAGE: usize = PAGE_HEADER + 255 + 255 * 255;

pub(super) fn check<R: Read + Seek>(reader: &mut R, file_len: u64) -> Result<(), MediaError> {
    let tail_start = file_len.saturating_sub(2 * MAX_PAGE as u64);
    let tail = read_window(reader, tail_start, (file_len - tail_start) as usize)?;
    match last_whole_page_end(&tail) {
        None => Err(truncated("it holds no complete Ogg page near its end")),
        Some(end) if tail[end..].starts_with(b"OggS") => Err(truncated(format!(
            "its last Ogg page is incomplete ({} bytes of it are present)",
            tail.len() - end
        ))),
        // Other bytes after the last page (an appended ID3v1 tag, say) are ignored
        // by every Ogg reader.
        Some(_) => Ok(()),
    }
}

/// End offset in `tail` of the last page that is complete and whose CRC matches.
fn last_whole_page_end(tail: &[u8]) -> Option<usize> {
    (0..tail.len())
        .rev()
        .filter(|&at| tail[at..].starts_with(b"OggS"))
        .find_map(|at| whole_page_len(&tail[at..]).map(|len| at + len))
}

fn whole_page_len(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < PAGE_HEADER || bytes[4] != 0 {
        return None;
    }
    let segments = usize::from(bytes[26]);
    let lacing = bytes.get(PAGE_HEADER..PAGE_HEADER + segments)?;
    let len = PAGE_HEADER + segments + lacing.iter().map(|&l| usize::from(l)).sum::<usize>();
    let page = bytes.get(..len)?;
    let stored = u32::from_le_bytes([page[22], page[23], page[24], page[25]]);
    (page_crc(page) == stored).then_some(len)
}

/// Where a page header keeps its CRC.
const CRC_FIELD: std::ops::Range<usize> = 22..26;

/// Ogg's CRC-32 (polynomial 0x04C11DB7, initial value 0, not reflected, no final xor) over
/// the page with its CRC field read as zeros.
fn page_crc(page: &[u8]) -> u32 {
    let (head, rest) = page.split_at(page.len().min(CRC_FIELD.start));
    let mut crc = Crc32::new(0);
    crc.process_buf_bytes(head);
    crc.process_buf_bytes(&[0; 4]);
    crc.process_buf_bytes(rest.get(CRC_FIELD.len()..).unwrap_or_default());
    crc.crc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(data: &[u8], flags: u8) -> Vec<u8> {
        let mut page = b"OggS".to_vec();
        page.extend([0, flags]);
        page.extend([0; 20]);
        page.push(1);
        page.push(data.len() as u8);
        page.extend(data);
        let crc = page_crc(&page);
        page[CRC_FIELD].copy_from_slice(&crc.to_le_bytes());
        page
    }

    #[test]
    fn crc_has_ogg_parameters() {
        // The check value of CRC-32/CKSUM (same polynomial, initial value 0) before its
        // final xor, which Ogg leaves out; the CRC field itself never counts.
        let mut page = b"OggS\0\x02".to_vec();
        page.resize(22, 7);
        let zeroed = [page.as_slice(), &[0; 4], b"123456789"].concat();
        page.extend([0xAB; 4]);
        page.extend(b"123456789");
        let mut check = Crc32::new(0);
        check.process_buf_bytes(b"123456789");
        assert_eq!(check.crc(), 0x765E_7680 ^ 0xFFFF_FFFF);
        assert_eq!(page_crc(&page), page_crc(&zeroed));
    }

    #[test]
    fn crc_guards_every_byte() {
        // Real pages (libogg's CRC) are covered by the fixture tests; here: any
        // flipped bit makes the page count as torn.
        let whole = page(b"hello", 4);
        assert_eq!(whole_page_len(&whole), Some(whole.len()));
        let mut flipped = whole.clone();
        flipped[30] ^= 0x40;
        assert_eq!(whole_page_len(&flipped), None);
    }

    #[test]
    fn finds_the_end_of_the_last_whole_page() {
        let mut stream = page(b"first", 2);
        stream.extend(page(b"second", 0));
        let end = stream.len();
        stream.extend(page(b"third and last", 4));
        let full = stream.len();
        assert_eq!(last_whole_page_end(&stream), Some(full));
        // Torn inside the third page: the second page is the last whole one.
        assert_eq!(last_whole_page_end(&stream[..full - 3]), Some(end));
        assert!(stream[end..].starts_with(b"OggS"));
    }
}
