//! The services one server process holds, shared by every request: catalog, blob store,
//! configuration, metrics and secrets. Built once by [`crate::startup`].

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use cadenza_catalog::Catalog;
use cadenza_store::BlobStore;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::auth::LoginThrottle;
use crate::blob_cache::{BlobCache, BLOB_CAPACITY, BLOB_TTL};
use crate::cdn::CdnSigner;
use crate::config::Config;
use crate::edge_log::EdgeLog;
use crate::metrics::Metrics;
use crate::podcasts::Feeds;
use crate::share::ShareSigner;
use crate::subsonic::SubsonicAuth;
use crate::token_cache::{TokenCache, TOKEN_CAPACITY, TOKEN_TTL};

/// Failed logins allowed per (address, account) within [`LOGIN_WINDOW`].
pub const LOGIN_MAX_FAILURES: u32 = 10;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(300);

pub struct App {
    pub config: Config,
    pub catalog: Arc<dyn Catalog>,
    pub store: BlobStore,
    pub metrics: Arc<Metrics>,
    pub share: ShareSigner,
    pub logins: LoginThrottle,
    /// Bounds concurrent argon2 runs (each takes ~19 MiB and a core for tens of ms), so a
    /// burst of logins cannot starve streaming.
    pub password_hashing: Semaphore,
    /// A real argon2 hash of a random password: unknown usernames are checked against it so
    /// a failed login takes as long whether or not the account exists.
    pub dummy_hash: String,
    /// Cancelled on SIGINT/SIGTERM: WebSocket sessions (which outlive hyper's graceful
    /// shutdown) close cleanly when it fires.
    pub shutdown: CancellationToken,
    pub sessions: Sessions,
    /// Token → user for a few seconds: the hot path (range requests) skips the catalog.
    pub tokens: TokenCache,
    /// Song or episode id → blob: same.
    pub blobs: BlobCache,
    /// CDN mode (streams redirect to signed links) when a CDN secret is configured.
    pub cdn: Option<CdnSigner>,
    /// The edge's access log, when configured.
    pub edge: Option<EdgeLog>,
    /// This copy's name (`X-Cadenza-Server`): configured, or set once the port is bound.
    instance: OnceLock<String>,
    /// Subsonic clients' app passwords and API keys, checked and remembered.
    pub subsonic: SubsonicAuth,
    /// The podcast feed reader.
    pub feeds: Feeds,
}

/// Tracks connections hyper's graceful shutdown does not (upgraded WebSockets), so that
/// shutdown can wait for them to say goodbye. Each session holds a [`SessionTicket`]; the
/// channel closes when the last ticket and the gate's own sender are gone.
#[derive(Debug)]
pub struct Sessions {
    gate: Mutex<Option<mpsc::Sender<()>>>,
    closed: tokio::sync::Mutex<mpsc::Receiver<()>>,
}

/// Held by a running session; dropping it marks the session finished.
#[derive(Debug)]
pub struct SessionTicket(#[allow(dead_code)] mpsc::Sender<()>);

impl Sessions {
    fn new() -> Self {
        let (tx, rx) = mpsc::channel(1);
        Self {
            gate: Mutex::new(Some(tx)),
            closed: tokio::sync::Mutex::new(rx),
        }
    }

    /// A ticket for a new session; `None` once shutdown has begun.
    pub fn enter(&self) -> Option<SessionTicket> {
        let gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        gate.as_ref().map(|tx| SessionTicket(tx.clone()))
    }

    /// Refuses new sessions and waits until every running one has ended.
    pub async fn close_and_wait(&self) {
        self.gate.lock().unwrap_or_else(|e| e.into_inner()).take();
        let mut closed = self.closed.lock().await;
        while closed.recv().await.is_some() {}
    }
}

impl App {
    pub fn new(
        config: Config,
        catalog: Arc<dyn Catalog>,
        store: BlobStore,
        share_key: &[u8],
        dummy_hash: String,
        feeds: Feeds,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        App {
            catalog,
            store,
            metrics: Metrics::new(),
            share: ShareSigner::new(share_key),
            logins: LoginThrottle::new(LOGIN_MAX_FAILURES, LOGIN_WINDOW),
            password_hashing: Semaphore::new(cores),
            dummy_hash,
            shutdown: CancellationToken::new(),
            sessions: Sessions::new(),
            tokens: TokenCache::new(TOKEN_TTL, TOKEN_CAPACITY),
            blobs: BlobCache::new(BLOB_TTL, BLOB_CAPACITY),
            cdn: config
                .cdn_secret
                .as_deref()
                .map(|secret| CdnSigner::new(secret, config.cdn_url_ttl.as_secs())),
            edge: config.edge_log.as_deref().map(EdgeLog::new),
            instance: config
                .instance
                .clone()
                .map(OnceLock::from)
                .unwrap_or_default(),
            config,
            subsonic: SubsonicAuth::new(share_key),
            feeds,
        }
    }

    /// Names this copy `HOSTNAME:PORT` unless a name was configured (call once bound).
    pub fn name_instance(&self, port: u16) {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
            .unwrap_or_else(|| "cadenza".into());
        let _ = self.instance.set(format!("{host}:{port}"));
    }

    /// The edge log's totals, when one is configured and readable (an unreadable log is
    /// logged, not an error: the edge's figures are a view, the catalog's are the answer).
    pub async fn edge_stats(self: &Arc<Self>) -> Option<cadenza_api::EdgeStats> {
        self.edge.as_ref()?;
        let app = Arc::clone(self);
        let read = tokio::task::spawn_blocking(move || app.edge.as_ref().map(EdgeLog::read)).await;
        match read {
            Ok(Some(Ok(stats))) => Some(stats),
            Ok(Some(Err(e))) => {
                let path = self.edge.as_ref().map(|e| e.path().display().to_string());
                tracing::warn!("cannot read the edge log {}: {e}", path.unwrap_or_default());
                None
            }
            _ => None,
        }
    }

    /// This copy's name; empty before [`Self::name_instance`].
    pub fn instance(&self) -> &str {
        self.instance.get().map_or("", String::as_str)
    }
}
