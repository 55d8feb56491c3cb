//! Fair turns for blob streams: a stream spends tokio's cooperative budget in proportion to
//! the bytes it hands out, so the task serving one connection yields after about
//! [`TURN_BYTES`] and every other connection on that worker gets its turn first.
//!
//! Without this nothing made a streaming task yield while its socket took bytes: chunks of a
//! file in the page cache are always ready, and hyper writes a body until the socket refuses
//! more. Loopback sockets grow their buffers to megabytes, so one task could copy a whole
//! 5 MB song in a single turn (tens of milliseconds on a busy machine) while hundreds of other
//! connections waited, and the slowest downloads took ten times as long as the median.
//! nginx bounds the same thing with `sendfile_max_chunk`.
//!
//! tokio gives each task a budget of 128 units per turn; socket reads and writes spend one
//! each. A stream spends one unit per [`UNIT_BYTES`] (at least one per chunk), so a turn
//! carries at most 128 × [`UNIT_BYTES`] plus the chunk that spent the last unit. A stream
//! never takes the last unit: the socket write after it still runs this turn, so the bytes
//! already handed out (the end of a short response, say) are sent now, not a round later.
//! Outside a tokio runtime there is no budget and streams run unconstrained.

use std::task::{Context, Poll};

use tokio::task::coop;

/// Bytes per unit of tokio's budget.
pub(crate) const UNIT_BYTES: usize = 4 * 1024;

/// Most bytes one stream hands out in one turn of its task, but for the last chunk: tokio's
/// per-turn budget (128 units, a tokio constant) times [`UNIT_BYTES`].
pub const TURN_BYTES: usize = 128 * UNIT_BYTES;

/// Ready when the task may take another chunk this turn. Otherwise `Pending`, with the task
/// woken to run again after the others on its worker.
pub(crate) fn poll_turn(cx: &mut Context<'_>) -> Poll<()> {
    // Asking spends nothing: an unused unit comes back when its guard drops.
    let unit = std::task::ready!(coop::poll_proceed(cx));
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
pub(crate) fn spend(cx: &mut Context<'_>, len: usize) {
    for _ in 0..len.div_ceil(UNIT_BYTES).max(1) {
        match coop::poll_proceed(cx) {
            Poll::Ready(unit) if coop::has_budget_remaining() => unit.made_progress(),
            _ => return,
        }
    }
}
