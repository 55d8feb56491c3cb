//! Bytes: stream, download, getCoverArt. Each answers with the stored file (Range,
//! validators and caching as `/api/v1` streams: the same `serve_blob`), or with an error
//! document when there is nothing to send.
//!
//! There is no transcoding: `maxBitRate` and `format` are accepted and the original is sent,
//! which the spec allows (clients read the real type from `Content-Type`). `size` of
//! getCoverArt is accepted the same way: the cover is sent as stored.

use std::sync::Arc;

use cadenza_catalog::BlobRef;
use warp::http::header::HeaderValue;
use warp::http::StatusCode;

use super::ids::Id;
use super::response::Reply;
use super::{Call, Error, Result};
use crate::blob_cache::BlobKey;
use crate::http::stream::{serve_blob, PRIVATE_IMMUTABLE};

async fn send(call: &Call, blob: &BlobRef, audio: bool) -> Result<Reply> {
    let cache = HeaderValue::from_static(PRIVATE_IMMUTABLE);
    match serve_blob(&call.cx, blob, cache, audio).await {
        Ok(response) => Ok(Reply::Raw(response)),
        // A range past the end is an HTTP matter: 416 with the length, as players expect.
        Err(e) if e.status == StatusCode::RANGE_NOT_SATISFIABLE => {
            Ok(Reply::Raw(e.into_response()))
        }
        Err(e) => Err(e.into()),
    }
}

async fn audio(call: &Call) -> Result<Arc<BlobRef>> {
    let key = match Id::parse(call.params.required("id")?)? {
        Id::Song(id) => BlobKey::Song(id),
        Id::Episode(id) => BlobKey::Episode(id),
        other => {
            return Err(Error::not_found(format!(
                "{other} is not a song or episode"
            )))
        }
    };
    Ok(call.cx.blob(key).await?)
}

pub async fn stream(call: Call) -> Result<Reply> {
    // Checked so a bad value is reported, though nothing is transcoded.
    call.params.number("maxBitRate")?;
    let blob = audio(&call).await?;
    send(&call, &blob, true).await
}

pub async fn download(call: Call) -> Result<Reply> {
    let blob = audio(&call).await?;
    let mut reply = send(&call, &blob, true).await?;
    if let Reply::Raw(response) = &mut reply {
        response.headers_mut().insert(
            warp::http::header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    Ok(reply)
}

pub async fn cover_art(call: Call) -> Result<Reply> {
    call.params.number("size")?;
    let id = Id::parse(call.params.required("id")?)?;
    let cover = call
        .db(move |c| {
            let album = match id {
                Id::Album(album) => album,
                Id::Song(song) => c.song(song)?.album_id,
                Id::Artist(artist) => match c.artist(artist)?.albums.iter().find(|a| a.has_cover) {
                    Some(album) => album.id,
                    None => return Ok(None),
                },
                _ => return Ok(None),
            };
            c.album_cover(album)
        })
        .await?
        .ok_or_else(|| Error::not_found(format!("{id} has no cover image")))?;
    send(&call, &cover, false).await
}
