//! SQLite implementation of the catalog.
//!
//! Each concept lives in its own module of free functions taking a connection (inside a
//! transaction chosen here); this file owns the connections and routes the [`Catalog`]
//! methods: reads go to a reader, writes to the single writer.

mod annotations;
mod browse;
mod bulk;
mod credentials;
mod error;
mod fresh_load;
mod library;
mod listening;
mod lists;
mod playlists;
mod plays;
mod podcasts;
mod pool;
mod rank;
mod rows;
mod schema;
mod search;
mod stats;
mod text;
mod users;

#[cfg(test)]
mod testkit;

pub use bulk::{truncate_write_ahead_log, BulkInsert, NewPlay};
pub use fresh_load::FreshLoad;

use crate::{
    AlbumList, Annotation, AppPasswordSecrets, BlobRef, Bookmark, Catalog, CatalogResult,
    CatalogStats, Item, NewEpisode, NewSong, NowPlaying, PlayOutcome, PlayQueue, PlaylistEdit,
    SongFilter, Starred, UserCredentials,
};
use cadenza_api::{
    Album, AlbumDetail, AlbumId, Artist, ArtistDetail, ArtistId, BlobStatus, ClientCredential,
    CreatePlaylist, CreatePodcast, CredentialId, CredentialKind, Episode, EpisodeId, Genre,
    HotEntry, Page, PageRequest, Playlist, PlaylistDetail, PlaylistId, Podcast, PodcastDetail,
    PodcastId, RecordPlay, Role, SearchResults, SearchType, Song, SongId, UpdatePlaylist, User,
    UserId,
};
use library::{Indexing, Inserted, Names};
use pool::Pool;
use rows::Audio;
use std::collections::HashMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The catalog in one SQLite file (WAL mode), safe to share between threads.
pub struct SqliteCatalog {
    pool: Pool,
}

impl SqliteCatalog {
    /// Opens the catalog at `path`, creating the file and its directories when missing and
    /// migrating the schema. Refuses a database written by a newer version.
    pub fn open(path: &Path) -> CatalogResult<SqliteCatalog> {
        let readers = std::thread::available_parallelism()
            .map_or(4, |n| n.get())
            .clamp(4, 16);
        Self::open_with_readers(path, readers)
    }

    /// Like [`open`](Self::open) with an explicit number of reader connections.
    pub fn open_with_readers(path: &Path, readers: usize) -> CatalogResult<SqliteCatalog> {
        Ok(SqliteCatalog {
            pool: Pool::open(path, readers)?,
        })
    }

    /// A private catalog in memory, for tests and tools. It has a single connection, so
    /// reads wait for writes (use a temporary file to test concurrency).
    pub fn open_in_memory() -> CatalogResult<SqliteCatalog> {
        Ok(SqliteCatalog {
            pool: Pool::in_memory()?,
        })
    }

    /// Inserts many songs in one transaction (idempotent by hash, like
    /// [`Catalog::insert_song`]). The first invalid song fails the whole batch.
    pub fn bulk_insert_songs(&self, songs: &[NewSong], now: i64) -> CatalogResult<BulkInsert> {
        self.pool
            .write(|tx| bulk::insert_songs(tx, songs, now, Indexing::Now))
    }

    /// Like [`bulk_insert_songs`](Self::bulk_insert_songs) but leaves the new songs out of
    /// the search index, which is faster for very large loads. Search does not find them
    /// until [`rebuild_search_index`](Self::rebuild_search_index) runs.
    pub fn bulk_insert_songs_unindexed(
        &self,
        songs: &[NewSong],
        now: i64,
    ) -> CatalogResult<BulkInsert> {
        self.pool
            .write(|tx| bulk::insert_songs(tx, songs, now, Indexing::Deferred))
    }

    /// Records many plays in one transaction (listening history imports, synthetic
    /// catalogs); the first invalid play fails them all.
    pub fn bulk_record_plays(&self, plays: &[NewPlay]) -> CatalogResult<()> {
        self.pool.write(|tx| bulk::record_plays(tx, plays))
    }

