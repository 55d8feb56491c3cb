//! The services one server process holds, shared by every request: catalog, blob store,
//! configuration, metrics and secrets. Built once by [`crate::startup`].

use std::sync::Arc;
use std::time::Duration;

use cadenza_catalog::Catalog;
use cadenza_store::BlobStore;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::auth::LoginThrottle;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::share::ShareSigner;

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
}

impl App {
    pub fn new(
        config: Config,
        catalog: Arc<dyn Catalog>,
        store: BlobStore,
        share_key: &[u8],
        dummy_hash: String,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        App {
            config,
            catalog,
            store,
            metrics: Metrics::new(),
            share: ShareSigner::new(share_key),
            logins: LoginThrottle::new(LOGIN_MAX_FAILURES, LOGIN_WINDOW),
            password_hashing: Semaphore::new(cores),
            dummy_hash,
            shutdown: CancellationToken::new(),
        }
    }
}
