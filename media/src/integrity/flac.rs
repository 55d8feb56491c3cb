//! Native FLAC: the metadata blocks must fit in the file, and the last frame must
//! reach the total sample count STREAMINFO promises.

use std::io::{Read, Seek, SeekFrom};

use symphonia::core::checksum::Crc8Ccitt;
use symphonia::core::io::Monitor;

use super::{read_window, truncated};
use crate::error::MediaError;

/// How much of the end of the file to search for the last frame header; FLAC frames
/// are rarely above 16 KiB, so this sees several of them.
const TAIL: usize = 256 * 1024;

#[derive(Debug, Clone, Copy)]
struct StreamInfo {
    max_block: u32,
    sample_rate: u32,
    channels: u8,
    bits_per_sample: u8,
    /// 0 when the encoder did not know it (streamed encoding).
    total_samples: u64,
}

pub(super) fn check<R: Read + Seek>(
    reader: &mut R,
    start: u64,
    file_len: u64,
) -> Result<(), MediaError> {
    reader.seek(SeekFrom::Start(start))?;
    let mut magic = [0u8; 4];
    reader
        .read_exact(&mut magic)
        .map_err(|_| truncated("it ends inside the FLAC signature"))?;
    let metadata = read_metadata(reader, start + 4, file_len)?;
    let (info, frames_start) = (metadata.info, metadata.frames_start);
    if frames_start >= file_len {
        return Err(truncated(
            "it ends after the FLAC metadata, before any audio frame",
        ));
    }
    if info.total_samples == 0 {
        return Ok(());
    }
    let tail_start = file_len.saturating_sub(TAIL as u64).max(frames_start);
    let tail = read_window(reader, tail_start, (file_len - tail_start) as usize)?;
    let Some(last) = last_frame(&tail, &info) else {
        return Err(truncated(
            "no FLAC frame header was found near its end, so its audio stops early",
        ));
    };
    let end = last.first_sample + u64::from(last.block_size);
    if end < info.total_samples {
        let millis = |samples: u64| samples * 1000 / u64::from(info.sample_rate.max(1));
        return Err(truncated(format!(
            "STREAMINFO promises {} samples ({} ms) but the audio stops after {} ({} ms)",
            info.total_samples,
            millis(info.total_samples),
            end,
            millis(end)
        )));
    }
    Ok(())
}

struct Metadata {
    info: StreamInfo,
    /// Where the audio frames begin.
    frames_start: u64,
}

/// Reads every metadata block header. (A block holds at most 16 MiB by format, under
/// `MAX_TAG_ITEM_BYTES`, so lofty may read any of them.)
fn read_metadata<R: Read + Seek>(
    reader: &mut R,
    mut position: u64,
    file_len: u64,
) -> Result<Metadata, MediaError> {
    let mut info = None;
    loop {
        let mut header = [0u8; 4];
        reader
            .read_exact(&mut header)
            .map_err(|_| truncated("it ends inside the FLAC metadata"))?;
        let last = header[0] & 0x80 != 0;
        let kind = header[0] & 0x7F;
        let len = u64::from(u32::from_be_bytes([0, header[1], header[2], header[3]]));
        let body_start = position + 4;
        if body_start + len > file_len {
            return Err(truncated(format!(
                "a FLAC metadata block claims {len} bytes but the file ends before"
            )));
        }
        if info.is_none() {
            if kind != 0 || len < 34 {
                return Err(MediaError::unreadable(
                    "the FLAC stream does not start with a STREAMINFO block; the file is \
                     damaged, re-encode it from the source",
                ));
            }
            let mut body = [0u8; 34];
            reader.read_exact(&mut body)?;
            info = Some(parse_stream_info(&body));
            reader.seek(SeekFrom::Start(body_start + len))?;
        } else {
            reader.seek(SeekFrom::Current(len as i64))?;
        }
        position = body_start + len;
        if last {
            let info = info.ok_or_else(|| MediaError::unreadable("no STREAMINFO"))?;
            return Ok(Metadata {
                info,
                frames_start: position,
            });
        }
    }
}

