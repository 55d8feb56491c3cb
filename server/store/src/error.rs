//! The one error type of the store. Messages name the blob, the volume and what to do.

/// Everything the blob store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The upload went past the configured size limit; the partial upload was deleted.
    #[error("upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },

    /// No volume holds the blob at all.
    #[error("blob {hash} is not stored on any volume")]
    NotFound { hash: String },

    /// Copies exist (or volumes could not be asked) but none could be read intact.
    #[error("blob {hash} is unavailable, no replica could be read intact: {detail}")]
    Unavailable { hash: String, detail: String },

    /// A replica's bytes did not hash to the blob's name. Ends a read stream whose end did not
    /// verify: the caller should retry, and the next read uses another replica.
    #[error("replica of blob {hash} on volume {volume} is corrupt: {detail}")]
    Corrupt {
        hash: String,
        volume: String,
        detail: String,
    },

    #[error(
        "invalid blob hash {hash:?}: expected 64 lowercase hexadecimal characters (a SHA-256)"
    )]
    InvalidHash { hash: String },

    #[error("byte range {start}..{end} does not fit in a blob of {size} bytes")]
    InvalidRange { start: u64, end: u64, size: u64 },

    /// The upload body itself failed (typically the client disconnected); nothing was kept.
    #[error("upload body failed before it ended: {0}")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),

    /// An operation on one volume failed.
    #[error("volume {volume}: {source}")]
    Volume {
        volume: String,
        #[source]
        source: object_store::Error,
    },

    /// A local file operation (staging) failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid store configuration: {0}")]
    Config(String),
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StoreError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn volume(volume: &str, source: object_store::Error) -> Self {
        StoreError::Volume {
            volume: volume.to_string(),
            source,
        }
    }
}
