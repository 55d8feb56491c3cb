//! All server traffic, on a tokio runtime of its own thread. The UI sends [`NetRequest`]s and
//! gets [`NetEvent`]s back through a callback; it never waits for the network.

mod download;
mod outbox;
mod plays;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cadenza_api::{
    Client, ClientError, PageRequest, Playlist, PlaylistDetail, PlaylistId, SearchResults,
    SearchType, SongId, UpdatePlaylist, User,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::app::screen::{Row, ScreenKind};
use crate::audio::deck::Token;
use crate::audio::TrackInput;
use crate::cache::{Cache, Lookup};
use crate::session::Session;
use crate::track::Track;
use plays::Plays;

/// Rows per page of long lists.
pub const PAGE: u32 = 100;

#[derive(Debug)]
pub enum NetRequest {
    Login {
        server: String,
        username: String,
        password: String,
    },
    /// Use this session from now on (after a login, or at start-up).
    UseSession(Session),
    /// Check the session: answers [`NetEvent::Connected`] or an error.
    Connect,
    Load {
        kind: ScreenKind,
        offset: u32,
    },
    Search {
        seq: u64,
        query: String,
    },
    /// The songs of an album or playlist, to add to the queue (`a`, `A` on its row).
    QueueCollection {
        kind: ScreenKind,
        title: String,
        next: bool,
    },
    /// The caller's own playlists (for "add to playlist").
    MyPlaylists,
    CreatePlaylist {
        name: String,
    },
    RenamePlaylist {
        id: PlaylistId,
        name: String,
    },
    DeletePlaylist {
        id: PlaylistId,
    },
    AddToPlaylist {
        id: PlaylistId,
        songs: Vec<SongId>,
    },
    RemoveFromPlaylist {
        id: PlaylistId,
        position: u32,
    },
    MoveInPlaylist {
        id: PlaylistId,
        from: u32,
        to: u32,
    },
    RecordPlay {
        song: SongId,
        played_ms: u64,
    },
    SavePosition {
        episode: i64,
        position_ms: u64,
    },
    /// Get a track ready to play: from the cache, or by starting its download. A preload
    /// waits for the whole file.
    Prepare {
        token: Token,
        track: Track,
        preload: bool,
    },
    /// Wait (up to the timeout) for writes in flight, then answer.
    Flush(Duration, std::sync::mpsc::Sender<()>),
}

/// A failed call, sorted by what the player does about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetError {
    pub kind: NetErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetErrorKind {
    /// Token missing, wrong or expired: log in again.
    Unauthorized,
    /// No answer from the server: play from the cache.
    Unreachable,
    NotFound,
    Forbidden,
    Other,
}

impl From<ClientError> for NetError {
    fn from(e: ClientError) -> Self {
        let kind = if e.is_unauthorized() {
            NetErrorKind::Unauthorized
        } else if e.is_unreachable() {
            NetErrorKind::Unreachable
        } else if e.is_not_found() {
            NetErrorKind::NotFound
        } else if e.is_forbidden() {
            NetErrorKind::Forbidden
        } else {
            NetErrorKind::Other
        };
        NetError {
            kind,
            message: e.to_string(),
        }
    }
}

impl NetError {
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            kind: NetErrorKind::Other,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Rows for a screen.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub rows: Vec<Row>,
    pub total: Option<u64>,
    pub title: Option<String>,
    pub playlist: Option<Playlist>,
}

#[derive(Debug)]
pub enum NetEvent {
    LoggedIn {
        session: Session,
        user: User,
    },
    LoginFailed(String),
    Connected(User),
    Loaded {
        kind: ScreenKind,
        offset: u32,
        result: Result<Loaded, NetError>,
    },
    SearchResults {
        seq: u64,
        /// Boxed: the largest answer by far, and every event is moved through a channel.
        result: Result<Box<SearchResults>, NetError>,
    },
    MyPlaylists(Result<Vec<Playlist>, NetError>),
    /// The rows of an album or playlist asked for by [`NetRequest::QueueCollection`].
    CollectionTracks {
        title: String,
        next: bool,
        result: Result<Vec<Row>, NetError>,
    },
    /// A playlist edit went through (or not); `detail` is the playlist afterwards.
    PlaylistEdited {
        id: PlaylistId,
        result: Result<Option<PlaylistDetail>, NetError>,
        done: String,
    },
    Prepared {
        token: Token,
        preload: bool,
        result: Result<(TrackInput, bool), NetError>,
    },
    Download {
        hash: String,
        downloaded: u64,
        total: u64,
    },
    /// The cached copy of a track being played (or preloaded) failed its hash check after
    /// playback started from it; it has been deleted.
    CachedCopyDamaged {
        hash: String,
        title: String,
    },
    /// This many play reports kept while the server was unreachable went through: it
    /// answers again.
    KeptPlaysSent(usize),
    /// Something worth a one-line note (a damaged cached file replaced, a play not recorded).
    Note(String),
    /// A background call failed.
    Failed {
        what: String,
        error: NetError,
    },
}

type Sink = Arc<dyn Fn(NetEvent) + Send + Sync>;

/// Handle to the network thread.
pub struct NetHandle {
    tx: mpsc::UnboundedSender<NetRequest>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NetHandle {
    /// Starts the runtime thread. `session` is the saved login, if any.
    pub fn start(
        session: Option<Session>,
        cache: Arc<Cache>,
        events: impl Fn(NetEvent) + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cadenza-net")
            .enable_all()
            .build()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let events: Sink = Arc::new(events);
        let thread = std::thread::Builder::new()
            .name("cadenza-net-main".into())
            .spawn(move || {
                let client = session
                    .and_then(|s| Client::new(&s.server).ok().map(|c| c.with_token(s.token)));
                let (plays, note) = Plays::open(cache.dir());
                if let Some(note) = note {
                    events(NetEvent::Note(note));
                }
                let (clients, watching) = watch::channel(client.clone());
                let retry_events = events.clone();
                runtime.spawn(
                    plays
                        .clone()
                        .retry_forever(watching, move |e| retry_events(e)),
                );
                let net = Net {
                    client,
                    clients,
                    cache,
                    events,
                    downloads: Arc::default(),
                    writes: JoinSet::new(),
                    plays,
                };
                runtime.block_on(net.run(rx));
                // Downloads still running are abandoned; their .part files are cleaned up
                // on the next start.
                runtime.shutdown_timeout(Duration::from_millis(200));
            })?;
        Ok(Self {
            tx,
            thread: Some(thread),
        })
    }

    pub fn send(&self, request: NetRequest) {
        let _ = self.tx.send(request);
    }

    /// Waits (at most `timeout`) for writes in flight, e.g. a podcast position saved on quit.
    pub fn flush(&self, timeout: Duration) {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        self.send(NetRequest::Flush(timeout, done_tx));
        let _ = done_rx.recv_timeout(timeout + Duration::from_millis(200));
    }
}

impl Drop for NetHandle {
    fn drop(&mut self) {
        // Closing the channel ends the loop.
        let (dead, _) = mpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.tx, dead));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

type Downloads = Arc<Mutex<HashMap<String, Arc<download::Download>>>>;

struct Net {
    client: Option<Client>,
    /// The client of the moment, for the play reports' retry loop.
    clients: watch::Sender<Option<Client>>,
    cache: Arc<Cache>,
    events: Sink,
    downloads: Downloads,
    /// Writes the user would miss if they were dropped at quit.
    writes: JoinSet<()>,
    plays: Arc<Plays>,
}

fn not_logged_in() -> NetError {
    NetError {
        kind: NetErrorKind::Unauthorized,
        message: "not logged in".into(),
    }
}

impl Net {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<NetRequest>) {
        while let Some(request) = rx.recv().await {
            while self.writes.try_join_next().is_some() {}
            self.handle(request).await;
        }
    }

