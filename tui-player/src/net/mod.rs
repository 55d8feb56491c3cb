//! All server traffic, on a tokio runtime of its own thread. The UI sends [`NetRequest`]s and
//! gets [`NetEvent`]s back through a callback; it never waits for the network. Answers are
//! the server's data as it came: turning it into screens is the app's job.

mod dispatch;
mod download;
mod fetch;
mod login;
mod outbox;
mod plays;
mod prepare;
mod types;

use std::sync::Arc;
use std::time::Duration;

use cadenza_api::Client;
use tokio::sync::{mpsc, watch};

use crate::cache::Cache;
use crate::session::Session;
use dispatch::{Downloads, Net, Sink};
use plays::Plays;

pub use types::{Fetched, Listing, NetError, NetErrorKind, NetEvent, NetRequest};

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
                let net = Net::new(client, clients, cache, events, plays);
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
