//! The catalog: songs, albums, artists, genres, users, tokens, playlists, podcasts and plays.
//!
//! HTTP handlers and services see only the [`Catalog`] trait, implemented by
//! [`SqliteCatalog`] (one file, the zero-setup default) and [`PgCatalog`] (PostgreSQL, a
//! primary with streaming read replicas). Methods are synchronous (both clients are); async
//! callers run them on the blocking pool.

#[cfg(test)]
mod behaviour;
mod copy;
mod credits;
mod item_table;
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

use std::collections::HashMap;

use cadenza_api::{
    Album, AlbumDetail, AlbumId, Artist, ArtistDetail, ArtistId, BlobStatus, ClientCredential,
    CreatePlaylist, CreatePodcast, CredentialId, CredentialKind, Episode, EpisodeId, Genre,
    HotEntry, Page, PageRequest, Playlist, PlaylistDetail, PlaylistId, Podcast, PodcastDetail,
    PodcastId, RecordPlay, Role, SearchResults, SearchType, Song, SongId, UpdatePlaylist, User,
    UserId,
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
    /// The first credited artist.
    pub artist: String,
    /// Artists credited after `artist`, in credit order ("A, B" shows both; the song is
    /// found and browsed under each). Usually empty.
    pub other_artists: Vec<String>,
    /// Album artist when it differs from the track artist (compilations); the album is
    /// filed under it. Without one it is filed under `artist`.
    pub album_artist: Option<String>,
    pub album: String,
    pub track: Option<u32>,
    pub disc: Option<u32>,
    /// The first genre.
    pub genre: Option<String>,
    /// Genres after `genre`, in tag order; the song is listed under each.
    pub other_genres: Vec<String>,
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
    /// The plays behind `plays_per_user_per_day`, and the days they were counted over.
    pub recent_plays: u64,
    pub play_window_days: f64,
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

/// A user and the stored secrets of their app passwords, by credential id.
pub type AppPasswordSecrets = (User, Vec<(CredentialId, String)>);

/// Something a listener can star or rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Item {
    Song(SongId),
    Album(AlbumId),
    Artist(ArtistId),
}

/// A listener's marks on one [`Item`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Annotation {
    /// When they starred it; `None` when not starred.
    pub starred_at: Option<i64>,
    /// 1 to 5; `None` when not rated.
    pub rating: Option<u8>,
}

/// Everything a listener starred, each with the time, most recent first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Starred {
    pub songs: Vec<(Song, i64)>,
    pub albums: Vec<(Album, i64)>,
    pub artists: Vec<(Artist, i64)>,
}

/// The orders of [`Catalog::album_list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlbumList {
    Random,
    /// Most recently added first.
    Newest,
    /// The viewer's most played.
    Frequent,
    /// The viewer's most recently played.
    Recent,
    ByName,
    ByArtist,
    /// Years `from` to `to` inclusive, in that direction (so `from > to` lists newest first).
    ByYear {
        from: i32,
        to: i32,
    },
    ByGenre(String),
    /// The viewer's starred albums, most recent first.
    Starred,
    /// The viewer's highest rated.
    Highest,
}

/// Narrows [`Catalog::random_songs`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SongFilter {
    pub genre: Option<String>,
    pub from_year: Option<i32>,
    pub to_year: Option<i32>,
}

/// A song a listener's client says is playing.
#[derive(Debug, Clone, PartialEq)]
pub struct NowPlaying {
    pub username: String,
    pub song: Song,
    /// The client's name (the Subsonic `c` parameter).
    pub client: String,
    pub started_at: i64,
}

/// A listener's saved play queue, for moving between devices.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayQueue {
    pub songs: Vec<Song>,
    pub current: Option<SongId>,
    pub position_ms: u64,
    pub changed_at: i64,
    /// The client that saved it.
    pub changed_by: String,
}

/// Changes to a playlist made in one transaction, applied in this order: fields, removals
/// (positions in the playlist as it was), replacement, additions (appended).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaylistEdit {
    pub name: Option<String>,
    /// `Some("")` clears the comment.
    pub comment: Option<String>,
    pub public: Option<bool>,
    pub remove: Vec<u32>,
    /// Every track replaced by these songs.
    pub replace: Option<Vec<SongId>>,
    pub add: Vec<SongId>,
}

/// A saved position in a podcast episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Bookmark {
    pub episode: Episode,
    pub position_ms: u64,
    pub changed_at: i64,
}

/// Pairs rows read by id with their star times (`times` as `(id, time)`), for [`Starred`].
pub(crate) fn with_times<T>(
    items: Vec<T>,
    times: &[(i64, i64)],
    id: impl Fn(&T) -> i64,
) -> Vec<(T, i64)> {
    let at: HashMap<i64, i64> = times.iter().copied().collect();
    items
        .into_iter()
        .filter_map(|item| at.get(&id(&item)).map(|&t| (item, t)))
        .collect()
}

