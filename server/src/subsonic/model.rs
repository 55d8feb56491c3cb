//! Catalog rows as Subsonic elements (`Child`, `AlbumID3`, `ArtistID3`, `Playlist`,
//! `PodcastEpisode`), with the caller's stars and ratings.

use std::collections::HashMap;

use cadenza_api::{Album, Artist, Episode, Playlist, Podcast, Song};
use cadenza_catalog::{Annotation, Item};
use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use super::ids::{self, Id};

/// The caller's stars and ratings on the items of one answer.
#[derive(Debug, Default)]
pub struct Marks(pub HashMap<Item, Annotation>);

impl Marks {
    fn starred(&self, item: Item) -> Option<String> {
        self.0.get(&item).and_then(|a| a.starred_at).map(iso)
    }

    fn rating(&self, item: Item) -> Option<u8> {
        self.0.get(&item).and_then(|a| a.rating)
    }
}

/// The items of songs, their albums and artists (for [`Marks`]).
pub fn song_items(songs: &[Song]) -> Vec<Item> {
    songs.iter().map(|s| Item::Song(s.id)).collect()
}

/// ISO 8601 in UTC, as the Subsonic dates are.
pub fn iso(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The file suffix clients expect for a codec.
pub fn suffix(codec: &str) -> &str {
    match codec {
        "vorbis" => "ogg",
        "aac" => "m4a",
        other => other,
    }
}

fn seconds(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

/// A path-like name some clients show or sort by; there are no folders behind it. Written
/// straight into the answer (no string of its own).
struct SongPath<'a>(&'a Song);

impl std::fmt::Display for SongPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        let clean = |f: &mut std::fmt::Formatter<'_>, s: &str| {
            s.chars()
                .try_for_each(|c| f.write_char(if c == '/' { '_' } else { c }))
        };
        let song = self.0;
        clean(f, &song.artist)?;
        f.write_char('/')?;
        clean(f, &song.album)?;
        f.write_char('/')?;
        if let Some(track) = song.track {
            write!(f, "{track:02} - ")?;
        }
        clean(f, &song.title)?;
        write!(f, ".{}", suffix(&song.codec))
    }
}

impl Serialize for SongPath<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// OpenSubsonic's `ArtistID3` list entry, as `artists` and `albumArtists` hold them.
#[derive(Serialize)]
struct ArtistRef<'a> {
    id: Id,
    name: &'a str,
}

/// A list of credited artists as `ArtistRef`s, written without collecting them first.
struct Credits<'a>(&'a [cadenza_api::ArtistRef]);

impl Serialize for Credits<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|a| ArtistRef {
            id: Id::Artist(a.id),
            name: &a.name,
        }))
    }
}

/// OpenSubsonic's `ItemGenre` list.
struct ItemGenres<'a>(&'a [String]);

#[derive(Serialize)]
struct ItemGenre<'a> {
    name: &'a str,
}

impl Serialize for ItemGenres<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|name| ItemGenre { name }))
    }
}

// The element structs below list their fields in the byte order of their names: the
// documents were built as sorted JSON maps before, and both JSON and XML keep that order.

/// A song as `Child`. `artist` is every credited artist joined ("A, B"); OpenSubsonic
/// clients read them one by one from `artists` (each browsable by its id), the album's
/// artist from `albumArtists`, and every genre from `genres`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Child<'a> {
    album: &'a str,
    album_artists: Credits<'a>,
    album_id: Id,
    artist: &'a str,
    artist_id: Id,
    artists: Credits<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bit_rate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_count: Option<u8>,
    content_type: &'a str,
    cover_art: Id,
    created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    disc_number: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_album_artist: Option<&'a str>,
    display_artist: &'a str,
    duration: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    genre: Option<&'a str>,
    genres: ItemGenres<'a>,
    id: Id,
    is_dir: bool,
    is_video: bool,
    media_type: &'static str,
    parent: Id,
    path: SongPath<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sampling_rate: Option<u32>,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    starred: Option<String>,
    suffix: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    track: Option<u32>,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_rating: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    year: Option<i32>,
}

pub fn child<'a>(song: &'a Song, marks: &Marks) -> Child<'a> {
    let item = Item::Song(song.id);
    Child {
        album: &song.album,
        album_artists: Credits(song.album_artist.as_slice()),
        album_id: Id::Album(song.album_id),
        artist: &song.artist,
        artist_id: Id::Artist(song.artist_id),
        artists: Credits(&song.artists),
        bit_rate: song.bitrate_kbps,
        channel_count: song.channels,
        content_type: &song.content_type,
        cover_art: Id::Album(song.album_id),
        created: iso(song.created_at),
        disc_number: song.disc,
        display_album_artist: song.album_artist.as_ref().map(|a| a.name.as_str()),
        display_artist: &song.artist,
        duration: seconds(song.duration_ms),
        genre: song.genre.as_deref(),
        genres: ItemGenres(&song.genres),
        id: Id::Song(song.id),
        is_dir: false,
        is_video: false,
        media_type: "song",
        parent: Id::Album(song.album_id),
        path: SongPath(song),
        sampling_rate: song.sample_rate,
        size: song.size,
        starred: marks.starred(item),
        suffix: suffix(&song.codec),
        title: &song.title,
        track: song.track,
        kind: "music",
        user_rating: marks.rating(item),
        year: song.year,
    }
}

