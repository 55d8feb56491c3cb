//! The life cycle of what the library holds: adding songs and podcast episodes, deleting
//! songs. The catalog row is the commit point both ways; blobs are written before it and
//! removed after it.
//!
//! Adding: stage the body (hashed, size-limited) → probe it (refuse what the player cannot
//! play) → commit cover and audio to all replicas → insert the catalog row. Nothing is
//! visible to listeners before the row exists. If the row cannot be written, blobs this
//! upload added are removed again (unless something references them by then), so a failure
//! leaves no orphan behind.
//!
//! Deleting: delete the row (the song is gone for everyone from then on) → forget this
//! server's cached answer for it → remove the blobs no row references any more. A blob that
//! cannot be removed does not undo the delete: it is logged and stays as an orphan, which the
//! replication check reports.

use std::sync::Arc;

use bytes::Bytes;
use cadenza_api::{EpisodeMeta, PodcastId, SongId, TagOverrides, UploadedEpisode, UploadedSong};
use cadenza_catalog::{Catalog, CatalogError, NewCover, NewEpisode, NewSong};
use cadenza_media::{MediaError, Probe, Tags};
use cadenza_store::{StagedBlob, StoreError};
use futures::Stream;
use thiserror::Error;

use crate::app::App;
use crate::blob_cache::BlobKey;

#[derive(Debug, Error)]
pub enum LibraryError {
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl From<StoreError> for LibraryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TooLarge { limit } => LibraryError::TooLarge { limit },
            e => LibraryError::Store(e),
        }
    }
}

/// Stages an upload's body (hashed, within the size limit). A body whose declared size is
/// over the limit is refused at once, before any of it is read.
async fn stage<S, E>(app: &App, body: S, declared: Option<u64>) -> Result<StagedBlob, LibraryError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    let limit = app.config.max_upload_bytes;
    if declared.is_some_and(|len| len > limit) {
        return Err(LibraryError::TooLarge { limit });
    }
    Ok(app.store.stage(body, limit).await?)
}

async fn db<T, F>(app: &App, f: F) -> Result<T, LibraryError>
where
    F: FnOnce(&dyn Catalog) -> Result<T, CatalogError> + Send + 'static,
    T: Send + 'static,
{
    let catalog = Arc::clone(&app.catalog);
    Ok(tokio::task::spawn_blocking(move || f(catalog.as_ref())).await??)
}

async fn probe(staged: &StagedBlob) -> Result<Probe, LibraryError> {
    let path = staged.path.clone();
    Ok(tokio::task::spawn_blocking(move || cadenza_media::probe_file(&path)).await??)
}

/// Commits a staged blob; true when no volume held it before (so a failure later may
/// remove it again).
async fn commit(app: &App, staged: &StagedBlob) -> Result<bool, LibraryError> {
    // With a volume unreachable (the write quorum lets uploads go on) the answer is unknown:
    // count the blob as existing, so a later failure never deletes what others may rely on.
    let existed = app.store.exists(&staged.hash).await.unwrap_or_else(|e| {
        tracing::warn!(
            "cannot tell whether blob {} is stored already: {e}",
            staged.hash
        );
        true
    });
    app.store.commit(staged).await?;
    Ok(!existed)
}

/// Removes those of `hashes` that no catalog row references (checked again blob by blob:
/// an upload of the same bytes may have claimed one meanwhile). Failures are only logged,
/// `after` saying what left the blob behind: the replication check reports any orphan left.
async fn remove_unreferenced(app: &App, hashes: Vec<String>, after: &str) {
    for hash in hashes {
        let lookup = hash.clone();
        match db(app, move |c| c.blob_status(&lookup)).await {
            Ok(status) if status.exists => {}
            Ok(_) => {
                if let Err(e) = app.store.delete(&hash).await {
                    tracing::warn!(
                        "cannot remove blob {hash} after {after}: {e}; \
                         the replication check will report it as orphaned"
                    );
                }
            }
            Err(e) => tracing::warn!(
                "cannot check blob {hash} after {after}: {e}; \
                 if nothing uses it, the replication check will report it as orphaned"
            ),
        }
    }
}

/// Settles an upload's catalog insert: on failure, and when the row already existed (the
/// same bytes uploaded at the same moment, or an episode with this guid), the blobs this
/// upload added may be unused and are removed again.
async fn settle<T>(
    app: &App,
    new_blobs: Vec<String>,
    inserted: Result<(T, bool), LibraryError>,
) -> Result<(T, bool), LibraryError> {
    match &inserted {
        Ok((_, true)) => {}
        Ok((_, false)) => remove_unreferenced(app, new_blobs, "a duplicate upload").await,
        Err(_) => remove_unreferenced(app, new_blobs, "a failed upload").await,
    }
    inserted
}