    /// Rebuilds every full-text index from the catalog rows (and optimizes it).
    pub fn rebuild_search_index(&self) -> CatalogResult<()> {
        self.pool.write(|tx| bulk::rebuild_search_index(tx))
    }

    /// Merges the full-text indexes into one segment each: worth running once after a
    /// large [`bulk_insert_songs`](Self::bulk_insert_songs) load (seconds per million songs).
    pub fn optimize_search_index(&self) -> CatalogResult<()> {
        self.pool.write(|tx| bulk::optimize_search_index(tx))
    }
}

/// Unix seconds now, for the few writes whose trait method takes no `now`.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Catalog for SqliteCatalog {
    fn ping(&self) -> CatalogResult<()> {
        self.pool.read(|tx| {
            tx.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(|e| error::storage("pinging the catalog", e))
        })
    }

    // ---- users and tokens
    fn create_user(&self, username: &str, password_hash: &str, role: Role) -> CatalogResult<User> {
        self.pool
            .write(|tx| users::create_user(tx, username, password_hash, role, unix_now()))
    }
    fn user(&self, id: UserId) -> CatalogResult<User> {
        self.pool.read(|tx| users::user(tx, id))
    }
    fn credentials(&self, username: &str) -> CatalogResult<Option<UserCredentials>> {
        self.pool.read(|tx| users::credentials(tx, username))
    }
    fn users(&self) -> CatalogResult<Vec<User>> {
        self.pool.read(|tx| users::users(tx))
    }
    fn user_count(&self) -> CatalogResult<u64> {
        self.pool.read(|tx| users::user_count(tx))
    }
    fn set_role(&self, id: UserId, role: Role) -> CatalogResult<User> {
        self.pool.write(|tx| users::set_role(tx, id, role))
    }
    fn set_password_hash(&self, id: UserId, password_hash: &str) -> CatalogResult<()> {
        self.pool
            .write(|tx| users::set_password_hash(tx, id, password_hash))
    }
    fn delete_user(&self, id: UserId) -> CatalogResult<()> {
        self.pool.write(|tx| users::delete_user(tx, id))
    }
    fn insert_token(&self, token_hash: &str, user: UserId, expires_at: i64) -> CatalogResult<()> {
        self.pool
            .write(|tx| users::insert_token(tx, token_hash, user, expires_at))
    }
    fn token_user(&self, token_hash: &str, now: i64) -> CatalogResult<Option<User>> {
        self.pool.read(|tx| users::token_user(tx, token_hash, now))
    }
    fn delete_token(&self, token_hash: &str) -> CatalogResult<()> {
        self.pool.write(|tx| users::delete_token(tx, token_hash))
    }
    fn delete_expired_tokens(&self, now: i64) -> CatalogResult<u64> {
        self.pool.write(|tx| users::delete_expired_tokens(tx, now))
    }

    // ---- client credentials
    fn create_client_credential(
        &self,
        user: UserId,
        kind: CredentialKind,
        name: &str,
        secret: &str,
        now: i64,
    ) -> CatalogResult<ClientCredential> {
        self.pool
            .write(|tx| credentials::create(tx, user, kind, name, secret, now))
    }
    fn client_credentials(&self, user: UserId) -> CatalogResult<Vec<ClientCredential>> {
        self.pool.read(|tx| credentials::list(tx, user))
    }
    fn delete_client_credential(&self, user: UserId, id: CredentialId) -> CatalogResult<()> {
        self.pool.write(|tx| credentials::delete(tx, user, id))
    }
    fn app_password_secrets(&self, username: &str) -> CatalogResult<Option<AppPasswordSecrets>> {
        self.pool
            .read(|tx| credentials::app_password_secrets(tx, username))
    }
    fn api_key_user(&self, secret: &str) -> CatalogResult<Option<(User, CredentialId)>> {
        self.pool.read(|tx| credentials::api_key_user(tx, secret))
    }
    fn touch_client_credential(&self, id: CredentialId, now: i64) -> CatalogResult<()> {
        self.pool.write(|tx| credentials::touch(tx, id, now))
    }

    // ---- stars and ratings
    fn set_starred(
        &self,
        user: UserId,
        items: &[Item],
        starred: bool,
        now: i64,
    ) -> CatalogResult<()> {
        self.pool
            .write(|tx| annotations::set_starred(tx, user, items, starred, now))
    }
    fn set_rating(&self, user: UserId, item: Item, rating: Option<u8>) -> CatalogResult<()> {
        self.pool
            .write(|tx| annotations::set_rating(tx, user, item, rating))
    }
    fn annotations(
        &self,
        user: UserId,
        items: &[Item],
    ) -> CatalogResult<HashMap<Item, Annotation>> {
        self.pool
            .read(|tx| annotations::annotations(tx, user, items))
    }
    fn starred(&self, user: UserId) -> CatalogResult<Starred> {
        self.pool.read(|tx| annotations::starred(tx, user))
    }

    // ---- lists
    fn album_list(
        &self,
        list: &AlbumList,
        page: PageRequest,
        viewer: UserId,
    ) -> CatalogResult<Vec<Album>> {
        self.pool
            .read(|tx| lists::album_list(tx, list, page, viewer))
    }
    fn random_songs(&self, filter: &SongFilter, count: u32) -> CatalogResult<Vec<Song>> {
        self.pool.read(|tx| lists::random_songs(tx, filter, count))
    }
    fn artist_by_name(&self, name: &str) -> CatalogResult<Option<ArtistId>> {
        self.pool.read(|tx| lists::artist_by_name(tx, name))
    }
    fn library_updated_at(&self) -> CatalogResult<Option<i64>> {
        self.pool.read(|tx| lists::library_updated_at(tx))
    }

    // ---- now playing and play queues
    fn set_now_playing(
        &self,
        user: UserId,
        song: SongId,
        client: &str,
        now: i64,
    ) -> CatalogResult<()> {
        self.pool
            .write(|tx| listening::set_now_playing(tx, user, song, client, now))
    }
    fn now_playing(&self, now: i64) -> CatalogResult<Vec<NowPlaying>> {
        self.pool.read(|tx| listening::now_playing(tx, now))
    }
    fn save_play_queue(
        &self,
        user: UserId,
        songs: &[SongId],
        current: Option<SongId>,
        position_ms: u64,
        client: &str,
        now: i64,
    ) -> CatalogResult<()> {
        self.pool.write(|tx| {
            listening::save_play_queue(tx, user, songs, current, position_ms, client, now)
        })
    }
    fn play_queue(&self, user: UserId) -> CatalogResult<Option<PlayQueue>> {
        self.pool.read(|tx| listening::play_queue(tx, user))
    }

    // ---- songs and browsing
    fn insert_song(&self, song: &NewSong, now: i64) -> CatalogResult<(Song, bool)> {
        self.pool.write(|tx| {
            let (id, created) =
                match library::insert_song(tx, song, now, &mut Names::default(), Indexing::Now)? {
                    Inserted::Created(id) => (id, true),
                    Inserted::Existing(id) => (id, false),
                };
            Ok((browse::song(tx, id)?, created))
        })
    }
    fn song(&self, id: SongId) -> CatalogResult<Song> {
        self.pool.read(|tx| browse::song(tx, id))
    }
    fn song_by_hash(&self, hash: &str) -> CatalogResult<Option<Song>> {
        self.pool.read(|tx| browse::song_by_hash(tx, hash))
    }
    fn songs(&self, page: PageRequest) -> CatalogResult<Page<Song>> {
        self.pool.read(|tx| browse::songs(tx, page))
    }
    fn delete_song(&self, id: SongId) -> CatalogResult<Vec<String>> {
        self.pool.write(|tx| library::delete_song(tx, id))
    }
    fn albums(&self, page: PageRequest) -> CatalogResult<Page<Album>> {
        self.pool.read(|tx| browse::albums(tx, page))
    }
    fn album(&self, id: AlbumId) -> CatalogResult<AlbumDetail> {
        self.pool.read(|tx| browse::album(tx, id))
    }
    fn album_cover(&self, id: AlbumId) -> CatalogResult<Option<BlobRef>> {
        self.pool.read(|tx| browse::album_cover(tx, id))
    }
    fn artists(&self, page: PageRequest) -> CatalogResult<Page<Artist>> {
        self.pool.read(|tx| browse::artists(tx, page))
    }
    fn artist(&self, id: ArtistId) -> CatalogResult<ArtistDetail> {
        self.pool.read(|tx| browse::artist(tx, id))
    }
    fn genres(&self) -> CatalogResult<Vec<Genre>> {
        self.pool.read(|tx| browse::genres(tx))
    }
    fn genre_songs(&self, genre: &str, page: PageRequest) -> CatalogResult<Page<Song>> {
        self.pool.read(|tx| browse::genre_songs(tx, genre, page))
    }
    fn song_blob(&self, id: SongId) -> CatalogResult<BlobRef> {
        self.pool.read(|tx| rows::audio_blob(tx, Audio::Song, id))
    }
    fn episode_blob(&self, id: EpisodeId) -> CatalogResult<BlobRef> {
        self.pool
            .read(|tx| rows::audio_blob(tx, Audio::Episode, id))
    }

    // ---- search
    fn search(
        &self,
        query: &str,
        kind: SearchType,
        page: PageRequest,
        viewer: UserId,
    ) -> CatalogResult<SearchResults> {
        if kind != SearchType::All || self.pool.readers() < 2 {
            return self
                .pool
                .read(|tx| search::search(tx, query, &[kind], page, viewer));
        }
        // Two readers at once halve a broad search's latency; each half is one read
        // transaction (a page and its total agree; groups may see different snapshots).
        // This thread holds no connection while it waits, so the pool cannot deadlock.
        let [first, second] = search::ALL_HALVES;
        let (first, second) = std::thread::scope(|s| {
            let there = s.spawn(|| {
                self.pool
                    .read(|tx| search::search(tx, query, second, page, viewer))
            });
            let here = self
                .pool
                .read(|tx| search::search(tx, query, first, page, viewer));
            let there = there
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (here, there)
        });
        Ok(search::join_halves(first?, second?))
    }

    // ---- plays
    fn report_play(&self, user: UserId, play: &RecordPlay, now: i64) -> CatalogResult<PlayOutcome> {
        self.pool
            .write(|tx| plays::report_play(tx, user, play, now))
    }

    fn record_play(
        &self,
        user: UserId,
        song: SongId,
        played_ms: Option<u64>,
        at: i64,
    ) -> CatalogResult<()> {
        self.pool
            .write(|tx| plays::record_play(tx, user, song, played_ms, at))
    }
    fn hot(&self, since: i64, limit: u32) -> CatalogResult<Vec<HotEntry>> {
        self.pool.read(|tx| plays::hot(tx, since, limit))
    }

    // ---- playlists
    fn playlists(&self, viewer: UserId, page: PageRequest) -> CatalogResult<Page<Playlist>> {
        self.pool.read(|tx| playlists::playlists(tx, viewer, page))
    }
    fn playlist(&self, id: PlaylistId, viewer: UserId) -> CatalogResult<PlaylistDetail> {
        self.pool.read(|tx| playlists::playlist(tx, id, viewer))
    }
    fn create_playlist(
        &self,
        owner: UserId,
        new: &CreatePlaylist,
        now: i64,
    ) -> CatalogResult<Playlist> {
        self.pool
            .write(|tx| playlists::create_playlist(tx, owner, new, now))
    }
    fn update_playlist(
        &self,
        id: PlaylistId,
        viewer: UserId,
        update: &UpdatePlaylist,
        now: i64,
    ) -> CatalogResult<Playlist> {
        self.pool
            .write(|tx| playlists::update_playlist(tx, id, viewer, update, now))
    }
    fn delete_playlist(&self, id: PlaylistId, viewer: UserId) -> CatalogResult<()> {
        self.pool
            .write(|tx| playlists::delete_playlist(tx, id, viewer))
    }
    fn add_tracks(
        &self,
        id: PlaylistId,
        viewer: UserId,
        songs: &[SongId],
        position: Option<u32>,
        now: i64,
    ) -> CatalogResult<PlaylistDetail> {
        self.pool
            .write(|tx| playlists::add_tracks(tx, id, viewer, songs, position, now))
    }
    fn remove_track(
        &self,
        id: PlaylistId,
        viewer: UserId,
        position: u32,
        now: i64,
    ) -> CatalogResult<PlaylistDetail> {
        self.pool
            .write(|tx| playlists::remove_track(tx, id, viewer, position, now))
    }
    fn move_track(
        &self,
        id: PlaylistId,
        viewer: UserId,
        from: u32,
        to: u32,
        now: i64,
    ) -> CatalogResult<PlaylistDetail> {
        self.pool
            .write(|tx| playlists::move_track(tx, id, viewer, from, to, now))
    }
    fn edit_playlist(
        &self,
        id: PlaylistId,
        viewer: UserId,
        edit: &PlaylistEdit,
        now: i64,
    ) -> CatalogResult<PlaylistDetail> {
        self.pool
            .write(|tx| playlists::edit_playlist(tx, id, viewer, edit, now))
    }

    // ---- podcasts
    fn create_podcast(&self, new: &CreatePodcast, now: i64) -> CatalogResult<(Podcast, bool)> {
        self.pool.write(|tx| podcasts::create_podcast(tx, new, now))
    }
    fn podcasts(&self, page: PageRequest) -> CatalogResult<Page<Podcast>> {
        self.pool.read(|tx| podcasts::podcasts(tx, page))
    }
    fn podcast(&self, id: PodcastId, viewer: UserId) -> CatalogResult<PodcastDetail> {
        self.pool.read(|tx| podcasts::podcast(tx, id, viewer))
    }
    fn insert_episode(
        &self,
        podcast: PodcastId,
        episode: &NewEpisode,
        now: i64,
    ) -> CatalogResult<(Episode, bool)> {
        self.pool
            .write(|tx| podcasts::insert_episode(tx, podcast, episode, now))
    }
    fn episode(&self, id: EpisodeId, viewer: UserId) -> CatalogResult<Episode> {
        self.pool.read(|tx| podcasts::episode(tx, id, viewer))
    }
    fn position(&self, user: UserId, episode: EpisodeId) -> CatalogResult<u64> {
        self.pool.read(|tx| podcasts::position(tx, user, episode))
    }
    fn set_position(
        &self,
        user: UserId,
        episode: EpisodeId,
        position_ms: u64,
        now: i64,
    ) -> CatalogResult<()> {
        self.pool
            .write(|tx| podcasts::set_position(tx, user, episode, position_ms, now))
    }
    fn delete_position(&self, user: UserId, episode: EpisodeId) -> CatalogResult<()> {
        self.pool
            .write(|tx| podcasts::delete_position(tx, user, episode))
    }
    fn bookmarks(&self, user: UserId) -> CatalogResult<Vec<Bookmark>> {
        self.pool.read(|tx| podcasts::bookmarks(tx, user))
    }
    fn newest_episodes(&self, limit: u32, viewer: UserId) -> CatalogResult<Vec<Episode>> {
        self.pool
            .read(|tx| podcasts::newest_episodes(tx, limit, viewer))
    }
    fn delete_podcast(&self, id: PodcastId) -> CatalogResult<Vec<String>> {
        self.pool.write(|tx| podcasts::delete_podcast(tx, id))
    }
    fn claim_feed(
        &self,
        podcast: PodcastId,
        holder: &str,
        now: i64,
        lease_secs: i64,
    ) -> CatalogResult<bool> {
        self.pool
            .write(|tx| podcasts::claim_feed(tx, podcast, holder, now, lease_secs))
    }
    fn finish_feed(
        &self,
        podcast: PodcastId,
        holder: &str,
        now: i64,
        error: Option<&str>,
    ) -> CatalogResult<()> {
        self.pool
            .write(|tx| podcasts::finish_feed(tx, podcast, holder, now, error))
    }

    // ---- blobs
    fn blob_refs(&self) -> CatalogResult<Vec<BlobRef>> {
        self.pool.read(|tx| stats::blob_refs(tx))
    }
    fn blob_status(&self, hash: &str) -> CatalogResult<BlobStatus> {
        self.pool.read(|tx| stats::blob_status(tx, hash))
    }
    fn stats(&self, now: i64) -> CatalogResult<CatalogStats> {
        self.pool.read(|tx| stats::stats(tx, now))
    }
}