/// Catalog rows as a list of Subsonic elements, each built by `element` with the caller's
/// marks as the list is written (no list of elements is held in memory).
pub struct Elements<'a, T, E> {
    rows: &'a [T],
    marks: &'a Marks,
    element: fn(&'a T, &'a Marks) -> E,
}

impl<'a, T, E: Serialize> Serialize for Elements<'a, T, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.rows.iter().map(|row| (self.element)(row, self.marks)))
    }
}

/// Songs as a list of `Child`.
pub type Children<'a> = Elements<'a, Song, Child<'a>>;

pub fn children<'a>(songs: &'a [Song], marks: &'a Marks) -> Children<'a> {
    Elements {
        rows: songs,
        marks,
        element: child,
    }
}

/// An album as `AlbumID3`, with its songs for `getAlbum`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlbumId3<'a> {
    artist: &'a str,
    artist_id: Id,
    artists: [ArtistRef<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    cover_art: Option<Id>,
    created: String,
    display_artist: &'a str,
    duration: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    genre: Option<&'a str>,
    genres: ItemGenres<'a>,
    id: Id,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    song: Option<Children<'a>>,
    song_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    starred: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_rating: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    year: Option<i32>,
}

/// An album as `AlbumID3` (without its songs).
pub fn album_id3<'a>(album: &'a Album, marks: &Marks) -> AlbumId3<'a> {
    let item = Item::Album(album.id);
    AlbumId3 {
        artist: &album.artist,
        artist_id: Id::Artist(album.artist_id),
        artists: [ArtistRef {
            id: Id::Artist(album.artist_id),
            name: &album.artist,
        }],
        cover_art: album.has_cover.then_some(Id::Album(album.id)),
        created: iso(album.created_at),
        display_artist: &album.artist,
        duration: seconds(album.duration_ms),
        genre: album.genre.as_deref(),
        genres: ItemGenres(album.genre.as_slice()),
        id: Id::Album(album.id),
        name: &album.title,
        song: None,
        song_count: album.song_count,
        starred: marks.starred(item),
        user_rating: marks.rating(item),
        year: album.year,
    }
}

impl<'a> AlbumId3<'a> {
    /// With its songs (`getAlbum`).
    pub fn with_songs(self, songs: Children<'a>) -> Self {
        Self {
            song: Some(songs),
            ..self
        }
    }
}

/// Albums as a list of `AlbumID3`.
pub type AlbumsId3<'a> = Elements<'a, Album, AlbumId3<'a>>;

pub fn albums_id3<'a>(albums: &'a [Album], marks: &'a Marks) -> AlbumsId3<'a> {
    Elements {
        rows: albums,
        marks,
        element: album_id3,
    }
}

/// An album as a folder `Child` (the file-structure view of `getAlbumList`, `getStarred`
/// and `getMusicDirectory`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlbumChild<'a> {
    album: &'a str,
    album_id: Id,
    artist: &'a str,
    artist_id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    cover_art: Option<Id>,
    created: String,
    duration: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    genre: Option<&'a str>,
    id: Id,
    is_dir: bool,
    name: &'a str,
    parent: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    starred: Option<String>,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_rating: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    year: Option<i32>,
}

pub fn album_child<'a>(album: &'a Album, marks: &Marks) -> AlbumChild<'a> {
    let item = Item::Album(album.id);
    AlbumChild {
        album: &album.title,
        album_id: Id::Album(album.id),
        artist: &album.artist,
        artist_id: Id::Artist(album.artist_id),
        cover_art: album.has_cover.then_some(Id::Album(album.id)),
        created: iso(album.created_at),
        duration: seconds(album.duration_ms),
        genre: album.genre.as_deref(),
        id: Id::Album(album.id),
        is_dir: true,
        name: &album.title,
        parent: Id::Artist(album.artist_id),
        starred: marks.starred(item),
        title: &album.title,
        user_rating: marks.rating(item),
        year: album.year,
    }
}

/// Albums as a list of folder `Child`s.
pub type AlbumChildren<'a> = Elements<'a, Album, AlbumChild<'a>>;

