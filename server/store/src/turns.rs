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
//! carries at most 128 × [`UNIT_BYTES`] plus the chunk that spent the last unit. Outside a
//! tokio runtime there is no budget and streams run unconstrained.

use std::task::{Context, Poll};

use tokio::task::coop;

/// Bytes per unit of tokio's budget.
pub(crate) const UNIT_BYTES: usize = 4 * 1024;

/// Most bytes one stream hands out in one turn of its task, but for the last chunk: tokio's
/// per-turn budget (128 units, a tokio constant) times [`UNIT_BYTES`].
pub const TURN_BYTES: usize = 128 * UNIT_BYTES;

/// Ready when the task may take another chunk this turn; when its budget is spent, `Pending`
/// with the task scheduled to run again after the others.
pub(crate) fn poll_turn(cx: &mut Context<'_>) -> Poll<()> {
    // Asking spends nothing: the unit comes back when the unused guard drops.
    coop::poll_proceed(cx).map(drop)
}

/// Spends the budget for a chunk of `len` bytes just handed out. Running out part-way is
/// fine: the chunk is out already, and the next [`poll_turn`] ends the turn.
pub(crate) fn spend(cx: &mut Context<'_>, len: usize) {
    for _ in 0..len.div_ceil(UNIT_BYTES).max(1) {
        match coop::poll_proceed(cx) {
            Poll::Ready(progress) => progress.made_progress(),
            Poll::Pending => return,
        }
    }
}
