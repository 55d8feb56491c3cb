//! Recognising audio by its first bytes, never by its file name.

use crate::id3v2::TagHeader;
use crate::mpeg::FrameHeader;

/// How many leading bytes [`sniff`] wants. Fewer work for small files; an ID3v2 tag
/// longer than this is assumed to front an MP3 (a full probe looks behind it).
pub const SNIFF_LEN: usize = 64 * 1024;

/// A container recognised from its signature. Those whose [`Container::refusal`] is `None`
/// are accepted (their codec is checked while probing); the rest are audio the player
/// cannot decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Container {
    /// MPEG audio frames, possibly behind an ID3v2 tag.
    Mpeg,
    /// Native FLAC (`fLaC`).
    Flac,
    /// Ogg whose first stream is Vorbis.
    OggVorbis,
    /// Ogg whose first stream is Opus.
    OggOpus,
    /// ISO base media (`ftyp`): M4A and friends; the codec is known only after parsing.
    Mp4,
    /// RIFF/WAVE.
    Wav,
    /// AIFF or AIFF-C (`FORM`).
    Aiff,
    Ape,
    WavPack,
    Musepack,
    OggFlac,
    OggSpeex,
    /// Ogg carrying something else first (Theora video, a skeleton track, ...).
    OggOther,
    /// Raw AAC in ADTS frames (`.aac`).
    Adts,
    /// Matroska or WebM.
    Matroska,
    /// ASF (WMA/WMV).
    Asf,
    /// Sun/NeXT `.au`.
    Au,
    /// WAV beyond 4 GiB (RF64/BW64) or big-endian RIFX.
    Rf64,
    /// Apple Core Audio Format.
    Caf,
    /// DSD in DSF or DFF.
    Dsd,
    Amr,
    TrueAudio,
    /// Dolby Digital, raw (`.ac3`).
    Ac3,
    /// Dolby Digital Plus, raw (`.eac3`, `.ec3`).
    Eac3,
    /// Tom's lossless Audio Kompressor.
    Tak,
    OptimFrog,
    /// Standard MIDI: notes, not sound.
    Midi,
}

impl Container {
    /// Human name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Container::Mpeg => "MP3",
            Container::Flac => "FLAC",
            Container::OggVorbis => "Ogg Vorbis",
            Container::OggOpus => "Ogg Opus",
            Container::Mp4 => "MP4/M4A",
            Container::Wav => "WAV",
            Container::Aiff => "AIFF",
            Container::Ape => "Monkey's Audio (APE)",
            Container::WavPack => "WavPack",
            Container::Musepack => "Musepack",
            Container::OggFlac => "FLAC in Ogg",
            Container::OggSpeex => "Speex",
            Container::OggOther => "Ogg (not Vorbis or Opus)",
            Container::Adts => "raw AAC (ADTS)",
            Container::Matroska => "Matroska/WebM",
            Container::Asf => "ASF/WMA",
            Container::Au => "Sun AU",
            Container::Rf64 => "RF64/RIFX WAV",
            Container::Caf => "Core Audio (CAF)",
            Container::Dsd => "DSD (DSF/DFF)",
            Container::Amr => "AMR",
            Container::TrueAudio => "TrueAudio (TTA)",
            Container::Ac3 => "AC-3 (Dolby Digital)",
            Container::Eac3 => "E-AC-3 (Dolby Digital Plus)",
            Container::Tak => "TAK",
            Container::OptimFrog => "OptimFROG",
            Container::Midi => "MIDI",
        }
    }

    /// Why the player cannot take this container and what to do instead; `None` for
    /// the containers that are accepted.
    pub fn refusal(self) -> Option<&'static str> {
        const TO_FLAC: &str = "the player cannot decode it; convert it to FLAC (lossless, so \
                               the conversion loses nothing), e.g. \
                               `ffmpeg -i INPUT -c:a flac OUTPUT.flac`";
        const TO_OPUS: &str = "the player cannot decode it; convert it to Opus or MP3, \
                               e.g. `ffmpeg -i INPUT -c:a libopus OUTPUT.opus`";
        Some(match self {
            Container::Mpeg
            | Container::Flac
            | Container::OggVorbis
            | Container::OggOpus
            | Container::Mp4
            | Container::Wav
            | Container::Aiff
            | Container::Adts => return None,
            Container::Ape
            | Container::WavPack
            | Container::Rf64
            | Container::Caf
            | Container::Dsd
            | Container::TrueAudio
            | Container::Ac3
            | Container::Eac3
            | Container::Tak
            | Container::OptimFrog
            | Container::Musepack => TO_FLAC,
            Container::OggSpeex
            | Container::Asf
            | Container::Au
            | Container::Amr
            | Container::OggOther
            | Container::Matroska => TO_OPUS,
            Container::OggFlac => {
                "Cadenza reads the tags and length of FLAC only in its native container; \
                 remux it without re-encoding: `ffmpeg -i INPUT -c:a copy OUTPUT.flac`"
            }
            Container::Midi => {
                "MIDI holds notes, not sound; render it to audio first (e.g. with a \
                 synthesizer such as FluidSynth) and upload the result"
            }
        })
    }
}