pub fn album_children<'a>(albums: &'a [Album], marks: &'a Marks) -> AlbumChildren<'a> {
    Elements {
        rows: albums,
        marks,
        element: album_child,
    }
}

/// An artist as `ArtistID3` (or the older `Artist`, which has a subset of its fields).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtistId3<'a> {
    album_count: u32,
    id: Id,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    starred: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_rating: Option<u8>,
}

pub fn artist_id3<'a>(artist: &'a Artist, marks: &Marks) -> ArtistId3<'a> {
    let item = Item::Artist(artist.id);
    ArtistId3 {
        album_count: artist.album_count,
        id: Id::Artist(artist.id),
        name: &artist.name,
        starred: marks.starred(item),
        user_rating: marks.rating(item),
    }
}

/// Artists as a list of `ArtistID3`.
pub type ArtistsId3<'a> = Elements<'a, Artist, ArtistId3<'a>>;

pub fn artists_id3<'a>(artists: &'a [Artist], marks: &'a Marks) -> ArtistsId3<'a> {
    Elements {
        rows: artists,
        marks,
        element: artist_id3,
    }
}

/// `{"song": [Child...]}`: randomSongs, songsByGenre, topSongs, similarSongs(2).
#[derive(Serialize)]
pub struct SongList<'a> {
    pub song: Children<'a>,
}

/// `{"album": [...]}`: albumList(2).
#[derive(Serialize)]
pub struct AlbumList<T> {
    pub album: T,
}

/// Artists, albums and songs in one element: searchResult2/3, starred(2). `A` is the
/// album view (`AlbumID3` or a folder `Child`).
#[derive(Serialize)]
pub struct Found<'a, A> {
    pub album: A,
    pub artist: ArtistsId3<'a>,
    pub song: Children<'a>,
}

/// A payload element as a JSON value, for the endpoints that add fields to it.
pub fn value(element: &impl Serialize) -> crate::subsonic::Result<Value> {
    serde_json::to_value(element)
        .map_err(|e| crate::subsonic::Error::generic(format!("could not write the answer: {e}")))
}

/// A playlist as `Playlist`, with its songs for `getPlaylist`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaylistElement<'a> {
    changed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
    created: String,
    duration: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<Children<'a>>,
    id: Id,
    name: &'a str,
    owner: &'a str,
    public: bool,
    song_count: u32,
}

pub fn playlist(list: &Playlist) -> PlaylistElement<'_> {
    PlaylistElement {
        changed: iso(list.updated_at),
        comment: list.comment.as_deref(),
        created: iso(list.created_at),
        duration: seconds(list.duration_ms),
        entry: None,
        id: Id::Playlist(list.id),
        name: &list.name,
        owner: &list.owner,
        public: list.public,
        song_count: list.song_count,
    }
}

impl<'a> PlaylistElement<'a> {
    /// With its songs (`getPlaylist`).
    pub fn with_entries(self, songs: Children<'a>) -> Self {
        Self {
            entry: Some(songs),
            ..self
        }
    }
}

/// An episode as `PodcastEpisode` (a `Child` with podcast fields). Every stored episode
/// has its audio, so its status is always `completed`.
pub fn episode(episode: &Episode, podcast: Option<&Podcast>) -> Value {
    json!({
        "id": ids::episode(episode.id),
        "parent": ids::podcast(episode.podcast_id),
        "isDir": false,
        "title": episode.title,
        "album": podcast.map(|p| p.title.clone()),
        "artist": podcast.and_then(|p| p.author.clone()),
        "size": episode.size,
        "contentType": episode.content_type,
        "suffix": suffix(&episode.codec),
        "duration": seconds(episode.duration_ms),
        "isVideo": false,
        "type": "podcast",
        "mediaType": "podcastEpisode",
        "bookmarkPosition": episode.position_ms.map(seconds),
        "streamId": ids::episode(episode.id),
        "channelId": ids::podcast(episode.podcast_id),
        "description": episode.description,
        "status": "completed",
        "publishDate": episode.published_at.map(iso),
    })
}

/// A podcast as `PodcastChannel` (episodes added by the caller when wanted).
pub fn channel(podcast: &Podcast) -> Value {
    json!({
        "id": ids::podcast(podcast.id),
        "url": podcast.feed_url.clone().unwrap_or_default(),
        "title": podcast.title,
        "description": podcast.description,
        "status": if podcast.refresh_error.is_some() { "error" } else { "completed" },
        "errorMessage": podcast.refresh_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_suffixes() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_704_794_400), "2024-01-09T10:00:00Z");
        assert_eq!(suffix("vorbis"), "ogg");
        assert_eq!(suffix("flac"), "flac");
        assert_eq!(seconds(1), 1);
        assert_eq!(seconds(180_000), 180);
    }
}