fn parse_stream_info(body: &[u8; 34]) -> StreamInfo {
    let packed = u64::from_be_bytes([
        body[10], body[11], body[12], body[13], body[14], body[15], body[16], body[17],
    ]);
    StreamInfo {
        max_block: u32::from(u16::from_be_bytes([body[2], body[3]])),
        sample_rate: (packed >> 44) as u32,
        channels: ((packed >> 41) & 0x7) as u8 + 1,
        bits_per_sample: ((packed >> 36) & 0x1F) as u8 + 1,
        total_samples: packed & 0xF_FFFF_FFFF,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameStart {
    first_sample: u64,
    block_size: u32,
}

/// The last frame header in `tail` that checks out (CRC-8 and agreement with
/// STREAMINFO), searching backwards.
fn last_frame(tail: &[u8], info: &StreamInfo) -> Option<FrameStart> {
    (0..tail.len().saturating_sub(1))
        .rev()
        .filter(|&at| tail[at] == 0xFF && tail[at + 1] & 0xFE == 0xF8)
        .find_map(|at| parse_frame_header(&tail[at..], info))
}

fn parse_frame_header(bytes: &[u8], info: &StreamInfo) -> Option<FrameStart> {
    let variable_blocks = bytes[1] & 1 == 1;
    let block_code = bytes.get(2)? >> 4;
    let rate_code = bytes[2] & 0xF;
    let channel_code = bytes.get(3)? >> 4;
    let size_code = (bytes[3] >> 1) & 0x7;
    if bytes[3] & 1 != 0 || block_code == 0 || rate_code == 15 || channel_code > 10 {
        return None;
    }
    let channels = if channel_code < 8 {
        channel_code + 1
    } else {
        2
    };
    if channels != info.channels {
        return None;
    }
    let bits = [0, 8, 12, 0, 16, 20, 24, 32][usize::from(size_code)];
    if size_code != 0 && bits != info.bits_per_sample {
        return None;
    }
    let (number, mut at) = utf8_number(bytes, 4)?;
    let block_size = match block_code {
        1 => 192,
        2..=5 => 576 << (block_code - 2),
        6 => {
            at += 1;
            u32::from(*bytes.get(at - 1)?) + 1
        }
        7 => {
            at += 2;
            u32::from(u16::from_be_bytes([
                *bytes.get(at - 2)?,
                *bytes.get(at - 1)?,
            ])) + 1
        }
        _ => 256 << (block_code - 8),
    };
    let rate = match rate_code {
        0 => info.sample_rate,
        1..=11 => [
            88_200, 176_400, 192_000, 8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 96_000,
        ][usize::from(rate_code - 1)],
        12 => {
            at += 1;
            u32::from(*bytes.get(at - 1)?) * 1000
        }
        _ => {
            at += 2;
            let value = u32::from(u16::from_be_bytes([
                *bytes.get(at - 2)?,
                *bytes.get(at - 1)?,
            ]));
            if rate_code == 13 {
                value
            } else {
                value * 10
            }
        }
    };
    if rate != info.sample_rate || crc8(&bytes[..at]) != *bytes.get(at)? {
        return None;
    }
    let first_sample = if variable_blocks {
        number
    } else {
        number * u64::from(info.max_block)
    };
    if first_sample >= info.total_samples {
        return None;
    }
    Some(FrameStart {
        first_sample,
        block_size,
    })
}

/// FLAC's UTF-8-style coded frame or sample number at `at`; returns it and the
/// offset after it.
fn utf8_number(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let lead = *bytes.get(at)?;
    let extra = match lead.leading_ones() {
        0 => return Some((u64::from(lead), at + 1)),
        1 => return None,
        ones @ 2..=7 => ones as usize - 1,
        _ => return None,
    };
    let mut value = u64::from(lead & (0x7F >> (extra + 1)));
    for index in 1..=extra {
        let byte = *bytes.get(at + index)?;
        if byte & 0xC0 != 0x80 {
            return None;
        }
        value = (value << 6) | u64::from(byte & 0x3F);
    }
    Some((value, at + extra + 1))
}

/// The frame header's CRC-8: polynomial 0x07, initial value 0, not reflected (symphonia's
/// FLAC reader checks frames with the same one).
fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = Crc8Ccitt::new(0);
    crc.process_buf_bytes(bytes);
    crc.crc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> StreamInfo {
        StreamInfo {
            max_block: 4096,
            sample_rate: 44_100,
            channels: 2,
            bits_per_sample: 16,
            total_samples: 1_000_000,
        }
    }

    /// A fixed-blocksize frame header: 4096 samples, 44.1 kHz, stereo, 16 bit.
    fn header(frame_number: u8) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xF8, 0xC9, 0x18, frame_number];
        bytes.push(crc8(&bytes));
        bytes
    }

    #[test]
    fn utf8_numbers() {
        assert_eq!(utf8_number(&[0x05], 0), Some((5, 1)));
        assert_eq!(utf8_number(&[0xC2, 0x80], 0), Some((0x80, 2)));
        assert_eq!(utf8_number(&[0xE0, 0xA0, 0x80], 0), Some((0x800, 3)));
        assert_eq!(utf8_number(&[0x80], 0), None);
        assert_eq!(utf8_number(&[0xC2, 0x00], 0), None);
    }

    #[test]
    fn finds_the_last_valid_header() {
        let mut tail = vec![0x11; 100];
        tail.extend(header(3));
        tail.extend([0x22; 200]);
        tail.extend(header(4));
        tail.extend([0x33; 50]);
        let last = last_frame(&tail, &info()).unwrap();
        assert_eq!(last.first_sample, 4 * 4096);
        assert_eq!(last.block_size, 4096);
    }

    #[test]
    fn crc8_has_flac_parameters() {
        // CRC-8/SMBUS: polynomial 0x07, initial value 0, not reflected, no final xor.
        assert_eq!(crc8(b"123456789"), 0xF4);
        assert_eq!(crc8(&[]), 0);
    }

    #[test]
    fn refuses_headers_with_a_bad_crc_or_other_format() {
        let mut bad_crc = header(3);
        bad_crc[5] ^= 1;
        assert_eq!(parse_frame_header(&bad_crc, &info()), None);
        let mono = StreamInfo {
            channels: 1,
            ..info()
        };
        assert_eq!(parse_frame_header(&header(3), &mono), None);
        // A frame number beyond the promised total is junk.
        let short = StreamInfo {
            total_samples: 4096,
            ..info()
        };
        assert_eq!(parse_frame_header(&header(3), &short), None);
    }

    #[test]
    fn stream_info_fields() {
        // 44.1 kHz, 2 channels, 16 bits, 1 000 000 samples.
        let mut body = [0u8; 34];
        body[2..4].copy_from_slice(&4096u16.to_be_bytes());
        let packed: u64 = (44_100u64 << 44) | (1 << 41) | (15 << 36) | 1_000_000;
        body[10..18].copy_from_slice(&packed.to_be_bytes());
        let info = parse_stream_info(&body);
        assert_eq!(info.max_block, 4096);
        assert_eq!(info.sample_rate, 44_100);
        assert_eq!(info.channels, 2);
        assert_eq!(info.bits_per_sample, 16);
        assert_eq!(info.total_samples, 1_000_000);
    }
}
