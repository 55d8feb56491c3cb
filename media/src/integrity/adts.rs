//! Raw AAC in ADTS frames: counted frame by frame (headers only), which gives the exact
//! length lofty can only estimate from the first frame's bitrate. Like a CBR MP3, a raw
//! AAC stream promises no length, so a cut file is a shorter song.

use std::io::{Read, Seek, SeekFrom};

use super::{skip, Findings};
use crate::error::MediaError;

/// Samples one AAC frame decodes to.
const SAMPLES_PER_FRAME: u64 = 1024;
const HEADER_LEN: usize = 7;

const SAMPLE_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// What one ADTS header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameHeader {
    sample_rate: u32,
    /// The whole frame, header included.
    length: u64,
}

fn parse(bytes: &[u8; HEADER_LEN]) -> Option<FrameHeader> {
    if bytes[0] != 0xFF || bytes[1] & 0xF6 != 0xF0 {
        return None;
    }
    let sample_rate = *SAMPLE_RATES.get(usize::from((bytes[2] >> 2) & 0x0F))?;
    let length =
        (u64::from(bytes[3] & 0x03) << 11) | (u64::from(bytes[4]) << 3) | u64::from(bytes[5] >> 5);
    (length >= HEADER_LEN as u64).then_some(FrameHeader {
        sample_rate,
        length,
    })
}

pub(super) fn check<R: Read + Seek>(
    reader: &mut R,
    start: u64,
    file_len: u64,
) -> Result<Findings, MediaError> {
    reader.seek(SeekFrom::Start(start))?;
    let mut position = start;
    let mut frames = 0u64;
    let mut bytes = 0u64;
    let mut sample_rate = None;
    let mut header = [0u8; HEADER_LEN];
    // Up to the end, the first bytes that are no frame (an ID3v1 or APE tag at the end),
    // or a frame the file ends inside.
    while position + HEADER_LEN as u64 <= file_len {
        reader.read_exact(&mut header)?;
        let Some(frame) = parse(&header) else { break };
        if position + frame.length > file_len
            || *sample_rate.get_or_insert(frame.sample_rate) != frame.sample_rate
        {
            break;
        }
        skip(reader, frame.length - HEADER_LEN as u64)?;
        position += frame.length;
        frames += 1;
        bytes += frame.length;
    }
    let (Some(rate), true) = (sample_rate, frames > 0) else {
        return Err(MediaError::unreadable(
            "no complete AAC (ADTS) frame was found; the file is damaged or is not really raw \
             AAC, re-encode it from the source",
        ));
    };
    let duration_ms = frames * SAMPLES_PER_FRAME * 1000 / u64::from(rate);
    Ok(Findings {
        counted_duration_ms: Some(duration_ms),
        counted_bitrate_kbps: (duration_ms > 0)
            .then(|| u32::try_from(bytes * 8 / duration_ms).unwrap_or(u32::MAX)),
        ..Findings::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// An ADTS frame of `len` bytes at 44.1 kHz.
    fn frame(len: u16) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xF1, 0x50, 0x80, 0, 0, 0xFC];
        bytes[3] |= ((len >> 11) & 0x03) as u8;
        bytes[4] = (len >> 3) as u8;
        bytes[5] = ((len & 0x07) << 5) as u8 | 0x1F;
        bytes.resize(usize::from(len), 0x11);
        bytes
    }

    fn check_bytes(bytes: &[u8]) -> Result<Findings, MediaError> {
        check(&mut Cursor::new(bytes), 0, bytes.len() as u64)
    }

    #[test]
    fn frames_are_counted_up_to_a_cut_one() {
        let mut stream: Vec<u8> = (0..43).flat_map(|_| frame(200)).collect();
        let findings = check_bytes(&stream).unwrap();
        // 43 frames of 1024 samples at 44.1 kHz.
        assert_eq!(findings.counted_duration_ms, Some(998));
        assert_eq!(findings.counted_bitrate_kbps, Some(68));
        stream.truncate(stream.len() - 50);
        let cut = check_bytes(&stream).unwrap();
        assert_eq!(cut.counted_duration_ms, Some(42 * 1024 * 1000 / 44_100));
        // A trailing ID3v1 tag ends the stream without harm.
        let mut tagged: Vec<u8> = (0..10).flat_map(|_| frame(200)).collect();
        tagged.extend(b"TAG");
        tagged.extend([0; 125]);
        assert_eq!(check_bytes(&tagged).unwrap().counted_duration_ms, Some(232));
    }

    #[test]
    fn no_frame_is_unreadable() {
        let error = check_bytes(&[0x55; 100]).unwrap_err();
        assert_eq!(error.code(), "unreadable_audio");
        assert!(
            check_bytes(&frame(200)[..150]).is_err(),
            "a cut first frame"
        );
    }
}
