//! The catalog: songs, albums, artists, genres, users, tokens, playlists, podcasts and plays.
//!
//! HTTP handlers and services see only the [`Catalog`] trait, implemented by
//! [`SqliteCatalog`] (one file, the zero-setup default) and [`PgCatalog`] (PostgreSQL, a
//! primary with streaming read replicas). Methods are synchronous (both clients are); async
//! callers run them on the blocking pool.

#[cfg(test)]
mod behaviour;
mod copy;
mod paging;
mod pg;
mod query;
mod sqlite;
mod text;
mod validate;
pub use copy::{copy_sqlite_to_postgres, CopyError, CopyReport};
pub use pg::{
    redacted, PgCatalog, PgFreshLoad, PgOptions, HEALTH_CHECK_EVERY, READ_ONLY_RETRY_SECS,
};
pub use sqlite::{truncate_write_ahead_log, BulkInsert, FreshLoad, NewPlay, SqliteCatalog};

use cadenza_api::{
    Album, AlbumDetail, AlbumId, Artist, ArtistDetail, ArtistId, BlobStatus, CreatePlaylist,
    CreatePodcast, Episode, EpisodeId, Genre, HotEntry, Page, PageRequest, Playlist,
    PlaylistDetail, PlaylistId, Podcast, PodcastDetail, PodcastId, RecordPlay, Role, SearchResults,
    SearchType, Song, SongId, UpdatePlaylist, User, UserId,
};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CatalogError {
    /// No such row, or the caller may not know it exists (a private playlist).
    #[error("{0}")]
    NotFound(String),
    /// The caller may see the row but not change it.
    #[error("{0}")]
    Forbidden(String),
    /// A unique name is taken (username, ...).
    #[error("{0}")]
    Conflict(String),
    /// The request makes no sense for this row (position out of range, empty name, ...).
    #[error("{0}")]
    Invalid(String),
    #[error("catalog storage failed: {0}")]
    Storage(String),
    /// The catalog can be read but not written: its primary database does not answer (it
    /// is down or unreachable). Nothing was changed; the write may be tried again later.
    #[error("the catalog is read-only for now: {0}")]
    ReadOnly(String),
    /// No catalog database answers at all.
    #[error("the catalog database does not answer: {0}")]
    Unavailable(String),
}

pub type CatalogResult<T> = Result<T, CatalogError>;

/// `song 42 does not exist`.
pub(crate) fn not_found(kind: &str, id: i64) -> CatalogError {
    CatalogError::NotFound(format!("{kind} {id} does not exist"))
}

/// Converts a size or duration for storage; both backends store signed 64-bit integers.
pub(crate) fn to_i64(what: &str, value: u64) -> CatalogResult<i64> {
    i64::try_from(value).map_err(|_| CatalogError::Invalid(format!("{what} {value} is too large")))
}

/// A song about to be added: tags already resolved (overrides and fallbacks applied).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSong {
    pub title: String,
    pub artist: String,
    /// Album artist when it differs from the track artist (compilations); the album is filed under it.
    pub album_artist: Option<String>,
    pub album: String,
    pub track: Option<u32>,
    pub disc: Option<u32>,
    pub genre: Option<String>,
    pub year: Option<i32>,
    pub duration_ms: u64,
    pub codec: String,
    pub content_type: String,
    pub bitrate_kbps: Option<u32>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u8>,
    pub size: u64,
    pub hash: String,
    /// Blob hash of the embedded cover; becomes the album's cover when it has none yet.
    pub cover: Option<NewCover>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCover {
    pub hash: String,
    pub size: u64,
    pub content_type: String,
}

/// An episode about to be added to a podcast.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEpisode {
    pub guid: String,
    pub title: String,
    pub description: Option<String>,
    pub published_at: Option<i64>,
    pub duration_ms: u64,
    pub codec: String,
    pub content_type: String,
    pub size: u64,
    pub hash: String,
}

/// What a stream handler needs to serve a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    pub hash: String,
    pub size: u64,
    pub content_type: String,
    /// When the row was created (for `Last-Modified`), Unix seconds.
    pub created_at: i64,
    /// Human description for reports, e.g. `song 12: Title`.
    pub used_by: String,
}

/// A user row with its password hash, for login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

/// Catalog-side numbers of `GET /admin/stats` (the store adds the volume figures).
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogStats {
    pub songs: u64,
    pub albums: u64,
    pub artists: u64,
    pub genres: u64,
    pub users: u64,
    pub playlists: u64,
    pub podcasts: u64,
    pub episodes: u64,
    pub plays: u64,
    /// Distinct blobs the catalog references, and their total size.
    pub blobs: u64,
    pub logical_bytes: u64,
    pub avg_song_bytes: u64,
    /// Size of the catalog database itself.
    pub catalog_bytes: u64,
    pub song_metadata_bytes: u64,
    pub user_metadata_bytes: u64,
    pub plays_per_user_per_day: f64,
    /// Artists by bytes of audio, largest first.
    pub largest_artists: Vec<(Artist, u64)>,
}

