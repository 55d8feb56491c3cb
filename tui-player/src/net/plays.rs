//! Play reports (they feed the server's hot chart): sent at once; while the server is
//! unreachable they wait in the [`Outbox`] on disk and go out when it answers again: at the
//! next start or login, after the next report that gets through, and every
//! [`RETRY_EVERY`] while any wait. Sending is serialised, so none is sent twice.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cadenza_api::{Client, ClientError, SongId};
use tokio::sync::{watch, Mutex, Notify};

use super::outbox::Outbox;
use super::{NetError, NetEvent};

/// How often waiting reports are tried again while the player runs.
pub const RETRY_EVERY: Duration = Duration::from_secs(30);

pub struct Plays {
    outbox: Outbox,
    /// Held while sending from the outbox.
    sending: Mutex<()>,
    /// Wakes the retry loop when the outbox gets its first report.
    kept: Notify,
}

/// What to do with a report the server did not take.
enum Refusal {
    /// It may go through later (unreachable, a server error, a login needed).
    Later,
    /// It never will (the song was deleted, the request is refused).
    Never,
}

fn refusal(error: &ClientError) -> Refusal {
    match error.status() {
        Some(401 | 408 | 429) => Refusal::Later,
        Some(status) if (400..500).contains(&status) => Refusal::Never,
        _ => Refusal::Later,
    }
}

fn server_of(client: &Client) -> String {
    client.base_url().to_string()
}

impl Plays {
    /// Opens the outbox in `dir`; the note says if a damaged one was set aside.
    pub fn open(dir: &Path) -> (Arc<Plays>, Option<String>) {
        let (outbox, note) = Outbox::open(dir);
        let plays = Plays {
            outbox,
            sending: Mutex::new(()),
            kept: Notify::new(),
        };
        (Arc::new(plays), note)
    }

    /// Reports one play; keeps it for later when the server cannot be reached.
    pub async fn report(
        &self,
        client: &Client,
        song: SongId,
        played_ms: u64,
        emit: &(impl Fn(NetEvent) + Sync),
    ) {
        match client.record_play(song, Some(played_ms)).await {
            Ok(()) => self.send_waiting(client, emit).await,
            Err(e) if e.is_unreachable() => {
                match self.outbox.add(&server_of(client), song, played_ms) {
                    Ok(()) => {
                        self.kept.notify_one();
                        emit(NetEvent::Note(
                            "the server is unreachable: this play is kept and will be reported \
                             when it answers again"
                                .into(),
                        ));
                    }
                    Err(io) => emit(NetEvent::Failed {
                        what: "keep the play for later".into(),
                        error: NetError::other(format!(
                            "{e}; and it could not be kept for later: {io}"
                        )),
                    }),
                }
            }
            Err(e) => emit(NetEvent::Failed {
                what: "record the play".into(),
                error: e.into(),
            }),
        }
    }

    /// Sends what waits for `client`'s server, oldest first, until one fails for now.
    pub async fn send_waiting(&self, client: &Client, emit: &(impl Fn(NetEvent) + Sync)) {
        if self.outbox.is_empty() {
            return;
        }
        let _sending = self.sending.lock().await;
        let mut sent = 0;
        // Read under the lock: whatever an earlier round sent is gone from the file.
        for play in self.outbox.pending(&server_of(client)) {
            let result = client.record_play(play.song, Some(play.played_ms)).await;
            let done = match &result {
                Ok(()) => {
                    sent += 1;
                    true
                }
                Err(e) => match refusal(e) {
                    Refusal::Later => break,
                    Refusal::Never => {
                        emit(NetEvent::Note(format!(
                            "a play kept while offline was refused and dropped: {e}"
                        )));
                        true
                    }
                },
            };
            if done {
                if let Err(e) = self.outbox.remove(play.id) {
                    emit(NetEvent::Failed {
                        what: "update the unsent plays".into(),
                        error: NetError::other(e.to_string()),
                    });
                    // Every further one sent now would go again next time: stop here.
                    break;
                }
            }
        }
        if sent > 0 {
            emit(NetEvent::KeptPlaysSent(sent));
        }
    }

    /// Runs for the player's lifetime: while reports wait, tries every [`RETRY_EVERY`] with
    /// the client of the moment; sleeps without waking while none do.
    pub async fn retry_forever(
        self: Arc<Self>,
        mut client: watch::Receiver<Option<Client>>,
        emit: impl Fn(NetEvent) + Sync,
    ) {
        loop {
            if self.outbox.is_empty() {
                self.kept.notified().await;
                continue;
            }
            tokio::time::sleep(RETRY_EVERY).await;
            let current = client.borrow_and_update().clone();
            if let Some(current) = current {
                self.send_waiting(&current, &emit).await;
            }
        }
    }
}
