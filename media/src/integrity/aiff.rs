//! AIFF and AIFF-C: every chunk must fit in the file, and the file must describe its
//! samples (`COMM`) and hold them (`SSND`). Which sample encodings play is left to the
//! decoder check: symphonia reads PCM, float, A-law and µ-law AIFF-C.

use std::io::{Read, Seek};

use super::{walk_chunks, ByteOrder};
use crate::error::MediaError;

pub(super) fn check<R: Read + Seek>(reader: &mut R, file_len: u64) -> Result<(), MediaError> {
    let (mut common, mut sound) = (false, false);
    walk_chunks(reader, file_len, ByteOrder::Big, |_, id, _| {
        common |= &id == b"COMM";
        sound |= &id == b"SSND";
        Ok(())
    })?;
    if !common {
        return Err(MediaError::unreadable(
            "the AIFF file has no COMM chunk describing its samples; re-export it",
        ));
    }
    if !sound {
        return Err(MediaError::unreadable(
            "the AIFF file has no SSND chunk, so it holds no audio; re-export it",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut bytes = id.to_vec();
        bytes.extend((body.len() as u32).to_be_bytes());
        bytes.extend(body);
        if body.len() % 2 == 1 {
            bytes.push(0);
        }
        bytes
    }

    fn aiff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut bytes = b"FORM".to_vec();
        bytes.extend(((body.len() + 4) as u32).to_be_bytes());
        bytes.extend(b"AIFF");
        bytes.extend(body);
        bytes
    }

    fn check_bytes(bytes: &[u8]) -> Result<(), MediaError> {
        check(&mut Cursor::new(bytes), bytes.len() as u64)
    }

    #[test]
    fn whole_files_pass_and_cut_ones_are_truncated() {
        let whole = aiff(&[
            chunk(b"COMM", &[0; 18]),
            chunk(b"NAME", b"odd"),
            chunk(b"SSND", &[0; 400]),
        ]);
        assert!(check_bytes(&whole).is_ok());
        let error = check_bytes(&whole[..whole.len() - 100]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("\"SSND\" chunk claims 400 bytes"),
            "{error}"
        );
    }

    #[test]
    fn description_and_samples_are_required() {
        let no_comm = aiff(&[chunk(b"SSND", &[0; 8])]);
        assert!(check_bytes(&no_comm)
            .unwrap_err()
            .to_string()
            .contains("COMM"));
        let no_ssnd = aiff(&[chunk(b"COMM", &[0; 18])]);
        assert!(check_bytes(&no_ssnd)
            .unwrap_err()
            .to_string()
            .contains("SSND"));
    }
}