/// One database behind the catalog, as `/readyz` and `/metrics` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogNode {
    /// `host:port/database` (never a password).
    pub name: String,
    pub primary: bool,
    pub up: bool,
    /// Replicas: how far behind the primary, in seconds, when known.
    pub lag_seconds: Option<f64>,
    /// Whether catalog reads go to it now (a replica that is down, too far behind, or has
    /// not replayed this server's last write does not serve them).
    pub serving_reads: bool,
    /// Why it is down.
    pub error: Option<String>,
}

/// What became of a reported play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayOutcome {
    Recorded,
    /// The user had already reported this `play_id`: nothing changed.
    AlreadyRecorded,
}

/// Everything the server stores besides audio bytes.
///
/// `viewer` is the calling user: it decides which playlists are visible and whose
/// resume positions are returned. Times are Unix seconds.
pub trait Catalog: Send + Sync + 'static {
    // ---- health
    /// A cheap query that proves the catalog answers (for `/readyz`).
    fn ping(&self) -> CatalogResult<()>;

    /// The databases behind the catalog and their health, primary first; empty for a
    /// catalog in one file, which has no such parts.
    fn nodes(&self) -> Vec<CatalogNode> {
        Vec::new()
    }

    // ---- users and tokens
    fn create_user(&self, username: &str, password_hash: &str, role: Role) -> CatalogResult<User>;
    fn user(&self, id: UserId) -> CatalogResult<User>;
    fn credentials(&self, username: &str) -> CatalogResult<Option<UserCredentials>>;
    fn users(&self) -> CatalogResult<Vec<User>>;
    fn user_count(&self) -> CatalogResult<u64>;
    fn set_role(&self, id: UserId, role: Role) -> CatalogResult<User>;
    /// Changes the password and revokes every session token of the user, so a reset locks
    /// out whoever knew the old password.
    fn set_password_hash(&self, id: UserId, password_hash: &str) -> CatalogResult<()>;
    /// Deletes the user with their tokens, playlists, plays and positions.
    fn delete_user(&self, id: UserId) -> CatalogResult<()>;
    /// Stores a session token by its hash (never the token itself).
    fn insert_token(&self, token_hash: &str, user: UserId, expires_at: i64) -> CatalogResult<()>;
    /// The user a live token belongs to; `None` when unknown or expired at `now`.
    fn token_user(&self, token_hash: &str, now: i64) -> CatalogResult<Option<User>>;
    fn delete_token(&self, token_hash: &str) -> CatalogResult<()>;
    fn delete_expired_tokens(&self, now: i64) -> CatalogResult<u64>;

    // ---- songs and browsing
    /// Adds a song, creating its artist, album and genre as needed. When a song with the same
    /// hash exists, returns it (the first, if several share the blob) with `false` and
    /// changes nothing: uploading the same bytes twice never adds a second song.
    fn insert_song(&self, song: &NewSong, now: i64) -> CatalogResult<(Song, bool)>;
    fn song(&self, id: SongId) -> CatalogResult<Song>;
    /// The first song (lowest id) stored with these bytes. Songs may share a blob (bulk
    /// loads such as synthetic catalogs do), so it is not necessarily the only one.
    fn song_by_hash(&self, hash: &str) -> CatalogResult<Option<Song>>;
    fn songs(&self, page: PageRequest) -> CatalogResult<Page<Song>>;
    /// Deletes the song (and albums/artists/genres left empty). Returns the hashes of blobs
    /// (audio, cover) no longer referenced by anything, which the caller may delete; a blob
    /// another song, episode or cover still uses is never among them.
    fn delete_song(&self, id: SongId) -> CatalogResult<Vec<String>>;
    fn albums(&self, page: PageRequest) -> CatalogResult<Page<Album>>;
    fn album(&self, id: AlbumId) -> CatalogResult<AlbumDetail>;
    fn album_cover(&self, id: AlbumId) -> CatalogResult<Option<BlobRef>>;
    fn artists(&self, page: PageRequest) -> CatalogResult<Page<Artist>>;
    fn artist(&self, id: ArtistId) -> CatalogResult<ArtistDetail>;
    fn genres(&self) -> CatalogResult<Vec<Genre>>;
    fn genre_songs(&self, genre: &str, page: PageRequest) -> CatalogResult<Page<Song>>;
    fn song_blob(&self, id: SongId) -> CatalogResult<BlobRef>;
    fn episode_blob(&self, id: EpisodeId) -> CatalogResult<BlobRef>;

    // ---- search
    /// Full-text search over title, artist, album and genre (and playlist/podcast names).
    /// Any user text is safe: it is never passed to FTS5 as query syntax.
    fn search(
        &self,
        query: &str,
        kind: SearchType,
        page: PageRequest,
        viewer: UserId,
    ) -> CatalogResult<SearchResults>;

    // ---- plays
    /// Files a play at `at` as given, without checks on the time or an id: for callers that
    /// know the time is right (imports, tools, tests). Client reports go through
    /// [`Catalog::report_play`].
    fn record_play(
        &self,
        user: UserId,
        song: SongId,
        played_ms: Option<u64>,
        at: i64,
    ) -> CatalogResult<()>;
    /// Records a play a client reported (`POST /plays`; it may arrive late and more than
    /// once) by `user`, judged against `now` (Unix seconds).
    ///
    /// - A `play_id` is kept once per user: reporting it again is a no-op answered with
    ///   [`PlayOutcome::AlreadyRecorded`]; the same id for another song is `Conflict`.
    ///   A malformed id (see [`RecordPlay::PLAY_ID_MIN_LEN`]) is `Invalid`.
    /// - The play is filed under `played_at`, or `now` without one. A `played_at` more than
    ///   [`RecordPlay::MAX_AHEAD_SECS`] after `now` or [`RecordPlay::MAX_AGE_SECS`] before it
    ///   is `Invalid` (refused, not clamped: a guessed time would misfile the play).
    /// - An unknown song or user is `NotFound`.
    fn report_play(&self, user: UserId, play: &RecordPlay, now: i64) -> CatalogResult<PlayOutcome>;
    /// Most played songs with plays at or after `since`, most played first.
    fn hot(&self, since: i64, limit: u32) -> CatalogResult<Vec<HotEntry>>;

    // ---- playlists: owners change, others read public ones; private ones are 404 to others
    fn playlists(&self, viewer: UserId, page: PageRequest) -> CatalogResult<Page<Playlist>>;
    fn playlist(&self, id: PlaylistId, viewer: UserId) -> CatalogResult<PlaylistDetail>;
    fn create_playlist(
        &self,
        owner: UserId,
        new: &CreatePlaylist,
        now: i64,
    ) -> CatalogResult<Playlist>;
    fn update_playlist(
        &self,
        id: PlaylistId,
        viewer: UserId,
        update: &UpdatePlaylist,
        now: i64,
    ) -> CatalogResult<Playlist>;
    fn delete_playlist(&self, id: PlaylistId, viewer: UserId) -> CatalogResult<()>;
    /// Inserts songs at `position` (append when `None`).
    fn add_tracks(
        &self,
        id: PlaylistId,
        viewer: UserId,
        songs: &[SongId],
        position: Option<u32>,
        now: i64,
    ) -> CatalogResult<PlaylistDetail>;
    fn remove_track(
        &self,
        id: PlaylistId,
        viewer: UserId,
        position: u32,
        now: i64,
    ) -> CatalogResult<PlaylistDetail>;
    fn move_track(
        &self,
        id: PlaylistId,
        viewer: UserId,
        from: u32,
        to: u32,
        now: i64,
    ) -> CatalogResult<PlaylistDetail>;

    // ---- podcasts
    /// Creates a podcast, or returns the one with the same `feed_url` and `false`.
    fn create_podcast(&self, new: &CreatePodcast, now: i64) -> CatalogResult<(Podcast, bool)>;
    fn podcasts(&self, page: PageRequest) -> CatalogResult<Page<Podcast>>;
    fn podcast(&self, id: PodcastId, viewer: UserId) -> CatalogResult<PodcastDetail>;
    /// Adds an episode, or returns the one with the same guid in that podcast and `false`.
    fn insert_episode(
        &self,
        podcast: PodcastId,
        episode: &NewEpisode,
        now: i64,
    ) -> CatalogResult<(Episode, bool)>;
    fn episode(&self, id: EpisodeId, viewer: UserId) -> CatalogResult<Episode>;
    fn position(&self, user: UserId, episode: EpisodeId) -> CatalogResult<u64>;
    fn set_position(
        &self,
        user: UserId,
        episode: EpisodeId,
        position_ms: u64,
        now: i64,
    ) -> CatalogResult<()>;

    // ---- blobs
    /// Every blob the catalog references (songs, episodes, covers), for replication checks.
    fn blob_refs(&self) -> CatalogResult<Vec<BlobRef>>;
    fn blob_status(&self, hash: &str) -> CatalogResult<BlobStatus>;
    fn stats(&self, now: i64) -> CatalogResult<CatalogStats>;
}
