//! RIFF/WAVE: every chunk must fit in the file, and the samples must be in an encoding
//! the player decodes: plain PCM, float, or G.711 A-law and µ-law (telephony recordings).

use std::io::{Read, Seek};

use super::{walk_chunks, ByteOrder};
use crate::error::MediaError;

const PCM: u16 = 0x0001;
const IEEE_FLOAT: u16 = 0x0003;
const ALAW: u16 = 0x0006;
const MULAW: u16 = 0x0007;
const EXTENSIBLE: u16 = 0xFFFE;

pub(super) fn check<R: Read + Seek>(reader: &mut R, file_len: u64) -> Result<(), MediaError> {
    let mut format = None;
    let mut has_data = false;
    walk_chunks(reader, file_len, ByteOrder::Little, |reader, id, len| {
        match &id {
            b"fmt " => format = Some(read_format(reader, len)?),
            b"data" => has_data = true,
            _ => {}
        }
        Ok(())
    })?;
    let Some(format) = format else {
        return Err(MediaError::unreadable(
            "the WAV file has no \"fmt \" chunk describing its samples; re-export it",
        ));
    };
    if ![PCM, IEEE_FLOAT, ALAW, MULAW].contains(&format) {
        return Err(MediaError::unsupported(
            format!("WAV with {} samples", format_name(format)),
            "the player decodes only PCM, float, A-law and µ-law WAV; convert it to FLAC or \
             PCM WAV, e.g. `ffmpeg -i INPUT -c:a flac OUTPUT.flac`",
        ));
    }
    if !has_data {
        return Err(MediaError::unreadable(
            "the WAV file has no data chunk, so it holds no audio; re-export it",
        ));
    }
    Ok(())
}

/// The sample encoding of a `fmt ` chunk, looking inside WAVE_FORMAT_EXTENSIBLE.
fn read_format<R: Read>(reader: &mut R, len: u64) -> Result<u16, MediaError> {
    if len < 16 {
        return Err(MediaError::unreadable(
            "the WAV \"fmt \" chunk is too short to describe the samples; re-export it",
        ));
    }
    let mut fmt = [0u8; 26];
    let wanted = len.min(fmt.len() as u64) as usize;
    reader.read_exact(&mut fmt[..wanted])?;
    let tag = u16::from_le_bytes([fmt[0], fmt[1]]);
    if tag == EXTENSIBLE && wanted >= 26 {
        // The sub-format GUID starts with the classic format tag.
        return Ok(u16::from_le_bytes([fmt[24], fmt[25]]));
    }
    Ok(tag)
}

fn format_name(tag: u16) -> String {
    match tag {
        0x0002 => "MS ADPCM".into(),
        0x0011 => "IMA ADPCM".into(),
        0x0031 => "GSM 6.10".into(),
        0x0050 | 0x0055 => "MPEG".into(),
        0x00FF | 0x1610 => "AAC".into(),
        0x2000 => "AC-3".into(),
        EXTENSIBLE => "unspecified extensible".into(),
        other => format!("codec {other:#06x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn wav(format: u16, data_len: u32, data_present: usize) -> Vec<u8> {
        let mut bytes = b"RIFF\x00\x00\x00\x00WAVE".to_vec();
        bytes.extend(b"fmt \x10\x00\x00\x00");
        bytes.extend(format.to_le_bytes());
        bytes.extend([1, 0, 0x40, 0x1F, 0, 0, 0x80, 0x3E, 0, 0, 2, 0, 16, 0]);
        bytes.extend(b"data");
        bytes.extend(data_len.to_le_bytes());
        bytes.extend(vec![0; data_present]);
        bytes
    }

    fn check_bytes(bytes: &[u8]) -> Result<(), MediaError> {
        check(&mut Cursor::new(bytes), bytes.len() as u64)
    }

    #[test]
    fn whole_pcm_passes() {
        assert!(check_bytes(&wav(PCM, 1000, 1000)).is_ok());
        assert!(check_bytes(&wav(IEEE_FLOAT, 8, 8)).is_ok());
        // Odd chunk followed by its pad byte and a LIST chunk.
        let mut padded = wav(PCM, 3, 4);
        padded.extend(b"LIST\x04\x00\x00\x00INFO");
        assert!(check_bytes(&padded).is_ok());
    }

    #[test]
    fn cut_data_is_truncated() {
        let error = check_bytes(&wav(PCM, 1000, 400)).unwrap_err();
        assert_eq!(error.code(), "unreadable_audio");
        assert!(
            error.to_string().contains("claims 1000 bytes but only 400"),
            "{error}"
        );
    }

    #[test]
    fn compressed_wav_is_unsupported() {
        let error = check_bytes(&wav(0x0055, 8, 8)).unwrap_err();
        assert_eq!(error.code(), "unsupported_format");
        assert!(
            error
                .to_string()
                .starts_with("unsupported format WAV with MPEG samples"),
            "{error}"
        );
    }

    #[test]
    fn extensible_pcm_passes() {
        let mut bytes = b"RIFF\x00\x00\x00\x00WAVE".to_vec();
        bytes.extend(b"fmt \x28\x00\x00\x00");
        bytes.extend(EXTENSIBLE.to_le_bytes());
        bytes.extend([1, 0, 0x40, 0x1F, 0, 0, 0x80, 0x3E, 0, 0, 2, 0, 16, 0]);
        bytes.extend([22, 0, 16, 0, 4, 0, 0, 0]);
        bytes.extend(PCM.to_le_bytes());
        bytes.extend([0; 14]);
        bytes.extend(b"data\x02\x00\x00\x00\x00\x00");
        assert!(check_bytes(&bytes).is_ok());
    }

    #[test]
    fn missing_chunks() {
        let no_data = &wav(PCM, 0, 0)[..36];
        assert!(check_bytes(no_data).is_err());
        let no_fmt = b"RIFF\x00\x00\x00\x00WAVEdata\x02\x00\x00\x00\x00\x00";
        assert!(check_bytes(no_fmt).is_err());
    }
}
