//! PostgreSQL implementation of the catalog: a primary and any number of streaming read
//! replicas.
//!
//! Each concept lives in its own module of free functions taking a transaction ([`Tx`]),
//! like the SQLite backend; this file opens the databases and routes every [`Catalog`]
//! method to one of them (`router.rs` does the routing).
//!
//! # Where a call runs, and why nobody sees a stale view of their own writes
//!
//! - **Writes** run on the primary, in a read-committed transaction; a deadlock or a
//!   serialization failure runs the transaction again. When the primary does not answer,
//!   a write fails at once with [`CatalogError::ReadOnly`] (HTTP 503 `catalog_read_only`):
//!   the transaction was never committed, so nothing is half-written. The primary is
//!   marked down and the health check (every half second) marks it up again when it
//!   answers, without a restart.
//! - **A user's own data** — sessions and credentials (login, `me`, every token check),
//!   their playlists, resume positions, and the playlist group of a search (it shows their
//!   private playlists) — is read on the primary while it is up ([`Scope::Own`]). So a
//!   write is visible to the very next request of that user, whichever server copy takes
//!   it: there is no replica lag to wait out and no position to carry between requests.
//!   These reads are small and mostly absorbed by the server's token cache.
//! - **The shared catalog** — browsing, search, the hot chart, stream look-ups, stats —
//!   may run on a replica ([`Scope::Catalog`]), if the replica
//!   1. answered the last health check,
//!   2. is at most `max_replica_lag` behind the primary (measured by the health check, in
//!      the background, never on a request: zero when it has replayed the primary's
//!      current WAL position, else the time since the last transaction it replayed was
//!      committed), and
//!   3. has replayed a WAL position past this server's own last write: the primary's
//!      insert position, read by the first health check after that write commits (not
//!      after each write, which would cost every write a round trip); until that check,
//!      such reads go to the primary. So one server never shows its own client an upload
//!      or a play from before that client's write; another server copy may, for at most
//!      `max_replica_lag`, which is what catalog-wide reads accept.
//!
//!   Otherwise, they run on the primary. A by-id look-up a replica answers "not found"
//!   is asked again on the primary, so a link to a song uploaded a moment ago works at
//!   once on every copy.
//! - **Primary down**: every read goes to the replicas, lagging ones included (the best
//!   answer there is), so listening, browsing, search and logins of existing sessions go
//!   on. **A replica down or lagging**: it is skipped. A read whose database stops
//!   answering mid-way is run again on the next one.
//!
//! Connection strings may list several hosts (`postgres://a,b/db`); the primary's
//! sessions ask for `target_session_attrs=read-write`, so after a failover done by an
//! outside tool (Patroni, pg_auto_failover) the primary is found again by reconnecting.

mod annotations;
mod browse;
pub(crate) mod connect;
mod credentials;
pub(crate) mod error;
mod fresh_load;
mod library;
mod listening;
mod lists;
mod playlists;
mod plays;
mod podcasts;
mod pool;
mod router;
mod rows;
mod schema;
pub(crate) mod search;
mod stats;
mod users;

pub use fresh_load::PgFreshLoad;
pub use router::CHECK_EVERY as HEALTH_CHECK_EVERY;
pub use router::READ_ONLY_RETRY_SECS;

