//! Text rules shared by every writer: required names, lookup keys, and the form text
//! takes inside the full-text index.

use crate::{CatalogError, CatalogResult};

/// Longest name we store for artists, albums, titles, playlists, podcasts.
pub(crate) const MAX_NAME_CHARS: usize = 500;

/// Trims `value` and rejects it when empty, longer than `max` characters, or holding a NUL
/// character (which PostgreSQL text cannot store, so no backend stores it).
/// `what` names the field in the error, e.g. `song title`.
pub(crate) fn required(what: &str, value: &str, max: usize) -> CatalogResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(CatalogError::Invalid(format!("{what} is empty")));
    }
    if trimmed.contains('\0') {
        return Err(CatalogError::Invalid(format!(
            "{what} contains a NUL character"
        )));
    }
    let chars = trimmed.chars().count();
    if chars > max {
        return Err(CatalogError::Invalid(format!(
            "{what} is {chars} characters long; the limit is {max}"
        )));
    }
    Ok(trimmed.to_owned())
}

/// Like [`required`], but blank means absent.
pub(crate) fn optional(
    what: &str,
    value: Option<&str>,
    max: usize,
) -> CatalogResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required(what, v, max).map(Some),
    }
}

/// The key names are unique by: case-folded with whitespace runs collapsed, so
/// "Björk", "BJÖRK" and " björk " are one artist.
pub(crate) fn name_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for word in name.split_whitespace() {
        if !key.is_empty() {
            key.push(' ');
        }
        key.extend(word.chars().flat_map(char::to_lowercase));
    }
    key
}

/// Content hashes are lowercase hex SHA-256, which is also how blobs are named.
pub(crate) fn check_hash(what: &str, hash: &str) -> CatalogResult<()> {
    let ok = hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        Ok(())
    } else {
        Err(CatalogError::Invalid(format!(
            "{what} `{}` is not a lowercase hex SHA-256 (64 characters 0-9a-f)",
            hash.chars().take(80).collect::<String>()
        )))
    }
}

/// Text as it goes into (and is looked up in) the full-text index.
///
/// Chinese and Japanese are written without spaces, so SQLite's unicode61 tokenizer would
/// see `坂本龍一` as one token and only its beginning could be found. Spacing out every
/// ideograph and kana makes each one a token; a query for `龍一` then becomes the phrase
/// `"龍 一"`, which matches anywhere inside the name.
pub(crate) fn fts_text(text: &str) -> String {
    if !text.chars().any(is_cjk) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() * 2);
    let mut prev_cjk = false;
    for c in text.chars() {
        let cjk = is_cjk(c);
        if (cjk || prev_cjk) && !c.is_whitespace() && !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
        out.push(c);
        prev_cjk = cjk;
    }
    out
}

/// Han ideographs, hiragana and katakana: scripts written without spaces between words.
/// (Hangul is written with spaces, so it keeps unicode61's word tokens.)
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF     // hiragana, katakana
        | 0x31F0..=0x31FF   // katakana phonetic extensions
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0xFF66..=0xFF9F   // half-width katakana
        | 0x20000..=0x3FFFF // CJK extensions B and later
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_trims_and_names_the_field() {
        assert_eq!(
            required("song title", "  Hey Jude ", 200).unwrap(),
            "Hey Jude"
        );
        let empty = required("playlist name", " \t", 200).unwrap_err();
        assert_eq!(empty.to_string(), "playlist name is empty");
        let nul = required("playlist name", "a\0b", 200).unwrap_err();
        assert_eq!(nul.to_string(), "playlist name contains a NUL character");
        let long = required("playlist name", &"x".repeat(201), 200).unwrap_err();
        assert!(long.to_string().contains("201 characters"), "{long}");
        assert_eq!(optional("genre", Some("  "), 10).unwrap(), None);
        assert_eq!(
            optional("genre", Some(" Rock "), 10).unwrap(),
            Some("Rock".into())
        );
    }

    #[test]
    fn keys_fold_case_and_whitespace() {
        assert_eq!(name_key(" Björk "), name_key("BJÖRK"));
        assert_eq!(name_key("The   Beatles"), "the beatles");
        assert_ne!(name_key("Bjork"), name_key("Björk"));
    }

    #[test]
    fn hashes_must_be_lowercase_hex_sha256() {
        assert!(check_hash("hash", &"a1".repeat(32)).is_ok());
        assert!(check_hash("hash", &"A1".repeat(32)).is_err());
        assert!(check_hash("hash", "abc").is_err());
        assert!(check_hash("hash", &"g1".repeat(32)).is_err());
    }

    #[test]
    fn cjk_is_spaced_out_and_latin_left_alone() {
        assert_eq!(fts_text("坂本龍一"), "坂 本 龍 一");
        assert_eq!(fts_text("Tokyo坂本 Sine"), "Tokyo 坂 本 Sine");
        assert_eq!(fts_text("静かな波形"), "静 か な 波 形");
        assert_eq!(fts_text("Björk"), "Björk");
        assert_eq!(fts_text("서울 Seoul"), "서울 Seoul");
    }
}
