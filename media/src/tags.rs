//! Tags and cover art as read from the file, format differences smoothed over.

use lofty::file::{TaggedFile, TaggedFileExt};
use lofty::picture::{Picture, PictureType};
use lofty::tag::{Accessor, ItemKey, Tag};

/// The tags a file carries. Values are trimmed; empty values are `None` (or left out of
/// the lists).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tags {
    pub title: Option<String>,
    /// Every artist the file credits, in tag order, each once (ID3v2 frames holding
    /// several NUL-separated values, repeated Vorbis `ARTIST` fields, ...). A value is
    /// never split at characters such as `/`, `;` or `&`: "AC/DC" is one band.
    pub artists: Vec<String>,
    pub album: Option<String>,
    /// The artist the album is filed under (TPE2, aART, ALBUMARTIST); "Various Artists"
    /// for a file flagged as part of a compilation that names none.
    pub album_artist: Option<String>,
    /// Every genre, in tag order, each once.
    pub genres: Vec<String>,
    pub track: Option<u32>,
    pub disc: Option<u32>,
    pub year: Option<i32>,
}

/// Album artist of a compilation whose files name none (what iTunes and Picard use).
pub const VARIOUS_ARTISTS: &str = "Various Artists";

/// Embedded cover art.
#[derive(Clone, PartialEq, Eq)]
pub struct Cover {
    pub bytes: Vec<u8>,
    /// An `image/*` MIME type, from the bytes when recognisable, else as declared.
    pub content_type: String,
}

impl std::fmt::Debug for Cover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cover")
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Trims whitespace and NULs (ID3 terminators, padded fixed-width fields); an empty
/// result is no value.
pub(crate) fn clean(value: &str) -> Option<String> {
    let trimmed = value.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// Reads the tags, preferring the format's primary tag and filling gaps from the
/// others (an ID3v1 tag behind an ID3v2 one, say).
pub(crate) fn read_tags(file: &TaggedFile) -> Tags {
    let ordered = ordered_tags(file);
    let text = |get: &dyn Fn(&Tag) -> Option<String>| ordered.iter().find_map(|tag| get(tag));
    let number = |get: &dyn Fn(&Tag) -> Option<u32>| {
        ordered.iter().find_map(|tag| get(tag).filter(|&n| n > 0))
    };
    // Several values come from one tag: an ID3v1 tag behind an ID3v2 one repeats the
    // first artist, cut to 30 characters.
    let list = |key: ItemKey| {
        ordered
            .iter()
            .map(|tag| values(tag, key))
            .find(|values| !values.is_empty())
            .unwrap_or_default()
    };
    // Picard writes the credit as typed ("A feat. B") to ARTIST and the artists one by
    // one to ARTISTS: the separate names are the ones to browse by.
    let mut artists = list(ItemKey::TrackArtists);
    if artists.is_empty() {
        artists = list(ItemKey::TrackArtist);
    }
    let compilation = ordered
        .iter()
        .find_map(|tag| tag.get_string(ItemKey::FlagCompilation))
        .is_some_and(|flag| matches!(flag.trim(), "1" | "true" | "TRUE" | "True"));
    Tags {
        title: text(&|tag| tag.title().as_deref().and_then(clean)),
        artists,
        album: text(&|tag| tag.album().as_deref().and_then(clean)),
        album_artist: text(&|tag| tag.get_string(ItemKey::AlbumArtist).and_then(clean))
            .or_else(|| compilation.then(|| VARIOUS_ARTISTS.to_string())),
        genres: list(ItemKey::Genre),
        track: number(&|tag| tag.track()),
        disc: number(&|tag| tag.disk()),
        year: ordered.iter().find_map(|tag| year(tag)),
    }
}

/// Every value of `key` in `tag`, cleaned, each once (compared ignoring case).
fn values(tag: &Tag, key: ItemKey) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for value in tag.get_strings(key).filter_map(clean) {
        if !values
            .iter()
            .any(|seen| seen.to_lowercase() == value.to_lowercase())
        {
            values.push(value);
        }
    }
    values
}

