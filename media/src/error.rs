//! Why a file was refused.

use std::io;

/// The formats named in "what to do" messages.
pub(crate) const ACCEPTED_FORMATS: &str = "MP3, FLAC, Ogg Vorbis, Opus, M4A (AAC) or WAV";

/// Why a file cannot become a song. Every message names the problem and what to do.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Zero bytes.
    #[error("the file is empty (0 bytes); check that it was copied or downloaded completely")]
    Empty,
    /// No audio signature we know: text renamed to `.mp3`, images, documents, ...
    #[error("not an audio file: it looks like {detail}; upload {ACCEPTED_FORMATS}")]
    NotAudio { detail: String },
    /// Audio we recognise but the player cannot decode.
    #[error("{format} is not supported: {reason}")]
    Unsupported { format: String, reason: String },
    /// A recognised container that is corrupt, truncated or unparseable.
    #[error("unreadable audio: {detail}")]
    Unreadable { detail: String },
    /// Reading the file failed (permissions, disk): not the file's fault.
    #[error("reading the file failed: {0}")]
    Io(#[from] io::Error),
}

impl MediaError {
    /// Stable machine-readable code for the JSON error body and ingest reports.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::Empty => "empty_file",
            MediaError::NotAudio { .. } => "not_audio",
            MediaError::Unsupported { .. } => "unsupported_format",
            MediaError::Unreadable { .. } => "unreadable_audio",
            MediaError::Io(_) => "io_error",
        }
    }

    pub(crate) fn unreadable(detail: impl Into<String>) -> MediaError {
        MediaError::Unreadable {
            detail: detail.into(),
        }
    }

    pub(crate) fn unsupported(format: impl Into<String>, reason: impl Into<String>) -> MediaError {
        MediaError::Unsupported {
            format: format.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<MediaError> {
        vec![
            MediaError::Empty,
            MediaError::NotAudio {
                detail: "text".into(),
            },
            MediaError::unsupported("AIFF", "convert it to FLAC"),
            MediaError::unreadable("the file is cut short; copy it again"),
            MediaError::Io(io::Error::new(io::ErrorKind::PermissionDenied, "denied")),
        ]
    }

    #[test]
    fn codes_are_distinct_snake_case() {
        let codes: Vec<&str> = all().iter().map(MediaError::code).collect();
        assert_eq!(
            codes,
            [
                "empty_file",
                "not_audio",
                "unsupported_format",
                "unreadable_audio",
                "io_error"
            ]
        );
    }

    #[test]
    fn messages_name_the_problem_and_the_remedy() {
        let messages: Vec<String> = all().iter().map(ToString::to_string).collect();
        assert!(messages[0].contains("empty") && messages[0].contains("copied"));
        assert!(messages[1].contains("looks like text") && messages[1].contains("FLAC"));
        assert_eq!(messages[2], "AIFF is not supported: convert it to FLAC");
        assert!(messages[3].starts_with("unreadable audio: the file is cut short"));
        assert!(messages[4].contains("denied"));
    }
}