/// Every item of a paged listing, read a page (of the catalog's largest size) at a time:
/// `all_pages(|page| catalog.artists(page))`.
pub fn all_pages<T>(
    mut list: impl FnMut(PageRequest) -> CatalogResult<Page<T>>,
) -> CatalogResult<Vec<T>> {
    const PAGE: u32 = 500;
    let mut all = Vec::new();
    loop {
        let page = list(PageRequest {
            limit: PAGE,
            offset: u32::try_from(all.len()).unwrap_or(u32::MAX),
        })?;
        let got = page.items.len();
        all.extend(page.items);
        if got < PAGE as usize {
            return Ok(all);
        }
    }
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

    // ---- client credentials (app passwords and API keys of third-party clients)
    /// Stores a credential. `secret` is what the server needs to check it later and is
    /// never returned by listings: the hash of an API key, or the value an app password is
    /// derived from (the catalog cannot turn either back into the credential).
    fn create_client_credential(
        &self,
        user: UserId,
        kind: CredentialKind,
        name: &str,
        secret: &str,
        now: i64,
    ) -> CatalogResult<ClientCredential>;
    fn client_credentials(&self, user: UserId) -> CatalogResult<Vec<ClientCredential>>;
    /// Revokes one of `user`'s credentials (`NotFound` when it is not theirs).
    fn delete_client_credential(&self, user: UserId, id: CredentialId) -> CatalogResult<()>;
    /// The user called `username` and the stored secrets of their app passwords.
    fn app_password_secrets(&self, username: &str) -> CatalogResult<Option<AppPasswordSecrets>>;
    /// The user whose API key has this stored secret, and the key's id.
    fn api_key_user(&self, secret: &str) -> CatalogResult<Option<(User, CredentialId)>>;
    /// Records that a client signed in with the credential at `now`.
    fn touch_client_credential(&self, id: CredentialId, now: i64) -> CatalogResult<()>;

    // ---- stars and ratings
    /// Stars (or unstars) every item for `user`; an unknown item fails the whole call
    /// with `NotFound` and changes nothing. Starring again keeps the first time.
    fn set_starred(
        &self,
        user: UserId,
        items: &[Item],
        starred: bool,
        now: i64,
    ) -> CatalogResult<()>;
    /// Rates an item 1 to 5, or removes the rating with `None`.
    fn set_rating(&self, user: UserId, item: Item, rating: Option<u8>) -> CatalogResult<()>;
    /// `user`'s marks on those of `items` that have any.
    fn annotations(&self, user: UserId, items: &[Item])
        -> CatalogResult<HashMap<Item, Annotation>>;
    fn starred(&self, user: UserId) -> CatalogResult<Starred>;

    // ---- lists for third-party clients
    /// A page of albums in the order `list` names, as `viewer` sees them (their plays,
    /// stars and ratings). `Random` ignores the offset.
    fn album_list(
        &self,
        list: &AlbumList,
        page: PageRequest,
        viewer: UserId,
    ) -> CatalogResult<Vec<Album>>;
    /// Up to `count` (at most 500) songs picked at random, each at most once.
    fn random_songs(&self, filter: &SongFilter, count: u32) -> CatalogResult<Vec<Song>>;
    /// The artist with this name (compared as names are deduplicated: case and spacing).
    fn artist_by_name(&self, name: &str) -> CatalogResult<Option<ArtistId>>;
    /// When the newest song was added; `None` for an empty library.
    fn library_updated_at(&self) -> CatalogResult<Option<i64>>;

    // ---- what listeners play now, and their saved queues
    /// Notes that `user` started `song` on `client` at `now` (one entry per user).
    fn set_now_playing(
        &self,
        user: UserId,
        song: SongId,
        client: &str,
        now: i64,
    ) -> CatalogResult<()>;
    /// Entries whose song may still be playing at `now` (started less than its length
    /// plus a few minutes ago), newest first.
    fn now_playing(&self, now: i64) -> CatalogResult<Vec<NowPlaying>>;
    /// Replaces `user`'s saved queue; no songs clears it.
    fn save_play_queue(
        &self,
        user: UserId,
        songs: &[SongId],
        current: Option<SongId>,
        position_ms: u64,
        client: &str,
        now: i64,
    ) -> CatalogResult<()>;
    fn play_queue(&self, user: UserId) -> CatalogResult<Option<PlayQueue>>;

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
    /// Applies every change in `edit` at once, or none when one of them is refused.
    fn edit_playlist(
        &self,
        id: PlaylistId,
        viewer: UserId,
        edit: &PlaylistEdit,
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
    /// Forgets `user`'s position in the episode (`NotFound` when there is none).
    fn delete_position(&self, user: UserId, episode: EpisodeId) -> CatalogResult<()>;
    /// `user`'s saved positions, most recently changed first.
    fn bookmarks(&self, user: UserId) -> CatalogResult<Vec<Bookmark>>;
    /// The most recently published episodes of every podcast (at most 500).
    fn newest_episodes(&self, limit: u32, viewer: UserId) -> CatalogResult<Vec<Episode>>;
    /// Deletes a podcast with its episodes and positions; returns the hashes of blobs no
    /// longer referenced by anything (like [`Catalog::delete_song`]).
    fn delete_podcast(&self, id: PodcastId) -> CatalogResult<Vec<String>>;
    /// Takes the podcast's feed for reading until `now + lease_secs`, unless another holder
    /// has a lease that has not expired: then `false`. The same holder may renew its lease.
    /// This is how server copies sharing a catalog avoid fetching a feed twice at once.
    fn claim_feed(
        &self,
        podcast: PodcastId,
        holder: &str,
        now: i64,
        lease_secs: i64,
    ) -> CatalogResult<bool>;
    /// Ends `holder`'s lease on the feed and records the outcome: `error` is `None` when
    /// the feed was read (then `refreshed_at` becomes `now`).
    fn finish_feed(
        &self,
        podcast: PodcastId,
        holder: &str,
        now: i64,
        error: Option<&str>,
    ) -> CatalogResult<()>;

    // ---- blobs
    /// Every blob the catalog references (songs, episodes, covers), for replication checks.
    fn blob_refs(&self) -> CatalogResult<Vec<BlobRef>>;
    fn blob_status(&self, hash: &str) -> CatalogResult<BlobStatus>;
    fn stats(&self, now: i64) -> CatalogResult<CatalogStats>;
}
