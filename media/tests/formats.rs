//! Formats beyond the fixture library (files in `tests/data`, made by its
//! `generate.sh`): audio the player cannot decode is refused with its own reason;
//! unusual but playable variants are accepted with the right length.

use std::path::PathBuf;

use cadenza_media::{probe_file, Codec};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn undecodable_audio_is_refused_with_its_name() {
    let cases = [
        (
            "aac-main.m4a",
            "unsupported_format",
            "unsupported format aac (this variant) in MP4/M4A",
        ),
        ("flac-in-ogg.oga", "unsupported_format", "FLAC in Ogg"),
        ("speex.spx", "unsupported_format", "Speex"),
        ("wavpack.wv", "unsupported_format", "WavPack"),
        ("opus.webm", "unsupported_format", "Matroska/WebM"),
        ("wma.wma", "unsupported_format", "ASF/WMA"),
        ("mp3-in-mp4.mp4", "unsupported_format", "MP3 in MP4"),
        ("video.mp4", "unsupported_format", "MP4 video"),
        ("video-only.mp4", "not_audio", "without any audio track"),
    ];
    let mut failures = Vec::new();
    for (name, code, words) in cases {
        match probe_file(&data(name)) {
            Err(error) if error.code() == code && error.to_string().contains(words) => {
                // Every refusal says what to do instead.
                let message = error.to_string();
                assert!(
                    message.contains("ffmpeg") || message.contains("upload"),
                    "{name}: {message}"
                );
            }
            Err(error) => failures.push(format!("{name}: {} {error}", error.code())),
            Ok(probe) => failures.push(format!("{name}: accepted as {probe:?}")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn playable_variants_are_accepted() {
    // (file, codec, duration ms, tolerance ms, sample rate, channels)
    let cases = [
        ("float.wav", Codec::Wav, 500, 1, 8_000, 1),
        ("aiff.aiff", Codec::Aiff, 500, 1, 8_000, 1),
        ("alaw.wav", Codec::Wav, 1000, 1, 8_000, 1),
        ("alac.m4a", Codec::Alac, 1000, 1, 8_000, 1),
        ("pcm24-extensible.wav", Codec::Wav, 500, 1, 8_000, 2),
        // lame's encoder delay and padding add up to two frames of 26 ms.
        ("vbr-no-xing.mp3", Codec::Mp3, 1000, 80, 22_050, 1),
        ("mpeg2.mp3", Codec::Mp3, 1000, 80, 22_050, 1),
        // Frames counted: 28 of 1152 samples, the encoder's delay included.
        ("layer2.mp2", Codec::Mp2, 1008, 1, 32_000, 1),
        ("faststart.m4a", Codec::Aac, 1000, 60, 22_050, 1),
        // Frames counted (nine of 1024 samples, the encoder's priming included, as ffprobe
        // counts them): lofty estimates a raw stream's length from its first frame.
        ("raw.aac", Codec::Adts, 1152, 1, 8_000, 1),
    ];
    let mut failures = Vec::new();
    for (name, codec, duration, tolerance, rate, channels) in cases {
        match probe_file(&data(name)) {
            Ok(probe) => {
                let actual = (probe.codec, probe.sample_rate, probe.channels);
                if actual != (codec, Some(rate), Some(channels))
                    || probe.duration_ms.abs_diff(duration) > tolerance
                {
                    failures.push(format!("{name}: {probe:?}"));
                }
            }
            Err(error) => failures.push(format!("{name}: refused: {error}")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Without a Xing header lofty estimates an MP3's length and bitrate from its first
/// frame; counting frames gives the real average.
#[test]
fn vbr_without_a_header_gets_its_average_bitrate() {
    let probe = probe_file(&data("vbr-no-xing.mp3")).expect("accepted");
    let size = std::fs::metadata(data("vbr-no-xing.mp3"))
        .expect("exists")
        .len();
    let average = size * 8 / probe.duration_ms;
    let reported = u64::from(probe.bitrate_kbps.expect("a bitrate"));
    assert!(
        reported.abs_diff(average) <= 2,
        "{reported} vs {average} kbit/s"
    );
}

/// An ID3v1 tag with no year, as lame and most taggers write one (NULs or spaces), is whole:
/// no warning. A year of other bytes is damage, and said so.
#[test]
fn an_id3v1_tag_without_a_year_is_no_damage() {
    let audio = std::fs::read(data("vbr-no-xing.mp3")).expect("exists");
    let dir = tempfile::tempdir().expect("temp dir");
    for (year, damaged) in [(*b"\0\0\0\0", false), (*b"    ", false), (*b"19x9", true)] {
        let mut tag = [0u8; 128];
        tag[..3].copy_from_slice(b"TAG");
        tag[3..12].copy_from_slice(b"Plain Old");
        tag[33..40].copy_from_slice(b"Encoder");
        tag[93..97].copy_from_slice(&year);
        let path = dir.path().join("tagged.mp3");
        std::fs::write(&path, [audio.as_slice(), &tag].concat()).expect("written");
        let probe = probe_file(&path).expect("accepted");
        assert_eq!(probe.tags.title.as_deref(), Some("Plain Old"), "{year:?}");
        assert_eq!(probe.tags.artists, ["Encoder"], "{year:?}");
        let codes: Vec<&str> = probe.warnings.iter().map(|w| w.code.name()).collect();
        let expected: &[&str] = if damaged { &["tag_damaged"] } else { &[] };
        assert_eq!(codes, expected, "{year:?}: {:?}", probe.warnings);
    }
}