use crate::sqlite::BulkInsert;
use crate::{
    AlbumList, Annotation, AppPasswordSecrets, BlobRef, Bookmark, Catalog, CatalogError,
    CatalogNode, CatalogResult, CatalogStats, Item, NewEpisode, NewSong, NowPlaying, PlayOutcome,
    PlayQueue, PlaylistEdit, SongFilter, Starred, UserCredentials,
};
use cadenza_api::{
    Album, AlbumDetail, AlbumId, Artist, ArtistDetail, ArtistId, BlobStatus, ClientCredential,
    CreatePlaylist, CreatePodcast, CredentialId, CredentialKind, Episode, EpisodeId, Genre,
    HotEntry, Page, PageRequest, Playlist, PlaylistDetail, PlaylistId, Podcast, PodcastDetail,
    PodcastId, RecordPlay, Role, SearchResults, SearchType, Song, SongId, UpdatePlaylist, User,
    UserId,
};
use library::{Inserted, Names};
use pool::Tx;
use router::{Checker, Router, Scope};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How the catalog reaches its databases.
#[derive(Clone)]
pub struct PgOptions {
    /// The primary's connection string (`postgres://USER:PASSWORD@HOST:PORT/DATABASE`).
    pub primary: String,
    /// The replicas' connection strings.
    pub replicas: Vec<String>,
    /// Replicas further behind than this serve no reads.
    pub max_replica_lag: Duration,
    /// Connections each database may have open.
    pub connections: usize,
}

impl PgOptions {
    pub const DEFAULT_MAX_REPLICA_LAG: Duration = Duration::from_secs(5);
    pub const DEFAULT_CONNECTIONS: usize = 16;

    pub fn new(primary: impl Into<String>) -> PgOptions {
        PgOptions {
            primary: primary.into(),
            replicas: Vec::new(),
            max_replica_lag: Self::DEFAULT_MAX_REPLICA_LAG,
            connections: Self::DEFAULT_CONNECTIONS,
        }
    }
}

// Hand-written so connection strings (which may hold passwords) never reach a log.
impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOptions")
            .field("primary", &redacted(&self.primary))
            .field(
                "replicas",
                &self
                    .replicas
                    .iter()
                    .map(|r| redacted(r))
                    .collect::<Vec<_>>(),
            )
            .field("max_replica_lag", &self.max_replica_lag)
            .field("connections", &self.connections)
            .finish()
    }
}

/// A connection string as `host:port/database`, or `<invalid>`; never its password.
pub fn redacted(connection: &str) -> String {
    connect::target(connection, false).map_or_else(|_| "<invalid>".into(), |t| t.name)
}

/// The catalog in PostgreSQL, safe to share between threads.
pub struct PgCatalog {
    router: Arc<Router>,
    _checker: Checker,
}

impl PgCatalog {
    /// Connects to the primary (which must answer), migrates its schema (refusing one
    /// written by a newer version), checks the replicas once and starts the background
    /// health check. Replicas that do not answer are only logged: they serve reads once
    /// they do.
    pub fn open(options: &PgOptions) -> CatalogResult<PgCatalog> {
        let primary = connect::target(&options.primary, true)?;
        let replicas = options
            .replicas
            .iter()
            .map(|r| connect::target(r, false))
            .collect::<CatalogResult<Vec<_>>>()?;
        let name = primary.name.clone();
        let router = Router::new(
            primary,
            replicas,
            options.max_replica_lag,
            options.connections,
        );
        let database = name.rsplit('/').next().unwrap_or(&name).to_string();
        let mut conn = router
            .primary()
            .pool
            .get()
            .map_err(|e| unreachable(&name, &e))?;
        conn.transaction(pool::Mode::Write, |tx| schema::migrate(tx, &database))
            .map_err(|(e, _)| e)?;
        // Replicas serve this server once they have the schema (and the database) too.
        router.note_write();
        drop(conn);
        let router = Arc::new(router);
        let mut probes = router.probes();
        router.check(&mut probes);
        for node in router.nodes().iter().filter(|n| !n.primary && !n.up) {
            tracing::warn!(
                "catalog replica {} does not answer ({}); reads use the other databases until it does",
                node.name,
                node.error.as_deref().unwrap_or("unknown error")
            );
        }
        let checker = Checker::start(Arc::clone(&router), probes);
        Ok(PgCatalog {
            router,
            _checker: checker,
        })
    }