/// Recognises the container from the first bytes of a file (see [`SNIFF_LEN`]).
/// `None` means no audio signature we know: the caller should treat it as not audio.
pub fn sniff(head: &[u8]) -> Option<Container> {
    if let Some(tag) = TagHeader::parse(head) {
        let after = usize::try_from(tag.total_len()).ok();
        return Some(match after.and_then(|start| head.get(start..)) {
            Some(rest) if !rest.is_empty() => behind_id3(rest),
            _ => Container::Mpeg,
        });
    }
    sniff_untagged(head)
}

/// The container behind an ID3v2 tag. ID3v2 fronts MP3 by convention, but taggers put it
/// in front of anything (FLAC, APE, WavPack, raw AAC): what follows decides, and MP3 is
/// the guess when nothing else is recognised.
pub(crate) fn behind_id3(rest: &[u8]) -> Container {
    sniff_untagged(rest).unwrap_or(Container::Mpeg)
}

/// [`sniff`] for bytes that do not start with an ID3v2 tag.
pub(crate) fn sniff_untagged(head: &[u8]) -> Option<Container> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let container = if at(0, b"fLaC") {
        Container::Flac
    } else if at(0, b"OggS") {
        sniff_ogg(head)
    } else if at(4, b"ftyp") {
        Container::Mp4
    } else if at(0, b"RIFF") && at(8, b"WAVE") {
        Container::Wav
    } else if (at(0, b"RF64") || at(0, b"BW64") || at(0, b"RIFX")) && at(8, b"WAVE") {
        Container::Rf64
    } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        Container::Aiff
    } else if at(0, b"MAC ") {
        Container::Ape
    } else if at(0, b"wvpk") {
        Container::WavPack
    } else if at(0, b"MPCK") || at(0, b"MP+") {
        Container::Musepack
    } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        Container::Matroska
    } else if at(0, &[0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) {
        Container::Asf
    } else if at(0, b".snd") {
        Container::Au
    } else if at(0, b"caff") {
        Container::Caf
    } else if at(0, b"DSD ") || (at(0, b"FRM8") && at(12, b"DSD ")) {
        Container::Dsd
    } else if at(0, b"#!AMR") {
        Container::Amr
    } else if at(0, b"TTA1") {
        Container::TrueAudio
    } else if at(0, b"tBaK") {
        Container::Tak
    } else if at(0, b"OFR ") {
        Container::OptimFrog
    } else if let Some(dolby) = dolby(head) {
        dolby
    } else if at(0, b"MThd") {
        Container::Midi
    } else if is_adts(head) {
        Container::Adts
    } else if mpeg_stream_at(head, 0, 2) || find_mpeg_stream(head).is_some() {
        Container::Mpeg
    } else {
        return None;
    };
    Some(container)
}

fn sniff_ogg(head: &[u8]) -> Container {
    // The first page holds the first stream's identification packet.
    let Some(&segments) = head.get(26) else {
        return Container::OggOther;
    };
    let packet = head.get(27 + usize::from(segments)..).unwrap_or_default();
    if packet.starts_with(b"\x01vorbis") {
        Container::OggVorbis
    } else if packet.starts_with(b"OpusHead") {
        Container::OggOpus
    } else if packet.starts_with(b"\x7FFLAC") {
        Container::OggFlac
    } else if packet.starts_with(b"Speex   ") {
        Container::OggSpeex
    } else {
        Container::OggOther
    }
}

