//! The audio codecs Cadenza accepts: exactly the ones the player can decode.

use std::fmt;

/// An accepted codec. Each maps to one container, so the codec also fixes the
/// `Content-Type` a stream is served with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// MPEG-1/2 Audio Layer III.
    Mp3,
    /// MPEG-1/2 Audio Layer II (broadcast and DVD audio), in the same plain stream.
    Mp2,
    /// Native FLAC (not FLAC in Ogg or MP4).
    Flac,
    /// Vorbis in Ogg.
    Vorbis,
    /// Opus in Ogg.
    Opus,
    /// AAC in an MP4/M4A container.
    Aac,
    /// Apple Lossless in an MP4/M4A container.
    Alac,
    /// Raw AAC in ADTS frames (`.aac`).
    Adts,
    /// Uncompressed PCM (integer or float) in RIFF/WAVE.
    Wav,
    /// Uncompressed PCM in AIFF or AIFF-C.
    Aiff,
}

impl Codec {
    pub const ALL: [Codec; 10] = [
        Codec::Mp3,
        Codec::Mp2,
        Codec::Flac,
        Codec::Vorbis,
        Codec::Opus,
        Codec::Aac,
        Codec::Alac,
        Codec::Adts,
        Codec::Wav,
        Codec::Aiff,
    ];

    /// Stable lowercase name, as stored in the catalog and sent on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Mp3 => "mp3",
            Codec::Mp2 => "mp2",
            Codec::Flac => "flac",
            Codec::Vorbis => "vorbis",
            Codec::Opus => "opus",
            Codec::Aac => "aac",
            Codec::Alac => "alac",
            Codec::Adts => "adts",
            Codec::Wav => "wav",
            Codec::Aiff => "aiff",
        }
    }

    /// Inverse of [`Codec::name`].
    pub fn from_name(name: &str) -> Option<Codec> {
        Codec::ALL.into_iter().find(|codec| codec.name() == name)
    }

    /// MIME type to serve the stream with.
    pub fn content_type(self) -> &'static str {
        match self {
            Codec::Mp3 | Codec::Mp2 => "audio/mpeg",
            Codec::Flac => "audio/flac",
            Codec::Vorbis => "audio/ogg",
            Codec::Opus => "audio/ogg; codecs=opus",
            Codec::Aac | Codec::Alac => "audio/mp4",
            Codec::Adts => "audio/aac",
            Codec::Wav => "audio/wav",
            Codec::Aiff => "audio/aiff",
        }
    }

    /// Usual file extension (without the dot), for download names.
    pub fn extension(self) -> &'static str {
        match self {
            Codec::Mp3 => "mp3",
            Codec::Mp2 => "mp2",
            Codec::Flac => "flac",
            Codec::Vorbis => "ogg",
            Codec::Opus => "opus",
            Codec::Aac | Codec::Alac => "m4a",
            Codec::Adts => "aac",
            Codec::Wav => "wav",
            Codec::Aiff => "aiff",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        for codec in Codec::ALL {
            assert_eq!(Codec::from_name(codec.name()), Some(codec));
            assert_eq!(codec.to_string(), codec.name());
        }
        assert_eq!(Codec::from_name("alac"), Some(Codec::Alac));
        assert_eq!(Codec::from_name("ape"), None);
        assert_eq!(Codec::from_name("MP3"), None);
    }

    #[test]
    fn content_types() {
        let expected = [
            (Codec::Mp3, "audio/mpeg"),
            (Codec::Flac, "audio/flac"),
            (Codec::Vorbis, "audio/ogg"),
            (Codec::Opus, "audio/ogg; codecs=opus"),
            (Codec::Aac, "audio/mp4"),
            (Codec::Alac, "audio/mp4"),
            (Codec::Adts, "audio/aac"),
            (Codec::Wav, "audio/wav"),
            (Codec::Aiff, "audio/aiff"),
        ];
        for (codec, content_type) in expected {
            assert_eq!(codec.content_type(), content_type);
        }
    }

    #[test]
    fn serde_uses_the_wire_names() {
        let json = serde_json::to_string(&Codec::Vorbis).unwrap();
        assert_eq!(json, "\"vorbis\"");
        let back: Codec = serde_json::from_str("\"opus\"").unwrap();
        assert_eq!(back, Codec::Opus);
    }
}
