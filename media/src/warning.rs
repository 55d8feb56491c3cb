//! Problems that do not keep a file out. Only audio the player cannot decode is refused;
//! anything else wrong with a file (a damaged tag, a header promising more audio than
//! there is) is catalogued as well as it can be and reported, so an admin can fix the
//! file and upload it again.

use std::fmt;

/// What kind of problem a [`Warning`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    /// A tag item could not be read and was skipped; the other items were read.
    TagDamaged,
    /// No tag could be read at all: the song is catalogued with fallbacks.
    TagsUnreadable,
    /// Most of the audio the file's header promises is missing: the song is catalogued
    /// with the length that is there.
    Truncated,
    /// The header's length and the audio disagree (less than half is missing, or there
    /// is more than promised): the audio's own length is stored.
    LengthMismatch,
    /// The file carries an embedded cue sheet (a whole disc in one file): it is one song.
    CueSheet,
}

impl WarningCode {
    /// Stable machine-readable name, as in reports and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            WarningCode::TagDamaged => "tag_damaged",
            WarningCode::TagsUnreadable => "tags_unreadable",
            WarningCode::Truncated => "truncated",
            WarningCode::LengthMismatch => "length_mismatch",
            WarningCode::CueSheet => "cue_sheet",
        }
    }
}

/// One problem with an accepted file: a code and a sentence that names it and says what
/// to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Warning {
    pub code: WarningCode,
    pub message: String,
}

impl Warning {
    pub(crate) fn new(code: WarningCode, message: impl Into<String>) -> Warning {
        Warning {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_names() {
        for code in [
            WarningCode::TagDamaged,
            WarningCode::TagsUnreadable,
            WarningCode::Truncated,
            WarningCode::LengthMismatch,
            WarningCode::CueSheet,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.name()));
        }
        let warning = Warning::new(WarningCode::Truncated, "cut short");
        assert_eq!(
            serde_json::to_string(&warning).unwrap(),
            r#"{"code":"truncated","message":"cut short"}"#
        );
    }
}
