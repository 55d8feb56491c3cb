//! Logging in: a fresh client, the password exchanged for a token.

use cadenza_api::{Client, User};

use crate::session::Session;

pub(super) async fn login(
    server: &str,
    username: &str,
    password: &str,
) -> Result<(Session, User), String> {
    let mut client = Client::new(server).map_err(|e| e.to_string())?;
    match client.login(username, password).await {
        Ok(answer) => Ok((
            Session {
                server: client.base_url().to_string(),
                token: answer.token,
                username: answer.user.username.clone(),
            },
            answer.user,
        )),
        Err(e) if e.is_unauthorized() => Err("wrong username or password".into()),
        Err(e) => Err(e.to_string()),
    }
}
