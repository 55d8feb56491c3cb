//! Play reports (they feed the server's hot chart): sent at once; while the server is
//! unreachable (or failing) they wait in the [`Outbox`] on disk and go out when it answers
//! again: at the next start or login, after the next report that gets through, and every
//! [`RETRY_EVERY`] while any wait. Sending is serialised. Every play gets a `play_id` when
//! it is heard and keeps it, so a report that reached the server although its answer was
//! lost counts once however often it is sent; a kept play carries when it was heard, so
//! the server files it on that day rather than the day it arrives.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cadenza_api::{Client, ClientError, RecordPlay, SongId};
use tokio::sync::{watch, Mutex, Notify};

use super::outbox::{Outbox, PendingPlay};
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

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// What to tell the listener when a report that did not go through is kept for later;
/// `None` when it is not worth keeping.
fn kept_note(error: &ClientError) -> Option<String> {
    if error.is_unreachable() {
        Some(
            "the server is unreachable: this play is kept and will be reported when it \
             answers again"
                .into(),
        )
    } else if error.status().is_some_and(|s| s >= 500) {
        // It may have been recorded with only the answer failing: its play_id makes a
        // resend safe.
        // What happens to the play comes first: a status line cuts the server's reason short.
        Some(format!(
            "this play is kept and will be reported again: the server could not record it \
             ({error})"
        ))
    } else {
        None
    }
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

    /// Reports one play; keeps it for later when the server cannot be reached or fails.
    pub async fn report(
        &self,
        client: &Client,
        song: SongId,
        played_ms: u64,
        emit: &(impl Fn(NetEvent) + Sync),
    ) {
        let play = PendingPlay::new(&server_of(client), song, played_ms, unix_now());
        // Sent now, it needs no time: the server's clock says "now" best, and a clock here
        // running fast would get the report refused. Kept for later, it carries its time.
        let now = RecordPlay {
            played_at: None,
            ..play.report()
        };
        let error = match client.report_play(&now).await {
            Ok(()) => return self.send_waiting(client, emit).await,
            Err(e) => e,
        };
        let Some(note) = kept_note(&error) else {
            return emit(NetEvent::Failed {
                what: "record the play".into(),
                error: error.into(),
            });
        };
        match self.outbox.add(play) {
            Ok(()) => {
                self.kept.notify_one();
                emit(NetEvent::PlayKept {
                    note,
                    error: error.into(),
                });
            }
            Err(io) => emit(NetEvent::Failed {
                what: "keep the play for later".into(),
                error: NetError::other(format!(
                    "{error}; and it could not be kept for later: {io}"
                )),
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
            let result = client.report_play(&play.report()).await;
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
                if let Err(e) = self.outbox.remove(&play.play_id) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::sync::Mutex as StdMutex;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// What the stand-in server does with each request, in order.
    enum Answer {
        /// Read it, then hang up: the report arrived but the player never hears so.
        LoseTheReply,
        /// An error response: status line and error code.
        Error(&'static str, &'static str),
        NoContent,
    }

    /// A stand-in for the server that records every request body and answers as scripted.
    async fn stand_in(script: Vec<Answer>) -> (Client, Arc<StdMutex<Vec<Value>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = Client::new(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let bodies = Arc::new(StdMutex::new(Vec::new()));
        let seen = bodies.clone();
        tokio::spawn(async move {
            for answer in script {
                let (mut stream, _) = listener.accept().await.unwrap();
                let body = read_request(&mut stream).await;
                seen.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap());
                let reply = match answer {
                    Answer::LoseTheReply => continue,
                    Answer::Error(status, code) => {
                        let body = format!(r#"{{"error":{{"code":"{code}","message":"no"}}}}"#);
                        format!(
                            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    }
                    Answer::NoContent => {
                        "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".into()
                    }
                };
                stream.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        (client, bodies)
    }

    /// Reads one HTTP request and returns its body.
    async fn read_request(stream: &mut TcpStream) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if bytes.len() >= end + 4 + length {
                    return bytes[end + 4..end + 4 + length].to_vec();
                }
            }
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the request broke off");
            bytes.extend_from_slice(&chunk[..n]);
        }
    }

    fn notes(events: &StdMutex<Vec<NetEvent>>) -> Vec<String> {
        let events = events.lock().unwrap();
        let note = |e: &NetEvent| match e {
            NetEvent::Note(text) | NetEvent::PlayKept { note: text, .. } => Some(text.clone()),
            _ => None,
        };
        events.iter().filter_map(note).collect()
    }

    #[tokio::test]
    async fn a_play_sent_again_keeps_its_id_and_carries_when_it_was_heard() {
        let dir = tempfile::tempdir().unwrap();
        let (client, bodies) = stand_in(vec![
            Answer::LoseTheReply,
            Answer::Error("503 Service Unavailable", "unavailable"),
            Answer::NoContent,
        ])
        .await;
        let events = StdMutex::new(Vec::new());
        let emit = |e| events.lock().unwrap().push(e);

        let (plays, _) = Plays::open(dir.path());
        let heard = unix_now();
        plays.report(&client, 7, 31_000, &emit).await;
        assert!(
            notes(&events)[0].contains("this play is kept"),
            "{events:?}"
        );
        // The server fails the resend: the play stays, and stays after a restart.
        plays.send_waiting(&client, &emit).await;
        assert!(!plays.outbox.is_empty());
        drop(plays);
        let (plays, _) = Plays::open(dir.path());
        plays.send_waiting(&client, &emit).await;
        assert!(plays.outbox.is_empty(), "{events:?}");
        assert!(events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, NetEvent::KeptPlaysSent(1))));

        let bodies = bodies.lock().unwrap();
        assert_eq!(bodies.len(), 3);
        let id = bodies[0]["play_id"].as_str().unwrap();
        assert_eq!(id.len(), 32);
        for body in bodies.iter() {
            assert_eq!(body["play_id"], id, "{body}");
            assert_eq!(body["song_id"], 7, "{body}");
            assert_eq!(body["played_ms"], 31_000, "{body}");
        }
        // Sent at once, the server's clock files it; sent later, it says when it was heard.
        assert_eq!(bodies[0].get("played_at"), None);
        let played_at = bodies[1]["played_at"].as_i64().unwrap();
        assert!(
            (heard..heard + 5).contains(&played_at),
            "{played_at} vs {heard}"
        );
        assert_eq!(bodies[2]["played_at"], played_at);
    }

    #[tokio::test]
    async fn a_server_error_keeps_the_play_and_a_refusal_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let (client, bodies) = stand_in(vec![
            Answer::Error("502 Bad Gateway", "bad_gateway"),
            Answer::Error("404 Not Found", "not_found"),
        ])
        .await;
        let events = StdMutex::new(Vec::new());
        let emit = |e| events.lock().unwrap().push(e);
        let (plays, _) = Plays::open(dir.path());

        plays.report(&client, 7, 31_000, &emit).await;
        assert_eq!(plays.outbox.pending(&server_of(&client)).len(), 1);
        assert!(notes(&events)[0].contains("HTTP 502"), "{events:?}");
        events.lock().unwrap().clear();
        // The song is gone by the time it is sent again: refused for good, so dropped.
        plays.send_waiting(&client, &emit).await;
        assert!(plays.outbox.is_empty());
        assert!(
            notes(&events)[0].contains("refused and dropped"),
            "{events:?}"
        );
        assert_eq!(bodies.lock().unwrap().len(), 2);
    }
}
