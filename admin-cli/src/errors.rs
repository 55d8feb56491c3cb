//! Exit codes, and the one sentence each failure is reported with.

use cadenza_api::ClientError;
use thiserror::Error;

/// Everything succeeded.
pub const OK: u8 = 0;
/// The command ran, but some items failed (bad files, lost blobs, unknown ids).
pub const SOME_FAILED: u8 = 1;
/// Bad usage, or the server could not be reached or refused the login.
pub const USAGE_OR_CONNECTION: u8 = 2;
/// Stopped by Ctrl-C (128 + SIGINT, the shell convention).
pub const INTERRUPTED: u8 = 130;

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    SomeFailed,
    Interrupted,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => OK,
            Outcome::SomeFailed => SOME_FAILED,
            Outcome::Interrupted => INTERRUPTED,
        }
    }

    /// `SomeFailed` when any item failed.
    pub fn from_failures(failed: usize) -> Self {
        if failed == 0 {
            Outcome::Success
        } else {
            Outcome::SomeFailed
        }
    }
}

/// Where the token in use came from, so a refusal can say what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Environment,
    SavedLogin,
}

/// Problems with the connection itself, each phrased as what to do next.
#[derive(Debug, Error)]
pub enum ConnectError {
    #[error("no server given: run `cadenza-admin login --server URL`, or set CADENZA_SERVER and CADENZA_TOKEN")]
    NoServer,

    #[error("not logged in to {server}: run `cadenza-admin login --server {server}`, or set CADENZA_TOKEN")]
    NotLoggedIn { server: String },

    #[error("{}", token_refused(server, *from))]
    TokenRefused { server: String, from: TokenSource },

    #[error("user `{username}` is a {role} on {server}, not an admin: log in as an admin with `cadenza-admin login --server {server}`")]
    NotAdmin {
        server: String,
        username: String,
        role: &'static str,
    },

    #[error("{server} answered, but not like a Cadenza server ({detail}); check the URL")]
    NotCadenza { server: String, detail: String },
}

fn token_refused(server: &str, from: TokenSource) -> String {
    match from {
        TokenSource::Environment => format!(
            "{server} refused the token in CADENZA_TOKEN (expired or revoked): set a fresh one, or unset it and run `cadenza-admin login --server {server}`"
        ),
        TokenSource::SavedLogin => format!(
            "your login to {server} has expired or was revoked: run `cadenza-admin login --server {server}` again"
        ),
    }
}

/// The one item a command was about does not exist or was refused (exit code 1).
#[derive(Debug, Error)]
#[error("{0}")]
pub struct ItemFailed(pub String);

/// The message for a failed command: the connection sentences as they are, API errors
/// with the context they happened in.
pub fn explain(err: &anyhow::Error) -> String {
    if let Some(client) = find_client_error(err) {
        match client {
            ClientError::Api { status: 401, .. } => {
                return "the server refused the token (expired or revoked): run `cadenza-admin login` again".into();
            }
            ClientError::Api { status: 403, .. } => {
                return "the server says this account is not an admin: log in as an admin with `cadenza-admin login`".into();
            }
            _ => {}
        }
    }
    format!("{err:#}")
}

/// 1 when the server refused the one item a command was about (e.g. an unknown song id);
/// 2 for usage, local and connection problems.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|cause| cause.is::<ItemFailed>()) {
        return SOME_FAILED;
    }
    match find_client_error(err) {
        Some(ClientError::Api { status, .. }) if !matches!(status, 401 | 403) => SOME_FAILED,
        _ => USAGE_OR_CONNECTION,
    }
}

fn find_client_error(err: &anyhow::Error) -> Option<&ClientError> {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<ClientError>())
}

/// Errors that make every further request pointless: no server, or it no longer accepts us.
pub fn is_connection_failure(err: &ClientError) -> bool {
    err.is_unreachable() || err.is_unauthorized() || err.is_forbidden()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    fn api(status: u16) -> ClientError {
        ClientError::Api {
            status,
            code: "x".into(),
            message: format!("status {status}"),
        }
    }

    #[test]
    fn unknown_items_exit_1_and_connection_problems_exit_2() {
        let not_found = anyhow::Error::new(api(404)).context("cannot show song 9");
        assert_eq!(exit_code(&not_found), SOME_FAILED);
        assert_eq!(
            exit_code(&anyhow::Error::new(api(401))),
            USAGE_OR_CONNECTION
        );
        assert_eq!(
            exit_code(&anyhow::Error::new(api(403))),
            USAGE_OR_CONNECTION
        );
        let refused = ClientError::Unreachable {
            url: "http://127.0.0.1:9/".into(),
            reason: "Connection refused".into(),
        };
        assert_eq!(exit_code(&anyhow::Error::new(refused)), USAGE_OR_CONNECTION);
        let local = Err::<(), _>(std::io::Error::other("disk full"))
            .context("cannot write the report")
            .unwrap_err();
        assert_eq!(exit_code(&local), USAGE_OR_CONNECTION);
        let missing = anyhow::Error::new(ItemFailed("there is no user `x`".into()));
        assert_eq!(exit_code(&missing), SOME_FAILED);
        let connect = anyhow::Error::new(ConnectError::NoServer);
        assert_eq!(exit_code(&connect), USAGE_OR_CONNECTION);
    }

    #[test]
    fn outcomes_map_to_exit_codes() {
        assert_eq!(Outcome::from_failures(0).code(), 0);
        assert_eq!(Outcome::from_failures(3).code(), 1);
        assert_eq!(Outcome::Interrupted.code(), 130);
    }

    #[test]
    fn refusals_say_what_to_do() {
        let expired = anyhow::Error::new(api(401)).context("cannot list users");
        assert!(explain(&expired).contains("cadenza-admin login"));
        let env = ConnectError::TokenRefused {
            server: "http://h:1/".into(),
            from: TokenSource::Environment,
        }
        .to_string();
        assert!(env.contains("CADENZA_TOKEN"), "{env}");
        let saved = ConnectError::TokenRefused {
            server: "http://h:1/".into(),
            from: TokenSource::SavedLogin,
        }
        .to_string();
        assert!(saved.contains("expired"), "{saved}");
        let listener = ConnectError::NotAdmin {
            server: "http://h:1/".into(),
            username: "bob".into(),
            role: "listener",
        }
        .to_string();
        assert!(listener.contains("`bob` is a listener"), "{listener}");
    }

    #[test]
    fn context_is_kept_in_the_sentence() {
        let err = anyhow::Error::new(api(404)).context("cannot show song 9");
        assert_eq!(
            explain(&err),
            "cannot show song 9: status 404 (HTTP 404, x)"
        );
    }
}