    fn emit(&self, event: NetEvent) {
        (self.events)(event);
    }

    async fn handle(&mut self, request: NetRequest) {
        let events = self.events.clone();
        let emit = move |e| events(e);
        match request {
            NetRequest::UseSession(session) => {
                self.client = Client::new(&session.server)
                    .ok()
                    .map(|c| c.with_token(session.token));
                self.clients.send_replace(self.client.clone());
                // Logged in again: plays kept meanwhile can go.
                if let Some(client) = self.client.clone() {
                    let plays = self.plays.clone();
                    self.writes
                        .spawn(async move { plays.send_waiting(&client, &emit).await });
                }
            }
            NetRequest::RecordPlay { song, played_ms } => {
                let Some(client) = self.client.clone() else {
                    self.emit(NetEvent::Failed {
                        what: "record the play".into(),
                        error: not_logged_in(),
                    });
                    return;
                };
                let plays = self.plays.clone();
                self.writes.spawn(async move {
                    plays.report(&client, song, played_ms, &emit).await;
                });
            }
            NetRequest::Connect => {
                let Some(client) = self.client.clone() else {
                    self.emit(NetEvent::Failed {
                        what: "connect".into(),
                        error: not_logged_in(),
                    });
                    return;
                };
                let plays = self.plays.clone();
                self.writes.spawn(async move {
                    match client.me().await {
                        Ok(user) => {
                            emit(NetEvent::Connected(user));
                            // The server answers: plays kept while it did not can go.
                            plays.send_waiting(&client, &emit).await;
                        }
                        Err(e) => emit(NetEvent::Failed {
                            what: "connect".into(),
                            error: e.into(),
                        }),
                    }
                });
            }
            NetRequest::Flush(timeout, done) => {
                let mut writes = std::mem::take(&mut self.writes);
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(timeout, async {
                        while writes.join_next().await.is_some() {}
                    })
                    .await;
                    let _ = done.send(());
                });
            }
            NetRequest::Login {
                server,
                username,
                password,
            } => {
                tokio::spawn(async move {
                    let event = match login(&server, &username, &password).await {
                        Ok((session, user)) => NetEvent::LoggedIn { session, user },
                        Err(message) => NetEvent::LoginFailed(message),
                    };
                    emit(event);
                });
            }
            NetRequest::Prepare {
                token,
                track,
                preload,
            } => {
                let client = self.client.clone();
                let cache = self.cache.clone();
                let downloads = self.downloads.clone();
                tokio::spawn(async move {
                    let result = prepare(client, cache, downloads, &track, preload, &emit).await;
                    emit(NetEvent::Prepared {
                        token,
                        preload,
                        result,
                    });
                });
            }
            request => {
                let Some(client) = self.client.clone() else {
                    self.emit(NetEvent::Failed {
                        what: "talk to the server".into(),
                        error: not_logged_in(),
                    });
                    return;
                };
                let is_write = matches!(
                    request,
                    NetRequest::SavePosition { .. }
                        | NetRequest::CreatePlaylist { .. }
                        | NetRequest::RenamePlaylist { .. }
                        | NetRequest::DeletePlaylist { .. }
                        | NetRequest::AddToPlaylist { .. }
                        | NetRequest::RemoveFromPlaylist { .. }
                        | NetRequest::MoveInPlaylist { .. }
                );
                let task = async move { call(&client, request, &emit).await };
                if is_write {
                    self.writes.spawn(task);
                } else {
                    tokio::spawn(task);
                }
            }
        }
    }
}

