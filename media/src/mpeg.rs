//! MPEG audio frame headers (ISO 11172-3 / 13818-3), enough to recognise a stream,
//! walk it frame by frame and find a Xing/Info or VBRI header.

/// MPEG version, as coded in the frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    Mpeg1,
    Mpeg2,
    Mpeg25,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    One,
    Two,
    Three,
}

/// One parsed 4-byte frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub version: Version,
    pub layer: Layer,
    pub sample_rate: u32,
    pub mono: bool,
    pub has_crc: bool,
    /// Whole frame in bytes, header included.
    pub length: usize,
}

const BITRATES_V1: [[u32; 15]; 3] = [
    [
        0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
];
const BITRATES_V2: [[u32; 15]; 2] = [
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

impl FrameHeader {
    /// Parses the header at the start of `bytes`. Free-format frames (bitrate index 0)
    /// are refused: their length cannot be known from the header, and no current
    /// encoder writes them.
    pub fn parse(bytes: &[u8]) -> Option<FrameHeader> {
        let raw = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
        if raw >> 21 != 0x7FF {
            return None;
        }
        let version = match (raw >> 19) & 0b11 {
            0b00 => Version::Mpeg25,
            0b10 => Version::Mpeg2,
            0b11 => Version::Mpeg1,
            _ => return None,
        };
        let layer = match (raw >> 17) & 0b11 {
            0b01 => Layer::Three,
            0b10 => Layer::Two,
            0b11 => Layer::One,
            _ => return None,
        };
        let bitrate_index = ((raw >> 12) & 0xF) as usize;
        if bitrate_index == 0 || bitrate_index == 0xF {
            return None;
        }
        let rate_index = ((raw >> 10) & 0b11) as usize;
        let base_rate = [44_100, 48_000, 32_000].get(rate_index).copied()?;
        if raw & 0b11 == 0b10 {
            // Reserved emphasis value: real encoders never write it.
            return None;
        }
        let sample_rate = match version {
            Version::Mpeg1 => base_rate,
            Version::Mpeg2 => base_rate / 2,
            Version::Mpeg25 => base_rate / 4,
        };
        let kbps = match (version, layer) {
            (Version::Mpeg1, Layer::One) => BITRATES_V1[0][bitrate_index],
            (Version::Mpeg1, Layer::Two) => BITRATES_V1[1][bitrate_index],
            (Version::Mpeg1, Layer::Three) => BITRATES_V1[2][bitrate_index],
            (_, Layer::One) => BITRATES_V2[0][bitrate_index],
            (_, _) => BITRATES_V2[1][bitrate_index],
        };
        let padding = (raw >> 9) & 1;
        let bits_per_second = kbps * 1000;
        let length = match (version, layer) {
            (_, Layer::One) => (12 * bits_per_second / sample_rate + padding) * 4,
            (Version::Mpeg1, _) | (_, Layer::Two) => 144 * bits_per_second / sample_rate + padding,
            (_, Layer::Three) => 72 * bits_per_second / sample_rate + padding,
        };
        Some(FrameHeader {
            version,
            layer,
            sample_rate,
            mono: (raw >> 6) & 0b11 == 0b11,
            has_crc: (raw >> 16) & 1 == 0,
            length: length as usize,
        })
    }

    /// Audio samples (per channel) one frame decodes to.
    pub fn samples(&self) -> u32 {
        match (self.version, self.layer) {
            (_, Layer::One) => 384,
            (Version::Mpeg1, _) | (_, Layer::Two) => 1152,
            (_, Layer::Three) => 576,
        }
    }

    /// Whether `other` can be the next frame of the same stream.
    pub fn same_stream(&self, other: &FrameHeader) -> bool {
        self.version == other.version
            && self.layer == other.layer
            && self.sample_rate == other.sample_rate
    }

    /// Offsets (from the frame start) where a Xing/Info header may sit: right after
    /// the side information, with and without the optional CRC.
    fn xing_offsets(&self) -> [usize; 2] {
        let side_info = match (self.version, self.mono) {
            (Version::Mpeg1, false) => 32,
            (Version::Mpeg1, true) | (_, false) => 17,
            (_, true) => 9,
        };
        [4 + side_info, 4 + side_info + 2 * usize::from(self.has_crc)]
    }
}

/// What a Xing/Info or VBRI header in the first frame promises about the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamSummary {
    /// Number of audio frames, when the header carries it.
    pub frames: Option<u32>,
}

/// Reads the Xing/Info or VBRI header inside `frame` (the first frame's bytes), if any.
/// The frame holding the header is not audio and not counted in `frames`.
pub(crate) fn read_summary(header: &FrameHeader, frame: &[u8]) -> Option<StreamSummary> {
    for offset in header.xing_offsets() {
        let Some(tag) = frame.get(offset..offset + 4) else {
            continue;
        };
        if tag != b"Xing" && tag != b"Info" {
            continue;
        }
        let flags = be_u32(frame, offset + 4)?;
        let frames = if flags & 1 == 1 {
            be_u32(frame, offset + 8)
        } else {
            None
        };
        return Some(StreamSummary { frames });
    }
    // Fraunhofer's VBRI header sits at a fixed place after a 32-byte gap.
    if frame.get(36..40) == Some(b"VBRI") {
        return Some(StreamSummary {
            frames: be_u32(frame, 36 + 14),
        });
    }
    None
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_lame_cbr_header() {
        // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding, joint stereo.
        let header = FrameHeader::parse(&[0xFF, 0xFB, 0x90, 0x64]).unwrap();
        assert_eq!(header.version, Version::Mpeg1);
        assert_eq!(header.layer, Layer::Three);
        assert_eq!(header.sample_rate, 44_100);
        assert_eq!(header.length, 417);
        assert!(!header.mono);
        assert!(!header.has_crc);
    }

    #[test]
    fn padding_and_mpeg2_lengths() {
        // MPEG-2 Layer III, 64 kbit/s, 22.05 kHz, padded, mono.
        let header = FrameHeader::parse(&[0xFF, 0xF3, 0x82, 0xC4]).unwrap();
        assert_eq!(header.version, Version::Mpeg2);
        assert_eq!(header.sample_rate, 22_050);
        assert_eq!(header.length, 72 * 64_000 / 22_050 + 1);
        assert!(header.mono);
    }

    #[test]
    fn rejects_reserved_and_non_sync_values() {
        assert!(
            FrameHeader::parse(&[0xFF, 0xD8, 0xFF, 0xE0]).is_none(),
            "JPEG"
        );
        assert!(
            FrameHeader::parse(&[0xFF, 0xFB, 0xF0, 0x64]).is_none(),
            "bad bitrate"
        );
        assert!(
            FrameHeader::parse(&[0xFF, 0xFB, 0x9C, 0x64]).is_none(),
            "bad rate"
        );
        assert!(
            FrameHeader::parse(&[0xFF, 0xF1, 0x50, 0x80]).is_none(),
            "ADTS AAC"
        );
        assert!(FrameHeader::parse(&[0xFF, 0xFB]).is_none(), "too short");
        assert!(FrameHeader::parse(b"ID3\x04").is_none());
    }

    #[test]
    fn finds_a_xing_frame_count() {
        let header = FrameHeader::parse(&[0xFF, 0xFB, 0x90, 0xC4]).unwrap();
        assert!(header.mono);
        let mut frame = vec![0u8; header.length];
        frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0xC4]);
        frame[21..25].copy_from_slice(b"Info");
        frame[25..29].copy_from_slice(&3u32.to_be_bytes());
        frame[29..33].copy_from_slice(&1234u32.to_be_bytes());
        let summary = read_summary(&header, &frame).unwrap();
        assert_eq!(summary.frames, Some(1234));
    }

    #[test]
    fn no_summary_in_a_plain_frame() {
        let header = FrameHeader::parse(&[0xFF, 0xFB, 0x90, 0x64]).unwrap();
        let frame = vec![0u8; header.length];
        assert_eq!(read_summary(&header, &frame), None);
    }
}