/// Deletes a song (see the module comment for the order and what a failure leaves).
pub async fn delete_song(app: &App, id: SongId) -> Result<(), LibraryError> {
    let unreferenced = db(app, move |c| c.delete_song(id)).await?;
    app.blobs.evict(&BlobKey::Song(id));
    remove_unreferenced(app, unreferenced, &format!("deleting song {id}")).await;
    Ok(())
}

/// The uploader's overrides as tags, which media resolves over the file's own.
fn override_tags(overrides: &TagOverrides) -> Tags {
    Tags {
        title: overrides.title.clone(),
        artist: overrides.artist.clone(),
        album: overrides.album.clone(),
        album_artist: None,
        genre: overrides.genre.clone(),
        track: overrides.track,
        disc: overrides.disc,
        year: overrides.year,
    }
}

pub async fn ingest_song<S, E>(
    app: &App,
    body: S,
    declared_len: Option<u64>,
    overrides: TagOverrides,
) -> Result<UploadedSong, LibraryError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    let staged = stage(app, body, declared_len).await?;

    let hash = staged.hash.clone();
    if let Some(song) = db(app, move |c| c.song_by_hash(&hash)).await? {
        return Ok(UploadedSong {
            song,
            created: false,
            missing_tags: Vec::new(),
        });
    }

    let probe = probe(&staged).await?;
    let tags = cadenza_media::resolve_tags(
        &probe.tags,
        &override_tags(&overrides),
        overrides.filename.as_deref(),
    );

    let mut new_blobs = Vec::new();
    let result = async {
        let cover = match &probe.cover {
            Some(cover) => {
                let staged_cover = app
                    .store
                    .stage_bytes(Bytes::from(cover.bytes.clone()))
                    .await?;
                if commit(app, &staged_cover).await? {
                    new_blobs.push(staged_cover.hash.clone());
                }
                Some(NewCover {
                    hash: staged_cover.hash.clone(),
                    size: staged_cover.size,
                    content_type: cover.content_type.clone(),
                })
            }
            None => None,
        };
        if commit(app, &staged).await? {
            new_blobs.push(staged.hash.clone());
        }
        let new = NewSong {
            title: tags.title.clone(),
            artist: tags.artist.clone(),
            album_artist: tags.album_artist.clone(),
            album: tags.album.clone(),
            track: tags.track,
            disc: tags.disc,
            genre: tags.genre.clone(),
            year: tags.year,
            duration_ms: probe.duration_ms,
            codec: probe.codec.name().to_string(),
            content_type: probe.codec.content_type().to_string(),
            bitrate_kbps: probe.bitrate_kbps,
            sample_rate: probe.sample_rate,
            channels: probe.channels,
            size: staged.size,
            hash: staged.hash.clone(),
            cover,
        };
        let now = crate::http::unix_now();
        db(app, move |c| c.insert_song(&new, now)).await
    }
    .await;

    let (song, created) = settle(app, new_blobs, result).await?;
    Ok(UploadedSong {
        song,
        created,
        missing_tags: tags.missing.iter().map(|m| m.to_string()).collect(),
    })
}

pub async fn ingest_episode<S, E>(
    app: &App,
    podcast: PodcastId,
    body: S,
    declared_len: Option<u64>,
    meta: EpisodeMeta,
) -> Result<UploadedEpisode, LibraryError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    if meta.guid.trim().is_empty() {
        return Err(LibraryError::BadRequest(
            "an episode needs a `guid` query parameter (the feed's <guid> or the enclosure URL)"
                .into(),
        ));
    }
    let staged = stage(app, body, declared_len).await?;
    let probe = probe(&staged).await?;

    let mut new_blobs = Vec::new();
    let result = async {
        if commit(app, &staged).await? {
            new_blobs.push(staged.hash.clone());
        }
        let title = meta
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or_else(|| probe.tags.title.clone())
            .unwrap_or_else(|| meta.guid.clone());
        let new = NewEpisode {
            guid: meta.guid.clone(),
            title,
            description: meta.description.clone(),
            published_at: meta.published_at,
            duration_ms: probe.duration_ms,
            codec: probe.codec.name().to_string(),
            content_type: probe.codec.content_type().to_string(),
            size: staged.size,
            hash: staged.hash.clone(),
        };
        let now = crate::http::unix_now();
        db(app, move |c| c.insert_episode(podcast, &new, now)).await
    }
    .await;

    let (episode, created) = settle(app, new_blobs, result).await?;
    Ok(UploadedEpisode { episode, created })
}