    /// Inserts many songs in one transaction (idempotent by hash, like
    /// [`Catalog::insert_song`]). The first invalid song fails the whole batch.
    pub fn bulk_insert_songs(&self, songs: &[NewSong], now: i64) -> CatalogResult<BulkInsert> {
        self.router.write(|tx| {
            let mut names = Names::default();
            let mut report = BulkInsert::default();
            for (i, song) in songs.iter().enumerate() {
                match library::insert_song(tx, song, now, &mut names)
                    .map_err(|e| crate::sqlite::at_index(i, e))?
                {
                    Inserted::Created(_) => report.inserted += 1,
                    Inserted::Existing(_) => report.existing += 1,
                }
            }
            Ok(report)
        })
    }

    /// Records many plays in one transaction and one statement (listening history imports,
    /// synthetic catalogs); a play naming a missing user or song fails them all.
    pub fn bulk_record_plays(&self, plays: &[crate::NewPlay]) -> CatalogResult<()> {
        let users: Vec<i64> = plays.iter().map(|p| p.user).collect();
        let songs: Vec<i64> = plays.iter().map(|p| p.song).collect();
        let heard = plays
            .iter()
            .map(|p| {
                p.played_ms
                    .map(|ms| crate::to_i64("played_ms", ms))
                    .transpose()
            })
            .collect::<CatalogResult<Vec<_>>>()?;
        let at: Vec<i64> = plays.iter().map(|p| p.at).collect();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO plays (user_id, song_id, played_ms, at) \
                 SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[])",
                &[&users, &songs, &heard, &at],
            )
            .map_err(|e| match e.code() {
                Some(code) if *code == postgres::error::SqlState::FOREIGN_KEY_VIOLATION => {
                    CatalogError::NotFound(format!(
                        "a play names a user or song that does not exist ({})",
                        error::describe(&e)
                    ))
                }
                _ => error::storage("recording plays", &e),
            })
            .map(drop)
        })
    }

    /// The first column of the rows `sql` (with `$1` = `param`) returns, run on the
    /// primary, for tests that look behind the catalog's back.
    #[cfg(test)]
    pub(crate) fn raw_column(&self, sql: &str, param: i64) -> Vec<i64> {
        self.router
            .write(|tx| rows::ids(tx, sql, &[&param], "test"))
            .unwrap()
    }

    fn write<T>(&self, f: impl Fn(&mut Tx<'_>) -> CatalogResult<T>) -> CatalogResult<T> {
        self.router.write(f)
    }

    fn read<T>(&self, f: impl Fn(&mut Tx<'_>) -> CatalogResult<T>) -> CatalogResult<T> {
        self.router.read(Scope::Catalog, f)
    }

    fn read_own<T>(&self, f: impl Fn(&mut Tx<'_>) -> CatalogResult<T>) -> CatalogResult<T> {
        self.router.read(Scope::Own, f)
    }

    /// A read of a user's own data made in one statement: no transaction around it.
    fn read_own_single<T>(&self, f: impl Fn(&mut Tx<'_>) -> CatalogResult<T>) -> CatalogResult<T> {
        self.router.read_single(Scope::Own, f)
    }

    fn read_by_id<T>(&self, f: impl Fn(&mut Tx<'_>) -> CatalogResult<T>) -> CatalogResult<T> {
        self.router.read_by_id(f)
    }
}

/// The one-line error of a primary that cannot be reached at start.
fn unreachable(name: &str, e: &postgres::Error) -> CatalogError {
    let why = error::describe(e);
    let hint = if why.contains("does not exist") && why.contains("database") {
        "; create it with CREATE DATABASE <name> ENCODING 'UTF8' TEMPLATE template0"
    } else if why.contains("password") {
        "; check the user and password in the connection string"
    } else {
        "; is PostgreSQL running there, and is the address right?"
    };
    CatalogError::Unavailable(format!("cannot connect to {name}: {why}{hint}"))
}

/// Unix seconds now, for the few writes whose trait method takes no `now`.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Catalog for PgCatalog {
    fn ping(&self) -> CatalogResult<()> {
        self.router.read_single(Scope::Catalog, |tx| {
            tx.query_one("SELECT 1", &[])
                .map(drop)
                .map_err(|e| error::storage("pinging the catalog", &e))
        })
    }

    fn nodes(&self) -> Vec<CatalogNode> {
        self.router.nodes()
    }

    // ---- users and tokens
    fn create_user(&self, username: &str, password_hash: &str, role: Role) -> CatalogResult<User> {
        let now = unix_now();
        self.write(|tx| users::create_user(tx, username, password_hash, role, now))
    }
    fn user(&self, id: UserId) -> CatalogResult<User> {
        self.read_own_single(|tx| users::user(tx, id))
    }
    fn credentials(&self, username: &str) -> CatalogResult<Option<UserCredentials>> {
        self.read_own_single(|tx| users::credentials(tx, username))
    }
    fn users(&self) -> CatalogResult<Vec<User>> {
        self.read_own(users::users)
    }
    fn user_count(&self) -> CatalogResult<u64> {
        self.read_own(users::user_count)
    }
    fn set_role(&self, id: UserId, role: Role) -> CatalogResult<User> {
        self.write(|tx| users::set_role(tx, id, role))
    }
    fn set_password_hash(&self, id: UserId, password_hash: &str) -> CatalogResult<()> {
        self.write(|tx| users::set_password_hash(tx, id, password_hash))
    }
    fn delete_user(&self, id: UserId) -> CatalogResult<()> {
        self.write(|tx| users::delete_user(tx, id))
    }
    fn insert_token(&self, token_hash: &str, user: UserId, expires_at: i64) -> CatalogResult<()> {
        self.write(|tx| users::insert_token(tx, token_hash, user, expires_at))
    }
    fn token_user(&self, token_hash: &str, now: i64) -> CatalogResult<Option<User>> {
        self.read_own_single(|tx| users::token_user(tx, token_hash, now))
    }
    fn delete_token(&self, token_hash: &str) -> CatalogResult<()> {
        self.write(|tx| users::delete_token(tx, token_hash))
    }
    fn delete_expired_tokens(&self, now: i64) -> CatalogResult<u64> {
        self.write(|tx| users::delete_expired_tokens(tx, now))
    }

    // ---- client credentials: a user's own data, like their password
    fn create_client_credential(
        &self,
        user: UserId,
        kind: CredentialKind,
        name: &str,
        secret: &str,
        now: i64,
    ) -> CatalogResult<ClientCredential> {
        self.write(|tx| credentials::create(tx, user, kind, name, secret, now))
    }
    fn client_credentials(&self, user: UserId) -> CatalogResult<Vec<ClientCredential>> {
        self.read_own(|tx| credentials::list(tx, user))
    }
    fn delete_client_credential(&self, user: UserId, id: CredentialId) -> CatalogResult<()> {
        self.write(|tx| credentials::delete(tx, user, id))
    }
    fn app_password_secrets(&self, username: &str) -> CatalogResult<Option<AppPasswordSecrets>> {
        self.read_own(|tx| credentials::app_password_secrets(tx, username))
    }
    fn api_key_user(&self, secret: &str) -> CatalogResult<Option<(User, CredentialId)>> {
        self.read_own(|tx| credentials::api_key_user(tx, secret))
    }
    fn touch_client_credential(&self, id: CredentialId, now: i64) -> CatalogResult<()> {
        self.write(|tx| credentials::touch(tx, id, now))
    }

    // ---- stars and ratings: the listener's own marks
    fn set_starred(
        &self,
        user: UserId,
        items: &[Item],
        starred: bool,
        now: i64,
    ) -> CatalogResult<()> {
        self.write(|tx| annotations::set_starred(tx, user, items, starred, now))
    }
    fn set_rating(&self, user: UserId, item: Item, rating: Option<u8>) -> CatalogResult<()> {
        self.write(|tx| annotations::set_rating(tx, user, item, rating))
    }
    fn annotations(
        &self,
        user: UserId,
        items: &[Item],
    ) -> CatalogResult<HashMap<Item, Annotation>> {
        self.read_own(|tx| annotations::annotations(tx, user, items))
    }
    fn starred(&self, user: UserId) -> CatalogResult<Starred> {
        self.read_own(|tx| annotations::starred(tx, user))
    }

    // ---- lists for third-party clients
    fn album_list(
        &self,
        list: &AlbumList,
        page: PageRequest,
        viewer: UserId,
    ) -> CatalogResult<Vec<Album>> {
        // Lists made of the viewer's own plays and marks read where their writes are.
        match list {
            AlbumList::Frequent | AlbumList::Recent | AlbumList::Starred | AlbumList::Highest => {
                self.read_own(|tx| lists::album_list(tx, list, page, viewer))
            }
            _ => self.read(|tx| lists::album_list(tx, list, page, viewer)),
        }
    }
    fn random_songs(&self, filter: &SongFilter, count: u32) -> CatalogResult<Vec<Song>> {
        self.read(|tx| lists::random_songs(tx, filter, count))
    }
    fn artist_by_name(&self, name: &str) -> CatalogResult<Option<ArtistId>> {
        self.read(|tx| lists::artist_by_name(tx, name))
    }
    fn library_updated_at(&self) -> CatalogResult<Option<i64>> {
        self.read(lists::library_updated_at)
    }

    // ---- now playing and saved queues: written by listeners, read back at once
    fn set_now_playing(
        &self,
        user: UserId,
        song: SongId,
        client: &str,
        now: i64,
    ) -> CatalogResult<()> {
        self.write(|tx| listening::set_now_playing(tx, user, song, client, now))
    }
    fn now_playing(&self, now: i64) -> CatalogResult<Vec<NowPlaying>> {
        self.read_own(|tx| listening::now_playing(tx, now))
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
        self.write(|tx| {
            listening::save_play_queue(tx, user, songs, current, position_ms, client, now)
        })
    }
    fn play_queue(&self, user: UserId) -> CatalogResult<Option<PlayQueue>> {
        self.read_own(|tx| listening::play_queue(tx, user))
    }

    // ---- songs and browsing
    fn insert_song(&self, song: &NewSong, now: i64) -> CatalogResult<(Song, bool)> {
        self.write(|tx| {
            let (id, created) = match library::insert_song(tx, song, now, &mut Names::default())? {
                Inserted::Created(id) => (id, true),
                Inserted::Existing(id) => (id, false),
            };
            Ok((browse::song(tx, id)?, created))
        })
    }
    fn song(&self, id: SongId) -> CatalogResult<Song> {
        self.read_by_id(|tx| browse::song(tx, id))
    }
    fn song_by_hash(&self, hash: &str) -> CatalogResult<Option<Song>> {
        // Uploads ask it to deduplicate: the answer must include the latest upload.
        self.read_own(|tx| browse::song_by_hash(tx, hash))
    }
    fn songs(&self, page: PageRequest) -> CatalogResult<Page<Song>> {
        self.read(|tx| browse::songs(tx, page))
    }
    fn delete_song(&self, id: SongId) -> CatalogResult<Vec<String>> {
        self.write(|tx| library::delete_song(tx, id))
    }
    fn albums(&self, page: PageRequest) -> CatalogResult<Page<Album>> {
        self.read(|tx| browse::albums(tx, page))
    }
    fn album(&self, id: AlbumId) -> CatalogResult<AlbumDetail> {
        self.read_by_id(|tx| browse::album(tx, id))
    }
    fn album_cover(&self, id: AlbumId) -> CatalogResult<Option<BlobRef>> {
        self.read_by_id(|tx| browse::album_cover(tx, id))
    }
    fn artists(&self, page: PageRequest) -> CatalogResult<Page<Artist>> {
        self.read(|tx| browse::artists(tx, page))
    }
    fn artist(&self, id: ArtistId) -> CatalogResult<ArtistDetail> {
        self.read_by_id(|tx| browse::artist(tx, id))
    }
    fn genres(&self) -> CatalogResult<Vec<Genre>> {
        self.read(browse::genres)
    }
    fn genre_songs(&self, genre: &str, page: PageRequest) -> CatalogResult<Page<Song>> {
        self.read_by_id(|tx| browse::genre_songs(tx, genre, page))
    }
    fn song_blob(&self, id: SongId) -> CatalogResult<BlobRef> {
        self.read_by_id(|tx| browse::blob(tx, "songs", "song", id))
    }
    fn episode_blob(&self, id: EpisodeId) -> CatalogResult<BlobRef> {
        self.read_by_id(|tx| browse::blob(tx, "episodes", "episode", id))
    }

    // ---- search
    fn search(
        &self,
        query: &str,
        kind: SearchType,
        page: PageRequest,
        viewer: UserId,
    ) -> CatalogResult<SearchResults> {
        // The playlist group shows the viewer's own private playlists: it reads the
        // primary; the rest of the catalog may read a replica.
        let own =
            |kind: SearchType| self.read_own(|tx| search::search(tx, query, &[kind], page, viewer));
        let shared =
            |groups: &[SearchType]| self.read(|tx| search::search(tx, query, groups, page, viewer));
        match kind {
            SearchType::All => {}
            SearchType::Playlist => return own(SearchType::Playlist),
            _ => return shared(std::slice::from_ref(&kind)),
        }
        // A type=all search runs its two reads at once, the catalog on a replica and the
        // playlists on the primary: one after the other, their round trips to the
        // databases add up. Each has its own snapshot, as the SQLite catalog's two halves
        // do. This thread holds no connection while it waits, so the pools cannot
        // deadlock.
        let groups = [
            SearchType::Song,
            SearchType::Artist,
            SearchType::Album,
            SearchType::Podcast,
        ];
        let (shared, playlists) = std::thread::scope(|s| {
            let playlists = s.spawn(|| own(SearchType::Playlist));
            let shared = shared(&groups);
            let playlists = playlists
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (shared, playlists)
        });
        Ok(SearchResults {
            playlists: playlists?.playlists,
            ..shared?
        })
    }

    // ---- plays
    fn report_play(&self, user: UserId, play: &RecordPlay, now: i64) -> CatalogResult<PlayOutcome> {
        // One insert, and a read only when it inserted nothing: no transaction needed.
        self.router
            .write_single(|tx| plays::report_play(tx, user, play, now))
    }
    fn record_play(
        &self,
        user: UserId,
        song: SongId,
        played_ms: Option<u64>,
        at: i64,
    ) -> CatalogResult<()> {
        self.router
            .write_single(|tx| plays::record_play(tx, user, song, played_ms, at))
    }
    fn hot(&self, since: i64, limit: u32) -> CatalogResult<Vec<HotEntry>> {
        self.read(|tx| plays::hot(tx, since, limit))
    }

    // ---- playlists
    fn playlists(&self, viewer: UserId, page: PageRequest) -> CatalogResult<Page<Playlist>> {
        self.read_own(|tx| playlists::playlists(tx, viewer, page))
    }
    fn playlist(&self, id: PlaylistId, viewer: UserId) -> CatalogResult<PlaylistDetail> {
        self.read_own(|tx| playlists::playlist(tx, id, viewer))
    }
    fn create_playlist(
        &self,
        owner: UserId,
        new: &CreatePlaylist,
        now: i64,
    ) -> CatalogResult<Playlist> {
        self.write(|tx| playlists::create_playlist(tx, owner, new, now))
    }
    fn update_playlist(
        &self,
        id: PlaylistId,
        viewer: UserId,
        update: &UpdatePlaylist,
        now: i64,
    ) -> CatalogResult<Playlist> {
        self.write(|tx| playlists::update_playlist(tx, id, viewer, update, now))
    }
    fn delete_playlist(&self, id: PlaylistId, viewer: UserId) -> CatalogResult<()> {
        self.write(|tx| playlists::delete_playlist(tx, id, viewer))
    }
    fn add_tracks(
        &self,
        id: PlaylistId,
        viewer: UserId,
        songs: &[SongId],
        position: Option<u32>,
        now: i64,
    ) -> CatalogResult<PlaylistDetail> {
        self.write(|tx| playlists::add_tracks(tx, id, viewer, songs, position, now))
    }
    fn remove_track(
        &self,
        id: PlaylistId,
        viewer: UserId,
        position: u32,
        now: i64,
    ) -> CatalogResult<PlaylistDetail> {
        self.write(|tx| playlists::remove_track(tx, id, viewer, position, now))
    }
    fn move_track(
        &self,
        id: PlaylistId,
        viewer: UserId,
        from: u32,
        to: u32,
        now: i64,
    ) -> CatalogResult<PlaylistDetail> {
        // One call that commits on its own, then reads: see `playlists::move_track`.
        self.router
            .write_single(|tx| playlists::move_track(tx, id, viewer, from, to, now))
    }

    fn edit_playlist(
        &self,
        id: PlaylistId,
        viewer: UserId,
        edit: &PlaylistEdit,
        now: i64,
    ) -> CatalogResult<PlaylistDetail> {
        self.write(|tx| playlists::edit_playlist(tx, id, viewer, edit, now))
    }

    // ---- podcasts
    fn create_podcast(&self, new: &CreatePodcast, now: i64) -> CatalogResult<(Podcast, bool)> {
        self.write(|tx| podcasts::create_podcast(tx, new, now))
    }
    fn podcasts(&self, page: PageRequest) -> CatalogResult<Page<Podcast>> {
        self.read(|tx| podcasts::podcasts(tx, page))
    }
    fn podcast(&self, id: PodcastId, viewer: UserId) -> CatalogResult<PodcastDetail> {
        // Episodes carry the viewer's resume positions.
        self.read_own(|tx| podcasts::podcast(tx, id, viewer))
    }
    fn insert_episode(
        &self,
        podcast: PodcastId,
        episode: &NewEpisode,
        now: i64,
    ) -> CatalogResult<(Episode, bool)> {
        self.write(|tx| podcasts::insert_episode(tx, podcast, episode, now))
    }
    fn episode(&self, id: EpisodeId, viewer: UserId) -> CatalogResult<Episode> {
        self.read_own(|tx| podcasts::episode(tx, id, viewer))
    }
    fn position(&self, user: UserId, episode: EpisodeId) -> CatalogResult<u64> {
        self.read_own(|tx| podcasts::position(tx, user, episode))
    }
    fn set_position(
        &self,
        user: UserId,
        episode: EpisodeId,
        position_ms: u64,
        now: i64,
    ) -> CatalogResult<()> {
        self.write(|tx| podcasts::set_position(tx, user, episode, position_ms, now))
    }

    fn delete_position(&self, user: UserId, episode: EpisodeId) -> CatalogResult<()> {
        self.write(|tx| podcasts::delete_position(tx, user, episode))
    }
    fn bookmarks(&self, user: UserId) -> CatalogResult<Vec<Bookmark>> {
        self.read_own(|tx| podcasts::bookmarks(tx, user))
    }
    fn newest_episodes(&self, limit: u32, viewer: UserId) -> CatalogResult<Vec<Episode>> {
        // Episodes carry the viewer's resume positions.
        self.read_own(|tx| podcasts::newest_episodes(tx, limit, viewer))
    }
    fn delete_podcast(&self, id: PodcastId) -> CatalogResult<Vec<String>> {
        self.write(|tx| podcasts::delete_podcast(tx, id))
    }
    fn claim_feed(
        &self,
        podcast: PodcastId,
        holder: &str,
        now: i64,
        lease_secs: i64,
    ) -> CatalogResult<bool> {
        self.write(|tx| podcasts::claim_feed(tx, podcast, holder, now, lease_secs))
    }
    fn finish_feed(
        &self,
        podcast: PodcastId,
        holder: &str,
        now: i64,
        error: Option<&str>,
    ) -> CatalogResult<()> {
        self.write(|tx| podcasts::finish_feed(tx, podcast, holder, now, error))
    }

    // ---- blobs
    fn blob_refs(&self) -> CatalogResult<Vec<BlobRef>> {
        // Replication checks and repairs act on the answer: it must include the last upload.
        self.read_own(stats::blob_refs)
    }
    fn blob_status(&self, hash: &str) -> CatalogResult<BlobStatus> {
        self.read_own(|tx| stats::blob_status(tx, hash))
    }
    fn stats(&self, now: i64) -> CatalogResult<CatalogStats> {
        self.read(|tx| stats::stats(tx, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::song;
    use std::time::Instant;

    /// Polls `check` until it holds (the health check runs twice a second).
    fn eventually(what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !check() {
            assert!(Instant::now() < deadline, "{what} did not happen in 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn a_lagging_replica_is_skipped_and_a_users_own_writes_read_back_everywhere() {
        if cadenza_pgtest::skip("the replica lag test") {
            return;
        }
        let cluster = cadenza_pgtest::Cluster::start_with_replicas(1).unwrap();
        let database = cluster.create_database().unwrap();
        let options = PgOptions {
            replicas: vec![cluster.replica_url(0, &database)],
            max_replica_lag: Duration::from_secs(1),
            connections: 2,
            ..PgOptions::new(cluster.primary_url(&database))
        };
        // Two copies of the server on the same databases.
        let (a, b) = (
            PgCatalog::open(&options).unwrap(),
            PgCatalog::open(&options).unwrap(),
        );
        let serving = |cat: &PgCatalog| cat.nodes()[1].serving_reads;
        eventually("the replica serving a's reads", || serving(&a));
        let mut replica =
            postgres::Client::connect(&cluster.replica_url(0, "postgres"), postgres::NoTls)
                .unwrap();
        replica
            .batch_execute("SELECT pg_wal_replay_pause()")
            .unwrap();

        // b writes while the replica stands still.
        let carol = b
            .create_user("carol", "$argon2id$c", Role::Listener)
            .unwrap();
        let list = b
            .create_playlist(
                carol.id,
                &CreatePlaylist {
                    name: "Mine".into(),
                    public: false,
                },
                1,
            )
            .unwrap();
        let (new, _) = b.insert_song(&song(1, "Fresh", "New", "Songs"), 1).unwrap();
        // a sees carol's own writes at once: they are read from the primary...
        assert_eq!(a.credentials("carol").unwrap().unwrap().user.id, carol.id);
        assert_eq!(
            a.playlists(carol.id, PageRequest::default()).unwrap().items[0].id,
            list.id
        );
        // ...and a link to the new song works although the replica lacks it.
        assert_eq!(a.song(new.id).unwrap().title, "Fresh");
        // Once the replica is further behind than max_replica_lag it serves nothing.
        eventually("the replica counted as lagging", || {
            let node = &a.nodes()[1];
            node.up && !node.serving_reads && node.lag_seconds.is_some_and(|l| l > 1.0)
        });
        assert_eq!(
            a.songs(PageRequest::default()).unwrap().total,
            1,
            "read on the primary"
        );
        replica
            .batch_execute("SELECT pg_wal_replay_resume()")
            .unwrap();
        eventually("the replica serving reads again", || serving(&a));
        assert_eq!(a.songs(PageRequest::default()).unwrap().total, 1);
    }
}
