//! System and user endpoints: ping, getLicense, getOpenSubsonicExtensions, getScanStatus,
//! getUser.

use cadenza_api::{PageRequest, Role};
use serde_json::json;

use super::response::Reply;
use super::{Call, Error, Result};

pub async fn ping(_: Call) -> Result<Reply> {
    Ok(Reply::empty())
}

/// Cadenza is free software: the licence is always valid.
pub async fn license(_: Call) -> Result<Reply> {
    Ok(Reply::with("license", json!({ "valid": true })))
}

/// The OpenSubsonic extensions served, each at version 1.
pub async fn extensions(_: Call) -> Result<Reply> {
    let extensions: Vec<_> = ["formPost", "apiKeyAuthentication", "getPodcastEpisode"]
        .iter()
        .map(|name| json!({ "name": name, "versions": [1] }))
        .collect();
    Ok(Reply::with("openSubsonicExtensions", json!(extensions)))
}

/// There is no folder scan: songs arrive by upload, so the library is never "scanning".
pub async fn scan_status(call: Call) -> Result<Reply> {
    let total = call
        .db(|c| {
            c.songs(PageRequest {
                limit: 0,
                offset: 0,
            })
        })
        .await?
        .total;
    Ok(Reply::with(
        "scanStatus",
        json!({ "scanning": false, "count": total }),
    ))
}

/// Listeners may see themselves; admins anyone.
pub async fn user(call: Call) -> Result<Reply> {
    let username = call.params.required("username")?.to_string();
    let user = if username.eq_ignore_ascii_case(&call.user.username) {
        call.user.clone()
    } else {
        call.require_admin()?;
        let wanted = username.clone();
        call.db(move |c| c.credentials(&wanted))
            .await?
            .map(|c| c.user)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "there is no user `{}`",
                    super::params::shorten(&username)
                ))
            })?
    };
    let admin = user.role == Role::Admin;
    Ok(Reply::with(
        "user",
        json!({
            "username": user.username,
            "scrobblingEnabled": true,
            "adminRole": admin,
            "settingsRole": false,
            "downloadRole": true,
            "uploadRole": admin,
            "playlistRole": true,
            "coverArtRole": false,
            "commentRole": false,
            "podcastRole": admin,
            "streamRole": true,
            "jukeboxRole": false,
            "shareRole": false,
            "videoConversionRole": false,
            "folder": [1],
        }),
    ))
}