/// Raw AC-3 or E-AC-3: the sync word 0x0B77, a bitstream id of 0–16 (up to 10 is AC-3,
/// 11 and up E-AC-3), and the sync word again within the largest frame (3840 bytes), so
/// one stray 0x0B77 does not make a file audio.
fn dolby(head: &[u8]) -> Option<Container> {
    if !head.starts_with(&[0x0B, 0x77]) {
        return None;
    }
    let bsid = head.get(5)? >> 3;
    let container = match bsid {
        0..=10 => Container::Ac3,
        11..=16 => Container::Eac3,
        _ => return None,
    };
    let window = &head[2..head.len().min(3840 + 2)];
    let confirmed = window.len() < 3840 || window.windows(2).any(|pair| pair == [0x0B, 0x77]);
    confirmed.then_some(container)
}

/// ADTS sync: twelve set bits and layer 00, which MPEG audio reserves. A second
/// header where the first frame ends confirms it.
fn is_adts(head: &[u8]) -> bool {
    let header_at = |offset: usize| -> Option<usize> {
        let bytes = head.get(offset..offset + 7)?;
        if bytes[0] != 0xFF || bytes[1] & 0xF6 != 0xF0 {
            return None;
        }
        let length = (usize::from(bytes[3] & 0x03) << 11)
            | (usize::from(bytes[4]) << 3)
            | usize::from(bytes[5] >> 5);
        (length >= 7).then_some(length)
    };
    match header_at(0) {
        Some(length) if length + 7 <= head.len() => header_at(length).is_some(),
        Some(_) => true,
        None => false,
    }
}

/// How far into an untagged file an MPEG stream may start (junk, zero padding).
const MPEG_SEARCH: usize = 8 * 1024;

/// The offset of the first run of three consistent MPEG frames in the first bytes.
pub(crate) fn find_mpeg_stream(head: &[u8]) -> Option<usize> {
    let end = head.len().min(MPEG_SEARCH);
    (0..end).find(|&offset| head[offset] == 0xFF && mpeg_stream_at(head, offset, 3))
}

/// Whether `frames` consecutive frames of one stream start at `offset`. Frames running
/// past the end of `head` count as confirmed: a short head cannot show them.
fn mpeg_stream_at(head: &[u8], offset: usize, frames: usize) -> bool {
    let Some(first) = head.get(offset..).and_then(FrameHeader::parse) else {
        return false;
    };
    let mut position = offset + first.length;
    for _ in 1..frames {
        match head.get(position..) {
            None | Some([]) => return true,
            Some(rest) if rest.len() < 4 => return true,
            Some(rest) => match FrameHeader::parse(rest) {
                Some(next) if first.same_stream(&next) => position += next.length,
                _ => return false,
            },
        }
    }
    true
}

/// A short description of a file that is not audio, for the error message.
pub(crate) fn describe_non_audio(head: &[u8]) -> &'static str {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        "a PNG image"
    } else if starts(&[0xFF, 0xD8, 0xFF]) {
        "a JPEG image"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "a GIF image"
    } else if starts(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        "a WebP image"
    } else if starts(b"RIFF") && head.get(8..12) == Some(b"AVI ") {
        "an AVI video"
    } else if starts(b"%PDF") {
        "a PDF document"
    } else if starts(b"PK\x03\x04") {
        "a ZIP archive"
    } else if starts(&[0x1F, 0x8B]) {
        "a gzip archive"
    } else if looks_like_text(head) {
        "text"
    } else {
        "data of an unknown kind"
    }
}

