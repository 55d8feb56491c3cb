//! The tags a song is catalogued under: the uploader's overrides, then the file's
//! tags, then fallbacks that are flagged as missing.

use crate::tags::{clean, Tags};

pub const UNKNOWN_ARTIST: &str = "Unknown Artist";
pub const UNKNOWN_ALBUM: &str = "Unknown Album";
/// Title of last resort, when neither tags nor a file name give one.
pub const UNKNOWN_TITLE: &str = "Untitled";

/// Final tags for the catalog. `missing` names the fields (`title`, `artist`,
/// `album`) that had no value and fell back, so ingest can flag them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResolvedTags {
    pub title: String,
    pub artist: String,
    pub album: String,
    pub album_artist: Option<String>,
    pub genre: Option<String>,
    pub track: Option<u32>,
    pub disc: Option<u32>,
    pub year: Option<i32>,
    pub missing: Vec<&'static str>,
}

/// Overrides (what the uploader typed, as tags) win, then the file's tags, then
/// fallbacks: the title from `filename` (a name or a path, without its extension and a
/// leading track number such as `01 ` or `01 - `), "Unknown Artist", "Unknown Album".
/// Whitespace and NULs are trimmed everywhere and empty strings count as missing.
pub fn resolve_tags(tags: &Tags, overrides: &Tags, filename: Option<&str>) -> ResolvedTags {
    let pick = |over: &Option<String>, tag: &Option<String>| {
        over.as_deref()
            .and_then(clean)
            .or_else(|| tag.as_deref().and_then(clean))
    };
    let mut missing = Vec::new();
    let mut or_fallback =
        |value: Option<String>, field: &'static str, fallback: &dyn Fn() -> String| {
            value.unwrap_or_else(|| {
                missing.push(field);
                fallback()
            })
        };
    let title = or_fallback(pick(&overrides.title, &tags.title), "title", &|| {
        filename
            .and_then(title_from_filename)
            .unwrap_or_else(|| UNKNOWN_TITLE.to_string())
    });
    let artist = or_fallback(pick(&overrides.artist, &tags.artist), "artist", &|| {
        UNKNOWN_ARTIST.to_string()
    });
    let album = or_fallback(pick(&overrides.album, &tags.album), "album", &|| {
        UNKNOWN_ALBUM.to_string()
    });
    let positive = |n: &u32| *n > 0;
    ResolvedTags {
        title,
        artist,
        album,
        album_artist: pick(&overrides.album_artist, &tags.album_artist),
        genre: pick(&overrides.genre, &tags.genre),
        track: overrides
            .track
            .filter(positive)
            .or(tags.track.filter(positive)),
        disc: overrides
            .disc
            .filter(positive)
            .or(tags.disc.filter(positive)),
        year: overrides
            .year
            .filter(|&y| y > 0)
            .or(tags.year.filter(|&y| y > 0)),
        missing,
    }
}

/// `"music/01 - Glacier Hum.mp3"` → `"Glacier Hum"`.
pub fn title_from_filename(filename: &str) -> Option<String> {
    let name = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    let stem = match name.rfind('.') {
        Some(dot) if dot > 0 => &name[..dot],
        _ => name,
    };
    let stem = clean(stem)?;
    Some(strip_track_number(&stem).unwrap_or(stem))
}

