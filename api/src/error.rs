use thiserror::Error;

/// Everything that can go wrong talking to a Cadenza server, phrased for the person at the keyboard.
#[derive(Debug, Error)]
pub enum ClientError {
    #[error("`{url}` is not a valid server URL ({reason}); give one like http://127.0.0.1:4533")]
    InvalidUrl { url: String, reason: String },

    #[error("cannot reach the server at {url}: {reason}; is cadenza-server running there?")]
    Unreachable { url: String, reason: String },

    /// The server answered with an error body (or at least an error status).
    #[error("{message} (HTTP {status}, {code})")]
    Api {
        status: u16,
        code: String,
        message: String,
    },

    /// The server answered something this client does not understand.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),

    /// A local file to upload could not be read.
    #[error("cannot read {path}: {source}")]
    Local {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl ClientError {
    /// HTTP status of an API error, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The token is missing, wrong or expired: the user has to log in again.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(403)
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The server could not be reached at all (as opposed to answering with an error).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClientError::Unreachable { .. })
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
