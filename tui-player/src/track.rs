//! A playable item: a song or a podcast episode, with what the queue and the now-playing bar
//! show and what the cache needs. Kept in the local cache index, so it is serialisable.

use cadenza_api::{Episode, EpisodeId, Song, SongId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TrackId {
    Song(SongId),
    Episode(EpisodeId),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    pub id: TrackId,
    pub title: String,
    /// Artist, or the podcast's title for an episode.
    pub artist: String,
    /// Album, or empty for an episode.
    pub album: String,
    pub duration_ms: u64,
    /// Lowercase hex SHA-256 of the audio bytes: the cache key.
    pub hash: String,
    pub size: u64,
    pub content_type: String,
    pub codec: String,
}

impl Track {
    pub fn from_song(song: &Song) -> Self {
        Self {
            id: TrackId::Song(song.id),
            title: song.title.clone(),
            artist: song.artist.clone(),
            album: song.album.clone(),
            duration_ms: song.duration_ms,
            hash: song.hash.clone(),
            size: song.size,
            content_type: song.content_type.clone(),
            codec: song.codec.clone(),
        }
    }

    pub fn from_episode(episode: &Episode, podcast: &str) -> Self {
        Self {
            id: TrackId::Episode(episode.id),
            title: episode.title.clone(),
            artist: podcast.to_string(),
            album: String::new(),
            duration_ms: episode.duration_ms,
            hash: episode.hash.clone(),
            size: episode.size,
            content_type: episode.content_type.clone(),
            codec: episode.codec.clone(),
        }
    }

    pub fn is_episode(&self) -> bool {
        matches!(self.id, TrackId::Episode(_))
    }

    /// A probe hint for the decoder: the codec name maps to a file extension.
    pub fn format_hint(&self) -> &str {
        match self.codec.as_str() {
            "mp3" => "mp3",
            "flac" => "flac",
            "vorbis" | "opus" => "ogg",
            "aac" | "alac" | "m4a" => "m4a",
            "wav" | "pcm" => "wav",
            _ => &self.content_type,
        }
    }
}