async fn login(server: &str, username: &str, password: &str) -> Result<(Session, User), String> {
    let mut client = Client::new(server).map_err(|e| e.to_string())?;
    match client.login(username, password).await {
        Ok(answer) => Ok((
            Session {
                server: client.base_url().to_string(),
                token: answer.token,
                username: answer.user.username.clone(),
            },
            answer.user,
        )),
        Err(e) if e.is_unauthorized() => Err("wrong username or password".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Handles the requests that are one API call each.
async fn call(client: &Client, request: NetRequest, emit: &(impl Fn(NetEvent) + Sync)) {
    match request {
        NetRequest::Load { kind, offset } => {
            let result = load(client, &kind, offset).await.map_err(NetError::from);
            emit(NetEvent::Loaded {
                kind,
                offset,
                result,
            });
        }
        NetRequest::Search { seq, query } => {
            let page = PageRequest {
                limit: 20,
                offset: 0,
            };
            let result = client
                .search(&query, SearchType::All, page)
                .await
                .map_err(NetError::from);
            emit(NetEvent::SearchResults {
                seq,
                result: result.map(Box::new),
            });
        }
        NetRequest::QueueCollection { kind, title, next } => {
            let result = load(client, &kind, 0)
                .await
                .map(|loaded| loaded.rows)
                .map_err(NetError::from);
            emit(NetEvent::CollectionTracks {
                title,
                next,
                result,
            });
        }
        NetRequest::MyPlaylists => {
            let result = async {
                let me = client.me().await?;
                let page = client
                    .playlists(PageRequest {
                        limit: 500,
                        offset: 0,
                    })
                    .await?;
                Ok(page
                    .items
                    .into_iter()
                    .filter(|p| p.owner_id == me.id)
                    .collect())
            }
            .await
            .map_err(|e: ClientError| NetError::from(e));
            emit(NetEvent::MyPlaylists(result));
        }
        NetRequest::CreatePlaylist { name } => {
            let result = client.create_playlist(&name, false).await;
            let id = result.as_ref().map_or(0, |p| p.id);
            emit(NetEvent::PlaylistEdited {
                id,
                result: result.map(|_| None).map_err(NetError::from),
                done: format!("created playlist “{name}”"),
            });
        }
        NetRequest::RenamePlaylist { id, name } => {
            let update = UpdatePlaylist {
                name: Some(name.clone()),
                public: None,
            };
            let result = async {
                client.update_playlist(id, &update).await?;
                client.playlist(id).await
            }
            .await;
            emit(NetEvent::PlaylistEdited {
                id,
                result: result.map(Some).map_err(NetError::from),
                done: format!("renamed the playlist to “{name}”"),
            });
        }
        NetRequest::DeletePlaylist { id } => {
            let result = client.delete_playlist(id).await;
            emit(NetEvent::PlaylistEdited {
                id,
                result: result.map(|_| None).map_err(NetError::from),
                done: "deleted the playlist".into(),
            });
        }
        NetRequest::AddToPlaylist { id, songs } => {
            let result = client.add_to_playlist(id, &songs, None).await;
            let done = match &result {
                Ok(detail) => format!("added to “{}”", detail.playlist.name),
                Err(_) => String::new(),
            };
            emit(NetEvent::PlaylistEdited {
                id,
                result: result.map(Some).map_err(NetError::from),
                done,
            });
        }
        NetRequest::RemoveFromPlaylist { id, position } => {
            let result = client.remove_from_playlist(id, position).await;
            emit(NetEvent::PlaylistEdited {
                id,
                result: result.map(Some).map_err(NetError::from),
                done: "removed from the playlist".into(),
            });
        }
        NetRequest::MoveInPlaylist { id, from, to } => {
            let result = client.move_in_playlist(id, from, to).await;
            emit(NetEvent::PlaylistEdited {
                id,
                result: result.map(Some).map_err(NetError::from),
                done: String::new(),
            });
        }
        NetRequest::SavePosition {
            episode,
            position_ms,
        } => {
            if let Err(e) = client.set_episode_position(episode, position_ms).await {
                emit(NetEvent::Failed {
                    what: "save the episode position".into(),
                    error: e.into(),
                });
            }
        }
        // Handled by `Net::handle` itself.
        NetRequest::Login { .. }
        | NetRequest::UseSession(_)
        | NetRequest::Connect
        | NetRequest::RecordPlay { .. }
        | NetRequest::Prepare { .. }
        | NetRequest::Flush(..) => {}
    }
}

async fn load(client: &Client, kind: &ScreenKind, offset: u32) -> Result<Loaded, ClientError> {
    let page = PageRequest {
        limit: PAGE,
        offset,
    };
    let plain = |rows: Vec<Row>, total: Option<u64>| Loaded {
        rows,
        total,
        title: None,
        playlist: None,
    };
    Ok(match kind {
        ScreenKind::Artists => {
            let p = client.artists(page).await?;
            plain(
                p.items.into_iter().map(Row::Artist).collect(),
                Some(p.total),
            )
        }
        ScreenKind::Albums => {
            let p = client.albums(page).await?;
            plain(p.items.into_iter().map(Row::Album).collect(), Some(p.total))
        }
        ScreenKind::Playlists => {
            let p = client.playlists(page).await?;
            plain(
                p.items.into_iter().map(Row::Playlist).collect(),
                Some(p.total),
            )
        }
        ScreenKind::Podcasts => {
            let p = client.podcasts(page).await?;
            plain(
                p.items.into_iter().map(Row::Podcast).collect(),
                Some(p.total),
            )
        }
        ScreenKind::Genre(name) => {
            let p = client.genre_songs(name, page).await?;
            plain(p.items.into_iter().map(Row::Song).collect(), Some(p.total))
        }
        ScreenKind::Genres => {
            let genres = client.genres().await?;
            plain(genres.into_iter().map(Row::Genre).collect(), None)
        }
        ScreenKind::Hot => {
            let hot = client.hot(30, 100).await?;
            plain(
                hot.into_iter()
                    .map(|h| Row::Hot {
                        song: h.song,
                        plays: h.plays,
                    })
                    .collect(),
                None,
            )
        }
        ScreenKind::Artist(id) => {
            let detail = client.artist(*id).await?;
            let mut rows = Vec::new();
            if !detail.top_songs.is_empty() {
                rows.push(Row::Header("Top songs".into()));
                rows.extend(detail.top_songs.into_iter().map(Row::Song));
            }
            if !detail.albums.is_empty() {
                rows.push(Row::Header("Albums".into()));
                rows.extend(detail.albums.into_iter().map(Row::Album));
            }
            Loaded {
                rows,
                total: None,
                title: Some(detail.artist.name),
                playlist: None,
            }
        }
        ScreenKind::Album(id) => {
            let detail = client.album(*id).await?;
            let album = detail.album;
            let year = album.year.map(|y| format!(" ({y})")).unwrap_or_default();
            Loaded {
                rows: detail.tracks.into_iter().map(Row::Song).collect(),
                total: None,
                title: Some(format!("{} — {}{year}", album.title, album.artist)),
                playlist: None,
            }
        }
        ScreenKind::Playlist(id) => {
            let detail = client.playlist(*id).await?;
            Loaded {
                rows: detail.tracks.into_iter().map(Row::Song).collect(),
                total: None,
                title: Some(detail.playlist.name.clone()),
                playlist: Some(detail.playlist),
            }
        }
        ScreenKind::Podcast(id) => {
            let detail = client.podcast(*id).await?;
            let podcast = detail.podcast.title.clone();
            Loaded {
                rows: detail
                    .episodes
                    .into_iter()
                    .map(|episode| Row::Episode {
                        episode,
                        podcast: podcast.clone(),
                    })
                    .collect(),
                total: None,
                title: Some(podcast),
                playlist: None,
            }
        }
        // Built locally by the app; nothing to fetch.
        ScreenKind::Search | ScreenKind::Cached => plain(Vec::new(), None),
    })
}

/// Lowers the calling thread's CPU priority: checking a cached file's hash (25 ms of CPU for
/// 5 MB) must not delay the decoder and the output, which start at the same moment.
fn yield_to_playback() {
    // On Linux the nice value is per thread, and `who = 0` is the calling thread.
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; failure leaves the priority as is.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// How many bytes must be there before a stream starts playing (or all of a small file).
const START_BYTES: u64 = 48 * 1024;

async fn prepare(
    client: Option<Client>,
    cache: Arc<Cache>,
    downloads: Downloads,
    track: &Track,
    preload: bool,
    emit: &(impl Fn(NetEvent) + Send + Sync + Clone + 'static),
) -> Result<(TrackInput, bool), NetError> {
    let lookup = {
        let cache = cache.clone();
        let hash = track.hash.clone();
        tokio::task::spawn_blocking(move || cache.quick_lookup(&hash))
            .await
            .map_err(|e| NetError::other(format!("cache check failed: {e}")))?
    };
    match lookup {
        Lookup::Present(path) | Lookup::Verified(path) => {
            // Play at once; the hash is checked meanwhile, and a damaged copy is fetched again.
            let (cache, hash, title, emit) = (
                cache.clone(),
                track.hash.clone(),
                track.title.clone(),
                emit.clone(),
            );
            let check = move || {
                yield_to_playback();
                if !matches!(cache.lookup(&hash), Lookup::Verified(_)) {
                    emit(NetEvent::CachedCopyDamaged { hash, title });
                }
            };
            // Its own thread, so the lowered priority stays with this one job.
            if let Err(e) = std::thread::Builder::new()
                .name("cadenza-verify".into())
                .spawn(check)
            {
                return Err(NetError::other(format!(
                    "cannot check the cached copy of “{}”: {e}",
                    track.title
                )));
            }
            return Ok((TrackInput::File(path), true));
        }
        Lookup::Corrupt => emit(NetEvent::Note(format!(
            "the cached copy of “{}” was damaged: fetching it again",
            track.title
        ))),
        Lookup::Missing => {}
    }
    let client = client.ok_or_else(not_logged_in)?;
    let download = download::start(client, cache, downloads, track.clone(), emit.clone())
        .map_err(|e| NetError::other(format!("cannot write to the cache: {e}")))?;
    let waiting = download.clone();
    // Gapless needs the whole file before the current track ends; a stream starts early.
    let ready = tokio::task::spawn_blocking(move || {
        let progressive = &waiting.progressive;
        if preload {
            progressive
                .wait_complete(Duration::from_secs(600))
                .map(TrackInput::File)
        } else {
            progressive
                .wait_for(0, START_BYTES, Duration::from_secs(30))
                .map(|()| TrackInput::Stream(progressive.clone()))
        }
    })
    .await
    .map_err(|e| NetError::other(e.to_string()))?;
    match ready {
        Ok(input) => Ok((input, preload)),
        Err(e) => Err(download.error().unwrap_or(NetError::other(e.to_string()))),
    }
}
