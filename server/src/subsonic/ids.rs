//! Subsonic ids: the catalog's row ids with a prefix per kind (`ar-12`, `al-3`, `tr-7`),
//! so artists, albums and songs can share one namespace (`getMusicDirectory`, `star`,
//! `getCoverArt` take any of them). Row ids never change and are never reused, so these ids
//! are the same across restarts and on every server copy.

use cadenza_catalog::Item;

use super::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id {
    Artist(i64),
    Album(i64),
    Song(i64),
    Playlist(i64),
    Podcast(i64),
    Episode(i64),
}

impl Id {
    /// Parses an id; anything else is "not found" (70), as an unknown id would be.
    pub fn parse(raw: &str) -> Result<Id> {
        let raw = raw.trim();
        let parsed = raw.split_at_checked(3).and_then(|(prefix, number)| {
            let make: fn(i64) -> Id = match prefix {
                "ar-" => Id::Artist,
                "al-" => Id::Album,
                "tr-" => Id::Song,
                "pl-" => Id::Playlist,
                "pc-" => Id::Podcast,
                "ep-" => Id::Episode,
                _ => return None,
            };
            let n: i64 = number.parse().ok().filter(|n| *n > 0)?;
            Some(make(n))
        });
        parsed.ok_or_else(|| {
            Error::not_found(format!(
                "`{}` is not an id of this server (they look like ar-1, al-1, tr-1, pl-1, pc-1, ep-1)",
                super::params::shorten(raw)
            ))
        })
    }

    pub fn song(raw: &str) -> Result<i64> {
        match Id::parse(raw)? {
            Id::Song(id) => Ok(id),
            other => Err(other.wrong_kind("song")),
        }
    }

    pub fn album(raw: &str) -> Result<i64> {
        match Id::parse(raw)? {
            Id::Album(id) => Ok(id),
            other => Err(other.wrong_kind("album")),
        }
    }

    pub fn artist(raw: &str) -> Result<i64> {
        match Id::parse(raw)? {
            Id::Artist(id) => Ok(id),
            other => Err(other.wrong_kind("artist")),
        }
    }

    pub fn playlist(raw: &str) -> Result<i64> {
        match Id::parse(raw)? {
            Id::Playlist(id) => Ok(id),
            other => Err(other.wrong_kind("playlist")),
        }
    }

    pub fn podcast(raw: &str) -> Result<i64> {
        match Id::parse(raw)? {
            Id::Podcast(id) => Ok(id),
            other => Err(other.wrong_kind("podcast channel")),
        }
    }

    pub fn episode(raw: &str) -> Result<i64> {
        match Id::parse(raw)? {
            Id::Episode(id) => Ok(id),
            other => Err(other.wrong_kind("podcast episode")),
        }
    }

    /// What can be starred or rated.
    pub fn item(raw: &str) -> Result<Item> {
        match Id::parse(raw)? {
            Id::Song(id) => Ok(Item::Song(id)),
            Id::Album(id) => Ok(Item::Album(id)),
            Id::Artist(id) => Ok(Item::Artist(id)),
            other => Err(other.wrong_kind("song, album or artist")),
        }
    }

    fn wrong_kind(self, wanted: &str) -> Error {
        Error::not_found(format!("{} is not a {wanted}", self))
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (prefix, id) = match *self {
            Id::Artist(id) => ("ar-", id),
            Id::Album(id) => ("al-", id),
            Id::Song(id) => ("tr-", id),
            Id::Playlist(id) => ("pl-", id),
            Id::Podcast(id) => ("pc-", id),
            Id::Episode(id) => ("ep-", id),
        };
        write!(f, "{prefix}{id}")
    }
}

/// Written as its text, straight into the answer.
impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

pub fn song(id: i64) -> String {
    Id::Song(id).to_string()
}
pub fn podcast(id: i64) -> String {
    Id::Podcast(id).to_string()
}
pub fn episode(id: i64) -> String {
    Id::Episode(id).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_strangers_are_not_found() {
        for id in [Id::Artist(12), Id::Album(3), Id::Song(7), Id::Episode(1)] {
            assert_eq!(Id::parse(&id.to_string()).unwrap(), id);
        }
        assert_eq!(song(7), "tr-7");
        for bad in [
            "7",
            "tr-",
            "tr-x",
            "tr--1",
            "tr-0",
            "xx-1",
            "tr-99999999999999999999",
            "' OR 1=1",
        ] {
            assert_eq!(Id::parse(bad).unwrap_err().code, 70, "{bad}");
        }
        assert_eq!(Id::song("al-1").unwrap_err().code, 70);
        assert_eq!(Id::item("al-4").unwrap(), Item::Album(4));
    }
}