/// Removes a leading track number when it is clearly one: zero-padded (`01 Song`)
/// or followed by a separator (`1 - Song`, `1. Song`, `1_Song`), also after a disc
/// number (`1-01 Song`). "99 Luftballons" and "1984" keep their numbers.
fn strip_track_number(stem: &str) -> Option<String> {
    let mut rest = stem;
    let mut stripped = false;
    // At most a disc number and a track number.
    for _ in 0..2 {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 3 {
            break;
        }
        let after = &rest[digits..];
        let separator_len = after
            .bytes()
            .take_while(|b| matches!(b, b' ' | b'.' | b'-' | b'_'))
            .count();
        let separator = &after[..separator_len];
        let padded = digits >= 2 && rest.starts_with('0');
        let explicit = separator.contains(['.', '-', '_']);
        if separator_len == 0 || !(padded || explicit) {
            break;
        }
        rest = &after[separator_len..];
        stripped = true;
    }
    let rest = clean(rest)?;
    stripped.then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> Tags {
        Tags {
            title: Some("Glacier Hum".into()),
            artist: Some("Björk".into()),
            album: Some("Frequency Garden".into()),
            album_artist: Some("Björk".into()),
            genre: Some("Electronic".into()),
            track: Some(1),
            disc: Some(1),
            year: Some(1997),
        }
    }

    #[test]
    fn tags_are_used_when_present() {
        let resolved = resolve_tags(&tags(), &Tags::default(), Some("x.mp3"));
        assert_eq!(resolved.title, "Glacier Hum");
        assert_eq!(resolved.artist, "Björk");
        assert_eq!(resolved.album, "Frequency Garden");
        assert_eq!(resolved.album_artist.as_deref(), Some("Björk"));
        assert_eq!(resolved.genre.as_deref(), Some("Electronic"));
        assert_eq!(
            (resolved.track, resolved.disc, resolved.year),
            (Some(1), Some(1), Some(1997))
        );
        assert!(resolved.missing.is_empty());
    }

    #[test]
    fn overrides_win() {
        let overrides = Tags {
            title: Some("  New Title ".into()),
            artist: Some("坂本龍一".into()),
            album: Some("".into()),
            album_artist: None,
            genre: Some("Ambient".into()),
            track: Some(7),
            disc: Some(2),
            year: Some(1985),
        };
        let resolved = resolve_tags(&tags(), &overrides, None);
        assert_eq!(resolved.title, "New Title");
        assert_eq!(resolved.artist, "坂本龍一");
        // An empty override does not erase the tag.
        assert_eq!(resolved.album, "Frequency Garden");
        assert_eq!(resolved.genre.as_deref(), Some("Ambient"));
        assert_eq!(
            (resolved.track, resolved.disc, resolved.year),
            (Some(7), Some(2), Some(1985))
        );
        assert!(resolved.missing.is_empty());
    }

    #[test]
    fn fallbacks_are_flagged() {
        let resolved = resolve_tags(
            &Tags::default(),
            &Tags::default(),
            Some("/music/Unsorted/field recording 03.wav"),
        );
        assert_eq!(resolved.title, "field recording 03");
        assert_eq!(resolved.artist, UNKNOWN_ARTIST);
        assert_eq!(resolved.album, UNKNOWN_ALBUM);
        assert_eq!(resolved.missing, ["title", "artist", "album"]);
        assert_eq!(resolved.track, None);
    }

    #[test]
    fn whitespace_and_nul_tags_count_as_missing() {
        let blank = Tags {
            title: Some(" \0".into()),
            artist: Some("\t".into()),
            album: Some("Album\0".into()),
            track: Some(0),
            ..Tags::default()
        };
        let resolved = resolve_tags(&blank, &Tags::default(), Some("02 - Song.flac"));
        assert_eq!(resolved.title, "Song");
        assert_eq!(resolved.artist, UNKNOWN_ARTIST);
        assert_eq!(resolved.album, "Album");
        assert_eq!(resolved.track, None);
        assert_eq!(resolved.missing, ["title", "artist"]);
    }

    #[test]
    fn filename_and_last_resort() {
        assert_eq!(
            resolve_tags(
                &Tags::default(),
                &Tags::default(),
                Some("C:\\Music\\01 Busy Signal.mp3")
            )
            .title,
            "Busy Signal"
        );
        let resolved = resolve_tags(&Tags::default(), &Tags::default(), None);
        assert_eq!(resolved.title, UNKNOWN_TITLE);
        assert_eq!(
            resolve_tags(&Tags::default(), &Tags::default(), Some(".mp3")).title,
            ".mp3"
        );
    }

    #[test]
    fn track_numbers_in_file_names() {
        let cases = [
            ("01 Glacier Hum.mp3", "Glacier Hum"),
            ("01 - Glacier Hum.mp3", "Glacier Hum"),
            ("1 - Song.mp3", "Song"),
            ("7. Song.mp3", "Song"),
            ("03_Song.mp3", "Song"),
            ("1-01 Song.flac", "Song"),
            ("02 Northern Lights 🌌.mp3", "Northern Lights 🌌"),
            ("99 Luftballons.mp3", "99 Luftballons"),
            ("1984.mp3", "1984"),
            ("01.mp3", "01"),
            ("untitled.mp3", "untitled"),
            ("field recording 03.wav", "field recording 03"),
            ("no extension", "no extension"),
            ("序曲.flac", "序曲"),
            ("2024 Live.mp3", "2024 Live"),
        ];
        for (filename, title) in cases {
            assert_eq!(
                title_from_filename(filename).as_deref(),
                Some(title),
                "{filename}"
            );
        }
    }
}
