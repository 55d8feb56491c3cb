//! Catalog rows as Subsonic elements (`Child`, `AlbumID3`, `ArtistID3`, `Playlist`,
//! `PodcastEpisode`), with the caller's stars and ratings.

use std::collections::HashMap;

use cadenza_api::{Album, Artist, Episode, Playlist, Podcast, Song};
use cadenza_catalog::{Annotation, Item};
use serde_json::{json, Value};

use super::ids;

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

/// A path-like name some clients show or sort by; there are no folders behind it.
fn path(song: &Song) -> String {
    let clean = |s: &str| s.replace('/', "_");
    let track = song.track.map(|t| format!("{t:02} - ")).unwrap_or_default();
    format!(
        "{}/{}/{track}{}.{}",
        clean(&song.artist),
        clean(&song.album),
        clean(&song.title),
        suffix(&song.codec)
    )
}

/// A song as `Child`.
pub fn child(song: &Song, marks: &Marks) -> Value {
    let item = Item::Song(song.id);
    json!({
        "id": ids::song(song.id),
        "parent": ids::album(song.album_id),
        "isDir": false,
        "title": song.title,
        "album": song.album,
        "artist": song.artist,
        "track": song.track,
        "year": song.year,
        "genre": song.genre,
        "coverArt": ids::album(song.album_id),
        "size": song.size,
        "contentType": song.content_type,
        "suffix": suffix(&song.codec),
        "duration": seconds(song.duration_ms),
        "bitRate": song.bitrate_kbps,
        "samplingRate": song.sample_rate,
        "channelCount": song.channels,
        "path": path(song),
        "isVideo": false,
        "discNumber": song.disc,
        "created": iso(song.created_at),
        "albumId": ids::album(song.album_id),
        "artistId": ids::artist(song.artist_id),
        "type": "music",
        "mediaType": "song",
        "starred": marks.starred(item),
        "userRating": marks.rating(item),
    })
}

pub fn children(songs: &[Song], marks: &Marks) -> Vec<Value> {
    songs.iter().map(|s| child(s, marks)).collect()
}

/// An album as `AlbumID3` (without its songs).
pub fn album_id3(album: &Album, marks: &Marks) -> Value {
    let item = Item::Album(album.id);
    json!({
        "id": ids::album(album.id),
        "name": album.title,
        "artist": album.artist,
        "artistId": ids::artist(album.artist_id),
        "coverArt": album.has_cover.then(|| ids::album(album.id)),
        "songCount": album.song_count,
        "duration": seconds(album.duration_ms),
        "created": iso(album.created_at),
        "year": album.year,
        "genre": album.genre,
        "starred": marks.starred(item),
        "userRating": marks.rating(item),
    })
}

/// An album as a folder `Child` (the file-structure view of `getAlbumList`, `getStarred`
/// and `getMusicDirectory`).
pub fn album_child(album: &Album, marks: &Marks) -> Value {
    let item = Item::Album(album.id);
    json!({
        "id": ids::album(album.id),
        "parent": ids::artist(album.artist_id),
        "isDir": true,
        "title": album.title,
        "name": album.title,
        "album": album.title,
        "artist": album.artist,
        "year": album.year,
        "genre": album.genre,
        "coverArt": album.has_cover.then(|| ids::album(album.id)),
        "duration": seconds(album.duration_ms),
        "created": iso(album.created_at),
        "albumId": ids::album(album.id),
        "artistId": ids::artist(album.artist_id),
        "starred": marks.starred(item),
        "userRating": marks.rating(item),
    })
}

/// An artist as `ArtistID3` (or the older `Artist`, which has a subset of its fields).
pub fn artist_id3(artist: &Artist, marks: &Marks) -> Value {
    let item = Item::Artist(artist.id);
    json!({
        "id": ids::artist(artist.id),
        "name": artist.name,
        "albumCount": artist.album_count,
        "starred": marks.starred(item),
        "userRating": marks.rating(item),
    })
}

pub fn playlist(list: &Playlist) -> Value {
    json!({
        "id": ids::playlist(list.id),
        "name": list.name,
        "comment": list.comment,
        "owner": list.owner,
        "public": list.public,
        "songCount": list.song_count,
        "duration": seconds(list.duration_ms),
        "created": iso(list.created_at),
        "changed": iso(list.updated_at),
    })
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