fn looks_like_text(head: &[u8]) -> bool {
    let sample = &head[..head.len().min(4096)];
    // Cut at most three bytes off the end: a multi-byte character may straddle it.
    let valid = match std::str::from_utf8(sample) {
        Ok(text) => text,
        Err(error) if sample.len() - error.valid_up_to() <= 3 && error.error_len().is_none() => {
            // Incomplete trailing character only.
            match std::str::from_utf8(&sample[..error.valid_up_to()]) {
                Ok(text) => text,
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && valid
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run of `count` identical MPEG-1 Layer III frames, 128 kbit/s, 44.1 kHz.
    fn mp3_frames(count: usize) -> Vec<u8> {
        let mut frame = vec![0u8; 417];
        frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
        frame.repeat(count)
    }

    fn ogg_page(packet: &[u8]) -> Vec<u8> {
        let mut page = b"OggS\x00\x02".to_vec();
        page.extend([0; 20]);
        page.push(1);
        page.push(packet.len() as u8);
        page.extend(packet);
        page
    }

    fn id3(body_len: u32) -> Vec<u8> {
        let mut tag = b"ID3\x04\x00\x00".to_vec();
        tag.extend([
            (body_len >> 21) as u8 & 0x7F,
            (body_len >> 14) as u8 & 0x7F,
            (body_len >> 7) as u8 & 0x7F,
            body_len as u8 & 0x7F,
        ]);
        tag.extend(vec![0; body_len as usize]);
        tag
    }

    #[test]
    fn recognises_each_signature() {
        let mut riff_wave = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
        riff_wave.extend([0; 8]);
        let table: Vec<(&str, Vec<u8>, Option<Container>)> = vec![
            ("mp3 frames", mp3_frames(3), Some(Container::Mpeg)),
            (
                "flac",
                b"fLaC\x00\x00\x00\x22".to_vec(),
                Some(Container::Flac),
            ),
            (
                "vorbis",
                ogg_page(b"\x01vorbis\x00\x00"),
                Some(Container::OggVorbis),
            ),
            (
                "opus",
                ogg_page(b"OpusHead\x01\x01"),
                Some(Container::OggOpus),
            ),
            (
                "ogg flac",
                ogg_page(b"\x7FFLAC\x01\x00"),
                Some(Container::OggFlac),
            ),
            ("speex", ogg_page(b"Speex   1.2"), Some(Container::OggSpeex)),
            ("theora", ogg_page(b"\x80theora"), Some(Container::OggOther)),
            (
                "m4a",
                b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00".to_vec(),
                Some(Container::Mp4),
            ),
            (
                "mp4",
                b"\x00\x00\x00\x18ftypisom".to_vec(),
                Some(Container::Mp4),
            ),
            ("wav", riff_wave, Some(Container::Wav)),
            (
                "rf64",
                b"RF64\xff\xff\xff\xffWAVEds64".to_vec(),
                Some(Container::Rf64),
            ),
            (
                "aiff",
                b"FORM\x00\x00\x10\x00AIFFCOMM".to_vec(),
                Some(Container::Aiff),
            ),
            (
                "aifc",
                b"FORM\x00\x00\x10\x00AIFCFVER".to_vec(),
                Some(Container::Aiff),
            ),
            ("ape", b"MAC \x96\x0f".to_vec(), Some(Container::Ape)),
            (
                "wavpack",
                b"wvpk\x00\x10\x00\x00".to_vec(),
                Some(Container::WavPack),
            ),
            ("musepack", b"MPCKSH".to_vec(), Some(Container::Musepack)),
            (
                "webm",
                vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F],
                Some(Container::Matroska),
            ),
            (
                "wma",
                vec![0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6],
                Some(Container::Asf),
            ),
            ("au", b".snd\x00\x00\x00\x18".to_vec(), Some(Container::Au)),
            ("caf", b"caff\x00\x01".to_vec(), Some(Container::Caf)),
            ("dsf", b"DSD \x1c\x00".to_vec(), Some(Container::Dsd)),
            ("amr", b"#!AMR\n".to_vec(), Some(Container::Amr)),
            (
                "midi",
                b"MThd\x00\x00\x00\x06".to_vec(),
                Some(Container::Midi),
            ),
            ("tta", b"TTA1\x01\x00".to_vec(), Some(Container::TrueAudio)),
            ("tak", b"tBaK\x00\x00".to_vec(), Some(Container::Tak)),
            (
                "optimfrog",
                b"OFR \x0f\x00".to_vec(),
                Some(Container::OptimFrog),
            ),
            (
                "ac3",
                vec![0x0B, 0x77, 0x64, 0x22, 0x48, 8 << 3],
                Some(Container::Ac3),
            ),
            (
                "eac3",
                vec![0x0B, 0x77, 0x00, 0x8A, 0x72, 16 << 3],
                Some(Container::Eac3),
            ),
            (
                "dff",
                b"FRM8\x00\x00\x00\x00\x00\x00\x00\x28DSD ".to_vec(),
                Some(Container::Dsd),
            ),
            (
                "adts",
                vec![0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC],
                Some(Container::Adts),
            ),
            ("text", b"These are the liner notes.\n".to_vec(), None),
            ("png", b"\x89PNG\r\n\x1a\n\x00\x00".to_vec(), None),
            (
                "jpeg",
                vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F'],
                None,
            ),
            ("pdf", b"%PDF-1.7".to_vec(), None),
            ("webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ".to_vec(), None),
            ("empty", Vec::new(), None),
            ("zeros", vec![0; 4096], None),
        ];
        for (name, head, expected) in table {
            assert_eq!(sniff(&head), expected, "{name}");
        }
    }

    #[test]
    fn an_id3_tag_fronts_mp3_or_flac() {
        let mut mp3 = id3(100);
        mp3.extend(mp3_frames(2));
        assert_eq!(sniff(&mp3), Some(Container::Mpeg));

        let mut flac = id3(100);
        flac.extend(b"fLaC\x00\x00\x00\x22");
        assert_eq!(sniff(&flac), Some(Container::Flac));

        // The tag runs past the head: assume MP3, the probe looks further.
        let long = id3(200_000);
        assert_eq!(sniff(&long[..SNIFF_LEN]), Some(Container::Mpeg));

        // Taggers put ID3v2 in front of other formats too.
        let mut wavpack = id3(100);
        wavpack.extend(b"wvpk\x00\x10\x00\x00");
        assert_eq!(sniff(&wavpack), Some(Container::WavPack));
    }

    #[test]
    fn a_stray_dolby_sync_word_is_not_audio() {
        // A 0x0B77 sync word with no second one within the largest frame.
        let mut head = vec![0x0B, 0x77, 0x64, 0x22, 0x48, 8 << 3];
        head.extend(vec![0x55; 5000]);
        assert_eq!(sniff(&head), None);
        // An impossible bitstream id.
        assert_eq!(sniff(&[0x0B, 0x77, 0, 0, 0, 31 << 3]), None);
    }

    #[test]
    fn mpeg_needs_consistent_frames() {
        // One valid-looking header followed by garbage is not a stream.
        let mut lone = mp3_frames(1);
        lone.extend([0x55; 1000]);
        assert_eq!(sniff(&lone), None);

        // A stream after some junk is found.
        let mut junk_first = vec![0x00; 300];
        junk_first.extend(mp3_frames(4));
        assert_eq!(sniff(&junk_first), Some(Container::Mpeg));
        assert_eq!(find_mpeg_stream(&junk_first), Some(300));

        // A single frame that is the whole (tiny) file still counts.
        assert_eq!(sniff(&mp3_frames(1)), Some(Container::Mpeg));
    }

    #[test]
    fn accepted_and_refused_containers() {
        for accepted in [
            Container::Mpeg,
            Container::Flac,
            Container::OggVorbis,
            Container::OggOpus,
            Container::Mp4,
            Container::Wav,
            Container::Aiff,
            Container::Adts,
        ] {
            assert_eq!(accepted.refusal(), None, "{accepted:?}");
        }
        for refused in [
            Container::WavPack,
            Container::Ac3,
            Container::Ape,
            Container::OggFlac,
            Container::Midi,
        ] {
            let reason = refused.refusal().unwrap();
            assert!(
                reason.contains("ffmpeg") || reason.contains("render"),
                "{reason}"
            );
        }
    }

    #[test]
    fn describes_what_is_not_audio() {
        assert_eq!(describe_non_audio(b"liner notes\nline two\n"), "text");
        assert_eq!(describe_non_audio("Björk — 坂本龍一\n".as_bytes()), "text");
        assert_eq!(describe_non_audio(b"\x89PNG\r\n\x1a\n"), "a PNG image");
        assert_eq!(
            describe_non_audio(&[0xFF, 0xD8, 0xFF, 0xDB]),
            "a JPEG image"
        );
        assert_eq!(describe_non_audio(b"PK\x03\x04"), "a ZIP archive");
        assert_eq!(
            describe_non_audio(&[0x00, 0x01, 0x02, 0xFE]),
            "data of an unknown kind"
        );
        // A multi-byte character cut by the end of the head is still text.
        let text = "ééé".as_bytes();
        assert_eq!(describe_non_audio(&text[..5]), "text");
    }
}
