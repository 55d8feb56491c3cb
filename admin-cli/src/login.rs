//! `login` and `logout`: getting a token and keeping it in the config folder.

use anyhow::{anyhow, Result};
use cadenza_api::{Client, ClientError};
use serde_json::json;

use crate::cli::LoginArgs;
use crate::config::{self, SavedLogin};
use crate::connect::{self, display_server};
use crate::errors::Outcome;
use crate::say;
use crate::ui;

pub async fn login(server: Option<&str>, args: &LoginArgs, json: bool) -> Result<Outcome> {
    let path = config::login_path()?;
    let server = match server {
        Some(server) => server.to_string(),
        // `login` alone renews the saved login.
        None => config::load(&path)?
            .map(|saved| saved.server)
            .ok_or_else(|| anyhow!("which server? pass --server URL, e.g. `cadenza-admin login --server http://127.0.0.1:4533`"))?,
    };
    let mut client = Client::new(&server)?;
    let username = match &args.username {
        Some(name) => name.clone(),
        None => ui::prompt_line("user name", "--username NAME")?,
    };
    let password = if args.password_stdin {
        ui::password_from_stdin()?
    } else {
        ui::prompt_password(&format!("Password for {username}"))?
    };
    let server = display_server(&client);
    let login = match client.login(&username, &password).await {
        Ok(login) => login,
        Err(ClientError::Api {
            status: 400 | 401 | 403,
            ..
        }) => {
            return Err(anyhow!(
            "{server} refused the user name or password for `{username}`; check them and try again"
        ))
        }
        Err(err) => return Err(connect::not_cadenza(&client, err)),
    };
    if let Err(not_admin) = connect::require_admin(&client, &login.user) {
        // Do not leave a useless token alive on the server.
        client.logout().await.ok();
        return Err(not_admin.into());
    }
    config::save(
        &path,
        &SavedLogin {
            server: server.clone(),
            username: login.user.username.clone(),
            token: login.token,
            expires_at: login.expires_at,
        },
    )?;
    if json {
        ui::print_json(&json!({
            "server": server,
            "username": login.user.username,
            "expires_at": login.expires_at,
            "saved_to": path,
        }))?;
    } else {
        say!(
            "Logged in to {server} as {}; the token is saved in {} and valid until {}.",
            login.user.username,
            path.display(),
            ui::timestamp(login.expires_at)
        );
    }
    Ok(Outcome::Success)
}

pub async fn logout(json: bool) -> Result<Outcome> {
    let path = config::login_path()?;
    let Some(saved) = config::load(&path)? else {
        if !json {
            say!("Not logged in; nothing to do.");
        }
        return Ok(Outcome::Success);
    };
    let mut client = Client::new(&saved.server)?.with_token(saved.token);
    // Revoking may fail (server gone, token expired); forgetting the token locally must not.
    let revoked = client.logout().await;
    config::remove(&path)?;
    if json {
        ui::print_json(&json!({ "server": saved.server, "revoked": revoked.is_ok() }))?;
    } else {
        match revoked {
            Ok(()) => say!("Logged out of {}.", saved.server),
            Err(e) => say!(
                "Forgot the saved login for {}; the server did not confirm the token was revoked ({e}).",
                saved.server
            ),
        }
    }
    Ok(Outcome::Success)
}
