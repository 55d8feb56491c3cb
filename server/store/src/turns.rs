//! Fair turns for blob streams: every body [`crate::BlobStore::read`] returns (local file,
//! S3 or another backend's stream, the hot cache) spends tokio's cooperative budget in
//! proportion to the bytes it hands out, so the task serving one connection yields after
//! about [`TURN_BYTES`] and every other connection on that worker gets its turn first.
//!
//! Without this nothing makes a streaming task yield while its socket takes bytes: chunks of
//! a file in the page cache are always ready, and hyper writes a body until the socket
//! refuses more. Loopback sockets grow their buffers to megabytes, so one task could copy a
//! whole song in a single turn while every other connection on its worker waited, and the
//! slowest downloads fell far behind the median. nginx bounds the same thing with
//! `sendfile_max_chunk`.
//!
//! tokio gives each task a budget of 128 units per turn; socket reads and writes spend one
//! each. A stream spends one unit per [`UNIT_BYTES`] (at least one per chunk), so a turn
//! carries at most 128 × [`UNIT_BYTES`] plus the chunk that spent the last unit. A stream
//! never takes the last unit: the socket write after it still runs this turn, so the bytes
//! already handed out (the end of a short response, say) are sent now, not a round later.
//! Outside a tokio runtime there is no budget and streams run unconstrained.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures::Stream;
use tokio::task::coop;

use crate::read::BlobBody;
use crate::StoreError;

/// Bytes per unit of tokio's budget.
pub(crate) const UNIT_BYTES: usize = 4 * 1024;

/// Most bytes one stream hands out in one turn of its task, but for the last chunk: tokio's
/// per-turn budget (128 units, a tokio constant) times [`UNIT_BYTES`].
pub const TURN_BYTES: usize = 128 * UNIT_BYTES;

/// `body`, handed out in fair turns.
pub(crate) fn fair(body: BlobBody) -> BlobBody {
    Box::pin(Fair { body })
}

struct Fair {
    body: BlobBody,
}

impl Stream for Fair {
    type Item = Result<Bytes, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        ready!(poll_turn(cx));
        let polled = self.body.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            spend(cx, chunk.len());
        }
        polled
    }
}

/// Ready when the task may take another chunk this turn. Otherwise `Pending`, with the task
/// woken to run again after the others on its worker.
fn poll_turn(cx: &mut Context<'_>) -> Poll<()> {
    // Asking spends nothing: an unused unit comes back when its guard drops.
    let unit = ready!(coop::poll_proceed(cx));
    if coop::has_budget_remaining() {
        return Poll::Ready(());
    }
    // That was the last unit: it stays for the socket write, and the turn ends.
    drop(unit);
    cx.waker().wake_by_ref();
    Poll::Pending
}

/// Spends the budget for a chunk of `len` bytes just handed out, all but the last unit of
/// the turn. Running out part-way is fine: the chunk is out already, and the next
/// [`poll_turn`] ends the turn.
fn spend(cx: &mut Context<'_>, len: usize) {
    for _ in 0..len.div_ceil(UNIT_BYTES).max(1) {
        match coop::poll_proceed(cx) {
            Poll::Ready(unit) if coop::has_budget_remaining() => unit.made_progress(),
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures::StreamExt;

    use super::*;
    use crate::test_support::{content, TestStore};

    /// What `body` hands out within one poll of the task: its bytes, its largest chunk, and
    /// whether it ended.
    async fn one_turn(body: &mut BlobBody) -> (usize, usize, bool) {
        std::future::poll_fn(|cx| {
            let (mut bytes, mut largest) = (0, 0);
            loop {
                match body.as_mut().poll_next(cx) {
                    Poll::Ready(Some(Ok(chunk))) => {
                        bytes += chunk.len();
                        largest = largest.max(chunk.len());
                    }
                    Poll::Ready(Some(Err(e))) => panic!("{e}"),
                    Poll::Ready(None) => return Poll::Ready((bytes, largest, true)),
                    Poll::Pending => return Poll::Ready((bytes, largest, false)),
                }
            }
        })
        .await
    }

    #[tokio::test]
    async fn a_stream_hands_out_a_bounded_turn_and_then_lets_other_tasks_run() {
        // Every kind of volume (local files in the page cache, a backend's byte stream, S3 on
        // loopback when installed): a turn ends at the budget, or sooner when no chunk is
        // ready.
        for t in TestStore::both(2, 2, 0) {
            let bytes = content(12, 3 * TURN_BYTES + 5);
            let size = bytes.len() as u64;
            let hash = t.put(&bytes).await;
            let mut body = t.store.read(&hash, size, None).await.unwrap();
            let (mut received, mut turns, mut largest_ever) = (0, 0, 0);
            loop {
                // The runtime polls this task again with a fresh budget: a new turn.
                tokio::task::yield_now().await;
                let (n, largest, ended) = one_turn(&mut body).await;
                // The chunk that spent the last of the budget may run over.
                assert!(n <= TURN_BYTES + largest, "turn {turns}: {n} bytes");
                received += n;
                turns += usize::from(n > 0);
                largest_ever = largest_ever.max(largest);
                if ended {
                    break;
                }
            }
            assert_eq!(received, bytes.len());
            // Local files come in chunks far below a turn: this song takes three turns.
            let fewest = received.div_ceil(TURN_BYTES + largest_ever);
            assert!(turns >= fewest, "{turns} turns for {received} bytes");
        }
    }

    #[tokio::test]
    async fn a_reader_that_is_always_ready_does_not_hold_back_another() {
        // The test runtime has one thread, and local files in the page cache are always
        // ready: without turns, the first reader's task would take every chunk of its song
        // before the second one ran at all. (A network stream's reader also waits for its own
        // bytes, so who goes next there depends on the network.)
        let t = TestStore::new(2, 2, 0);
        let size = 4 * TURN_BYTES;
        // Both streams open before either reader starts, so neither runs alone meanwhile.
        let mut bodies = Vec::new();
        for reader in 0..2 {
            let bytes = content(20 + reader as u32, size);
            let hash = t.put(&bytes).await;
            let body = t.store.read(&hash, size as u64, None).await.unwrap();
            bodies.push((reader, bytes, body));
        }
        // Who got which chunk, in order.
        let log = Arc::new(Mutex::new(Vec::new()));
        let readers: Vec<_> = bodies
            .into_iter()
            .map(|(reader, bytes, mut body)| {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let mut received = Vec::with_capacity(bytes.len());
                    while let Some(chunk) = body.next().await {
                        let chunk = chunk.unwrap();
                        log.lock().unwrap().push((reader, chunk.len()));
                        received.extend_from_slice(&chunk);
                    }
                    assert!(received == bytes, "reader {reader} got other bytes");
                })
            })
            .collect();
        for reader in readers {
            reader.await.unwrap();
        }
        let log = log.lock().unwrap();
        let largest = log.iter().map(|&(_, len)| len).max().unwrap();
        let last_of = |reader| log.iter().rposition(|&(r, _)| r == reader).unwrap();
        let mut run = (usize::MAX, 0);
        for (i, &(reader, len)) in log.iter().enumerate() {
            run = if run.0 == reader {
                (reader, run.1 + len)
            } else {
                (reader, len)
            };
            // While the other one still waits for bytes, one turn is all a reader gets.
            if i < last_of(1 - reader) {
                assert!(
                    run.1 <= TURN_BYTES + largest,
                    "reader {reader} took {} bytes in a row while the other waited",
                    run.1
                );
            }
        }
    }
}