fn ordered_tags(file: &TaggedFile) -> Vec<&Tag> {
    let primary = file.primary_tag();
    primary
        .into_iter()
        .chain(
            file.tags()
                .iter()
                .filter(|tag| Some(tag.tag_type()) != primary.map(Tag::tag_type)),
        )
        .collect()
}

/// The year, from a full date or anything that starts with four digits ("1997-03",
/// "1997?"), which lofty's date parser refuses.
fn year(tag: &Tag) -> Option<i32> {
    if let Some(date) = tag.date() {
        return (date.year > 0).then_some(i32::from(date.year));
    }
    [
        ItemKey::RecordingDate,
        ItemKey::Year,
        ItemKey::ReleaseDate,
        ItemKey::OriginalReleaseDate,
    ]
    .into_iter()
    .filter_map(|key| tag.get_string(key))
    .find_map(leading_year)
}

fn leading_year(text: &str) -> Option<i32> {
    let text = text.trim();
    let digits = text.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text[4..].starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&year| year > 0)
}

/// The front cover if there is one, else the first usable picture.
pub(crate) fn read_cover(file: &TaggedFile) -> Option<Cover> {
    let pictures: Vec<&Picture> = ordered_tags(file)
        .into_iter()
        .flat_map(|tag| tag.pictures())
        .filter(|picture| !picture.data().is_empty())
        .collect();
    let chosen = pictures
        .iter()
        .filter(|picture| picture.pic_type() == PictureType::CoverFront)
        .chain(pictures.iter())
        .find_map(|picture| image_type(picture).map(|content_type| (picture, content_type)))?;
    let (picture, content_type) = chosen;
    Some(Cover {
        bytes: picture.data().to_vec(),
        content_type,
    })
}

/// The image type, trusting the bytes over the declared MIME type (taggers write
/// "image/jpg", or nothing); `None` for pictures that are not images (ID3 allows a
/// URL in place of the picture).
fn image_type(picture: &Picture) -> Option<String> {
    let data = picture.data();
    let sniffed = if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if data.starts_with(b"RIFF") && data.get(8..12) == Some(b"WEBP") {
        Some("image/webp")
    } else if data.starts_with(b"BM") {
        Some("image/bmp")
    } else {
        None
    };
    if let Some(sniffed) = sniffed {
        return Some(sniffed.to_string());
    }
    let declared = picture.mime_type()?.as_str().trim().to_ascii_lowercase();
    (declared.starts_with("image/") && declared.len() > "image/".len()).then_some(declared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_trims_whitespace_and_nuls() {
        assert_eq!(clean("  Björk \0\0"), Some("Björk".to_string()));
        assert_eq!(clean("\0 \t\n"), None);
        assert_eq!(clean(""), None);
        assert_eq!(clean("坂本龍一"), Some("坂本龍一".to_string()));
    }

    #[test]
    fn leading_years() {
        assert_eq!(leading_year("1997"), Some(1997));
        assert_eq!(leading_year("1997-03-01"), Some(1997));
        assert_eq!(leading_year(" 2003?"), Some(2003));
        assert_eq!(leading_year("19970"), None);
        assert_eq!(leading_year("97"), None);
        assert_eq!(leading_year("0000"), None);
        assert_eq!(leading_year("Spring 1997"), None);
    }

    #[test]
    fn cover_types_come_from_bytes_first() {
        use lofty::picture::MimeType;
        let png = Picture::unchecked(b"\x89PNG\r\n\x1a\n rest".to_vec())
            .mime_type(MimeType::Jpeg)
            .build();
        assert_eq!(image_type(&png).as_deref(), Some("image/png"));
        let declared = Picture::unchecked(b"????".to_vec())
            .mime_type(MimeType::Unknown("image/x-custom".into()))
            .build();
        assert_eq!(image_type(&declared).as_deref(), Some("image/x-custom"));
        let link = Picture::unchecked(b"http://example.com/a.jpg".to_vec())
            .mime_type(MimeType::Unknown("-->".into()))
            .build();
        assert_eq!(image_type(&link), None);
    }
}
