//! `users add|list|set-role|reset-password|delete`, and the app passwords and API keys of
//! Subsonic clients: `users app-password|api-key|credentials|revoke`.

use anyhow::{Context, Result};
use cadenza_api::{Client, ClientCredential, CredentialKind, User};

use crate::cli::UsersCommand;
use crate::errors::{ItemFailed, Outcome};
use crate::say;
use crate::ui;

pub async fn run(client: &Client, command: &UsersCommand, json: bool) -> Result<Outcome> {
    match command {
        UsersCommand::Add {
            username,
            role,
            password_stdin,
        } => {
            let password = ui::new_password(*password_stdin)?;
            let user = client
                .create_user(username, &password, *role)
                .await
                .with_context(|| format!("cannot create user `{username}`"))?;
            print_user(&user, json, "Created")?;
        }
        UsersCommand::List => {
            let users = client.users().await.context("cannot list users")?;
            if json {
                ui::print_json(&users)?;
            } else {
                print_table(&users);
            }
        }
        UsersCommand::SetRole { user, role } => {
            let found = find(client, user).await?;
            let updated = client
                .set_role(found.id, *role)
                .await
                .with_context(|| format!("cannot change the role of `{}`", found.username))?;
            print_user(&updated, json, "Updated")?;
        }
        UsersCommand::ResetPassword {
            user,
            password_stdin,
        } => {
            let found = find(client, user).await?;
            let password = ui::new_password(*password_stdin)?;
            client
                .reset_password(found.id, &password)
                .await
                .with_context(|| format!("cannot set the password of `{}`", found.username))?;
            print_user(&found, json, "New password set for")?;
        }
        UsersCommand::Delete { user } => {
            let found = find(client, user).await?;
            client
                .delete_user(found.id)
                .await
                .with_context(|| format!("cannot delete `{}`", found.username))?;
            print_user(&found, json, "Deleted")?;
        }
        UsersCommand::AppPassword { user, name } => {
            create_credential(client, user, CredentialKind::AppPassword, name, json).await?;
        }
        UsersCommand::ApiKey { user, name } => {
            create_credential(client, user, CredentialKind::ApiKey, name, json).await?;
        }
        UsersCommand::Credentials { user } => {
            let found = find(client, user).await?;
            let list = client
                .user_credentials(found.id)
                .await
                .with_context(|| format!("cannot list the credentials of `{}`", found.username))?;
            if json {
                ui::print_json(&list)?;
            } else if list.is_empty() {
                say!(
                    "{} has no app passwords or API keys; `cadenza-admin users app-password {}` makes one.",
                    found.username,
                    found.username
                );
            } else {
                print_credentials(&list);
            }
        }
        UsersCommand::Revoke { user, id } => {
            let found = find(client, user).await?;
            client
                .revoke_user_credential(found.id, *id)
                .await
                .with_context(|| {
                    format!("cannot revoke credential {id} of `{}`", found.username)
                })?;
            if json {
                ui::print_json(&serde_json::json!({ "revoked": id, "user": found.id }))?;
            } else {
                say!("Revoked credential {id} of {}.", found.username);
            }
        }
    }
    Ok(Outcome::Success)
}

async fn create_credential(
    client: &Client,
    user: &str,
    kind: CredentialKind,
    name: &str,
    json: bool,
) -> Result<()> {
    let found = find(client, user).await?;
    let made = client
        .create_user_credential(found.id, kind, name)
        .await
        .with_context(|| format!("cannot make a credential for `{}`", found.username))?;
    if json {
        return ui::print_json(&made);
    }
    let what = match kind {
        CredentialKind::AppPassword => "App password",
        CredentialKind::ApiKey => "API key",
    };
    say!(
        "{what} {} \"{}\" for {} (shown only now; revoke it with `cadenza-admin users revoke {} {}`):",
        made.credential.id,
        made.credential.name,
        found.username,
        found.username,
        made.credential.id
    );
    say!("{}", made.secret);
    Ok(())
}

fn print_credentials(list: &[ClientCredential]) {
    say!(
        "{:>6}  {:<12}  {:<20}  {:<20}  NAME",
        "ID",
        "KIND",
        "CREATED",
        "LAST USED"
    );
    for c in list {
        say!(
            "{:>6}  {:<12}  {:<20}  {:<20}  {}",
            c.id,
            c.kind.as_str(),
            ui::timestamp(c.created_at),
            c.last_used_at
                .map_or_else(|| "never".to_string(), ui::timestamp),
            c.name
        );
    }
}

/// The user with this name, or this numeric id.
async fn find(client: &Client, name_or_id: &str) -> Result<User> {
    let users = client.users().await.context("cannot list users")?;
    pick(users, name_or_id)
}

fn pick(users: Vec<User>, name_or_id: &str) -> Result<User> {
    let id: Option<i64> = name_or_id.parse().ok();
    let mut by_name = None;
    let mut by_id = None;
    for user in users {
        if user.username == name_or_id {
            by_name = Some(user);
        } else if Some(user.id) == id {
            by_id = Some(user);
        }
    }
    // A user literally named "12" wins over the user with id 12.
    by_name.or(by_id).ok_or_else(|| {
        ItemFailed(format!(
            "there is no user `{name_or_id}`; `cadenza-admin users list` shows them all"
        ))
        .into()
    })
}

fn print_user(user: &User, json: bool, verb: &str) -> Result<()> {
    if json {
        ui::print_json(user)
    } else {
        say!(
            "{verb} user {} (id {}, {}).",
            user.username,
            user.id,
            user.role.as_str()
        );
        Ok(())
    }
}

fn print_table(users: &[User]) {
    let width = users
        .iter()
        .map(|u| u.username.chars().count())
        .max()
        .unwrap_or(0)
        .max("USER".len());
    say!("{:>6}  {:<width$}  {:<8}  CREATED", "ID", "USER", "ROLE");
    for user in users {
        say!(
            "{:>6}  {:<width$}  {:<8}  {}",
            user.id,
            user.username,
            user.role.as_str(),
            ui::timestamp(user.created_at)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cadenza_api::Role;

    fn user(id: i64, name: &str) -> User {
        User {
            id,
            username: name.into(),
            role: Role::Listener,
            created_at: 0,
        }
    }

    #[test]
    fn users_are_found_by_name_or_id() {
        let users = vec![user(1, "alice"), user(2, "12"), user(12, "bob")];
        assert_eq!(pick(users.clone(), "alice").unwrap().id, 1);
        assert_eq!(pick(users.clone(), "12").unwrap().id, 2);
        assert_eq!(pick(users.clone(), "1").unwrap().username, "alice");
        let err = pick(users, "carol").unwrap_err().to_string();
        assert!(err.contains("users list"), "{err}");
    }
}
