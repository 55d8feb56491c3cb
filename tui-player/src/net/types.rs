//! What the player and the network thread say to each other: requests, events, errors, and
//! the catalog data that answers a load. Data only: the app decides how it is shown.

use std::time::Duration;

use cadenza_api::{
    Album, AlbumDetail, AlbumId, Artist, ArtistDetail, ArtistId, ClientError, Genre, HotEntry,
    Page, Playlist, PlaylistDetail, PlaylistId, Podcast, PodcastDetail, PodcastId, SearchResults,
    Song, SongId, User,
};

use crate::audio::deck::Token;
use crate::audio::TrackInput;
use crate::session::Session;
use crate::track::Track;

/// A part of the catalog to fetch: a list (a page at a time where it is long) or one item with
/// what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Listing {
    Artists,
    Albums,
    Genres,
    Genre(String),
    Playlists,
    Playlist(PlaylistId),
    Podcasts,
    Podcast(PodcastId),
    Hot,
    Artist(ArtistId),
    Album(AlbumId),
}

/// What the server answered for a [`Listing`].
#[derive(Debug, Clone)]
pub enum Fetched {
    Artists(Page<Artist>),
    Albums(Page<Album>),
    Genres(Vec<Genre>),
    GenreSongs(Page<Song>),
    Playlists(Page<Playlist>),
    Playlist(PlaylistDetail),
    Podcasts(Page<Podcast>),
    Podcast(PodcastDetail),
    Hot(Vec<HotEntry>),
    Artist(ArtistDetail),
    Album(AlbumDetail),
}

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
        listing: Listing,
        offset: u32,
    },
    Search {
        seq: u64,
        query: String,
    },
    /// The songs of an album or playlist, to add to the queue (`a`, `A` on its row).
    QueueCollection {
        listing: Listing,
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
    /// A load balancer answered that no server behind it does (502/504): same.
    NoServer,
    /// The server's catalog takes no changes right now (503 `catalog_read_only`).
    ReadOnly,
    /// The server cannot serve this right now (another 503).
    Unavailable,
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
        } else if matches!(e.status(), Some(502 | 504)) {
            NetErrorKind::NoServer
        } else if matches!(&e, ClientError::Api { status: 503, code, .. } if code == "catalog_read_only")
        {
            NetErrorKind::ReadOnly
        } else if e.status() == Some(503) {
            NetErrorKind::Unavailable
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

#[derive(Debug)]
pub enum NetEvent {
    LoggedIn {
        session: Session,
        user: User,
    },
    LoginFailed(String),
    Connected(User),
    Loaded {
        listing: Listing,
        offset: u32,
        result: Result<Fetched, NetError>,
    },
    SearchResults {
        seq: u64,
        /// Boxed: the largest answer by far, and every event is moved through a channel.
        result: Result<Box<SearchResults>, NetError>,
    },
    MyPlaylists(Result<Vec<Playlist>, NetError>),
    /// The album or playlist asked for by [`NetRequest::QueueCollection`].
    CollectionTracks {
        title: String,
        next: bool,
        result: Result<Fetched, NetError>,
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
    /// This many play reports kept for later went through: the server takes them again.
    KeptPlaysSent(usize),
    /// A play report did not go through and is kept for later; `error` says why (an
    /// unreachable server, a read-only catalog), which may be an outage to show.
    PlayKept {
        note: String,
        error: NetError,
    },
    /// Something worth a one-line note (a damaged cached file replaced, a play not recorded).
    Note(String),
    /// A background call failed.
    Failed {
        what: String,
        error: NetError,
    },
}
