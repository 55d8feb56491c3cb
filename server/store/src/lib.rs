//! Immutable, content-addressed blobs (audio and covers) replicated R times over N volumes.
//!
//! The store helper owns this crate.
//! Keep the public signatures (the HTTP layer codes against them); add to them freely.
//!
//! - Every volume is an `Arc<dyn object_store::ObjectStore>` (a `LocalFileSystem` directory
//!   now; S3 later by configuration only). Blob path on a volume: `blobs/ab/cd/<sha256hex>`.
//! - Placement: rendezvous (highest-random-weight) hashing of (blob hash, volume name) picks R
//!   volumes in a stable preference order, so adding a volume moves only its share.
//! - Uploads stream into a local staging file (hashing as they go, enforcing a size limit),
//!   are probed there (see `crate::media`), then `commit` writes all R replicas. The caller
//!   commits the catalog row afterwards and calls `discard` on failure. Nothing is visible
//!   until the catalog row exists; a crash leaves at worst an orphaned blob the check reports.
//! - Reads go to the first healthy replica in placement order and fail over when a replica
//!   is missing, unreadable or its bytes do not hash right; failovers are counted.

pub use cadenza_api::{ReplicationReport, ReplicationRequest, VolumeStats};
