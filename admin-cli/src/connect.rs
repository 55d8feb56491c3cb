//! Which server and token a command uses, and the admin check every command starts with.

use anyhow::Result;
use cadenza_api::{Client, ClientError, Role, User};

use crate::config::{self, SavedLogin};
use crate::errors::{ConnectError, TokenSource};

/// The server a command talks to, and the token it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub server: String,
    pub token: Option<(String, TokenSource)>,
}

/// Picks the server (flag or `CADENZA_SERVER`, else the saved login) and the token
/// (`CADENZA_TOKEN`, else the saved one when it belongs to that server).
pub fn resolve(
    server: Option<&str>,
    env_token: Option<String>,
    saved: Option<SavedLogin>,
) -> Result<Target, ConnectError> {
    let server = match (server, &saved) {
        (Some(server), _) => server.trim().to_string(),
        (None, Some(saved)) => saved.server.clone(),
        (None, None) => return Err(ConnectError::NoServer),
    };
    let token = match env_token.filter(|t| !t.trim().is_empty()) {
        Some(token) => Some((token.trim().to_string(), TokenSource::Environment)),
        None => saved
            .filter(|saved| same_server(&saved.server, &server))
            .map(|saved| (saved.token, TokenSource::SavedLogin)),
    };
    Ok(Target { server, token })
}

/// The target from the command line, the environment and the saved login.
pub fn target(server: Option<&str>) -> Result<Target> {
    let env_token = std::env::var("CADENZA_TOKEN").ok();
    let saved = config::load(&config::login_path()?)?;
    Ok(resolve(server, env_token, saved)?)
}

/// A client for the target that is logged in as an admin; fails with one sentence otherwise.
pub async fn admin(server: Option<&str>) -> Result<Client> {
    let target = target(server)?;
    let client = Client::new(&target.server)?;
    let Some((token, source)) = target.token else {
        return Err(ConnectError::NotLoggedIn {
            server: display_server(&client),
        }
        .into());
    };
    let client = client.with_token(token);
    let me = client.me().await.map_err(|e| refusal(&client, e, source))?;
    require_admin(&client, &me)?;
    Ok(client)
}

/// Fails unless `user` is an admin.
pub fn require_admin(client: &Client, user: &User) -> Result<(), ConnectError> {
    match user.role {
        Role::Admin => Ok(()),
        role => Err(ConnectError::NotAdmin {
            server: display_server(client),
            username: user.username.clone(),
            role: role.as_str(),
        }),
    }
}

/// Turns the first request's failure into the sentence that says what to fix.
fn refusal(client: &Client, err: ClientError, source: TokenSource) -> anyhow::Error {
    let server = display_server(client);
    match err {
        ClientError::Api { status: 401, .. } => ConnectError::TokenRefused {
            server,
            from: source,
        }
        .into(),
        ClientError::Api { status: 403, .. } => ConnectError::NotAdmin {
            server,
            username: "this token's user".into(),
            role: "listener",
        }
        .into(),
        err => not_cadenza(client, err),
    }
}

/// A server that answers, but not with Cadenza's API, is most likely the wrong URL.
pub fn not_cadenza(client: &Client, err: ClientError) -> anyhow::Error {
    match err {
        ClientError::Protocol(detail) => ConnectError::NotCadenza {
            server: display_server(client),
            detail,
        }
        .into(),
        ClientError::Api {
            status: status @ (404 | 405),
            ..
        } => ConnectError::NotCadenza {
            server: display_server(client),
            detail: format!("HTTP {status} for its API"),
        }
        .into(),
        err => err.into(),
    }
}

/// The server URL as the user would type it.
pub fn display_server(client: &Client) -> String {
    client.base_url().as_str().trim_end_matches('/').to_string()
}

fn same_server(a: &str, b: &str) -> bool {
    a.trim().trim_end_matches('/') == b.trim().trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(server: &str) -> SavedLogin {
        SavedLogin {
            server: server.into(),
            username: "admin".into(),
            token: "saved-token".into(),
            expires_at: 0,
        }
    }

    #[test]
    fn the_saved_login_is_used_by_default() {
        let target = resolve(None, None, Some(saved("http://a:1/"))).unwrap();
        assert_eq!(target.server, "http://a:1/");
        assert_eq!(
            target.token,
            Some(("saved-token".into(), TokenSource::SavedLogin))
        );
    }

    #[test]
    fn the_environment_token_wins() {
        let target = resolve(None, Some("env".into()), Some(saved("http://a:1"))).unwrap();
        assert_eq!(target.token, Some(("env".into(), TokenSource::Environment)));
    }

    #[test]
    fn a_saved_token_is_not_sent_to_another_server() {
        let target = resolve(Some("http://b:2"), None, Some(saved("http://a:1"))).unwrap();
        assert_eq!(target.server, "http://b:2");
        assert_eq!(target.token, None);
        let same = resolve(Some("http://a:1"), None, Some(saved("http://a:1/"))).unwrap();
        assert!(same.token.is_some());
    }

    #[test]
    fn no_server_at_all_is_explained() {
        let err = resolve(None, Some("tok".into()), None).unwrap_err();
        assert!(err.to_string().contains("--server"), "{err}");
    }

    #[test]
    fn an_empty_environment_token_is_ignored() {
        let target = resolve(Some("http://a:1"), Some("  ".into()), None).unwrap();
        assert_eq!(target.token, None);
    }
}
