//! The upload flow for songs and podcast episodes:
//!
//! stage the body (hashed, size-limited) → probe it (refuse what the player cannot play) →
//! commit cover and audio to all replicas → insert the catalog row.
//!
//! Nothing is visible to listeners before the catalog row exists. If the row cannot be
//! written, blobs this upload added are removed again (unless something references them by
//! then), so a failure leaves no orphan behind.

use std::sync::Arc;

use bytes::Bytes;
use cadenza_api::{EpisodeMeta, PodcastId, TagOverrides, UploadedEpisode, UploadedSong};
use cadenza_catalog::{Catalog, CatalogError, NewCover, NewEpisode, NewSong};
use cadenza_media::{MediaError, Probe};
use cadenza_store::{StagedBlob, StoreError};
use futures::Stream;
use thiserror::Error;

use crate::app::App;

#[derive(Debug, Error)]
pub enum UploadError {
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

impl From<StoreError> for UploadError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TooLarge { limit } => UploadError::TooLarge { limit },
            e => UploadError::Store(e),
        }
    }
}

/// Refuses at once an upload whose declared size is over the limit (before reading it).
pub fn check_declared_size(app: &App, declared: Option<u64>) -> Result<(), UploadError> {
    let limit = app.config.max_upload_bytes;
    match declared {
        Some(len) if len > limit => Err(UploadError::TooLarge { limit }),
        _ => Ok(()),
    }
}

async fn db<T, F>(app: &App, f: F) -> Result<T, UploadError>
where
    F: FnOnce(&dyn Catalog) -> Result<T, CatalogError> + Send + 'static,
    T: Send + 'static,
{
    let catalog = Arc::clone(&app.catalog);
    Ok(tokio::task::spawn_blocking(move || f(catalog.as_ref())).await??)
}

async fn probe(staged: &StagedBlob) -> Result<Probe, UploadError> {
    let path = staged.path.clone();
    Ok(tokio::task::spawn_blocking(move || cadenza_media::probe_file(&path)).await??)
}

/// Commits a staged blob; true when no volume held it before (so a failure later may
/// remove it again).
async fn commit(app: &App, staged: &StagedBlob) -> Result<bool, UploadError> {
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

/// Removes blobs this upload added that no catalog row references. Failures are only
/// logged: the replication check reports any orphan left.
async fn remove_unreferenced(app: &App, new_hashes: Vec<String>) {
    for hash in new_hashes {
        let lookup = hash.clone();
        match db(app, move |c| c.blob_status(&lookup)).await {
            Ok(status) if status.exists => {}
            Ok(_) => {
                if let Err(e) = app.store.delete(&hash).await {
                    tracing::warn!("cannot remove blob {hash} after a failed upload: {e}");
                }
            }
            Err(e) => tracing::warn!("cannot check blob {hash} after a failed upload: {e}"),
        }
    }
}

pub async fn ingest_song<S, E>(
    app: &App,
    body: S,
    declared_len: Option<u64>,
    overrides: TagOverrides,
) -> Result<UploadedSong, UploadError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    check_declared_size(app, declared_len)?;
    let staged = app.store.stage(body, app.config.max_upload_bytes).await?;

    let hash = staged.hash.clone();
    if let Some(song) = db(app, move |c| c.song_by_hash(&hash)).await? {
        return Ok(UploadedSong {
            song,
            created: false,
            missing_tags: Vec::new(),
        });
    }

    let probe = probe(&staged).await?;
    let tags = cadenza_media::resolve_tags(&probe.tags, &overrides, overrides.filename.as_deref());

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

    match result {
        Ok((song, created)) => {
            if !created {
                // Someone uploaded the same bytes at the same moment and won the insert.
                remove_unreferenced(app, new_blobs).await;
            }
            Ok(UploadedSong {
                song,
                created,
                missing_tags: tags.missing.iter().map(|m| m.to_string()).collect(),
            })
        }
        Err(e) => {
            remove_unreferenced(app, new_blobs).await;
            Err(e)
        }
    }
}

pub async fn ingest_episode<S, E>(
    app: &App,
    podcast: PodcastId,
    body: S,
    declared_len: Option<u64>,
    meta: EpisodeMeta,
) -> Result<UploadedEpisode, UploadError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    if meta.guid.trim().is_empty() {
        return Err(UploadError::BadRequest(
            "an episode needs a `guid` query parameter (the feed's <guid> or the enclosure URL)"
                .into(),
        ));
    }
    check_declared_size(app, declared_len)?;
    let staged = app.store.stage(body, app.config.max_upload_bytes).await?;
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

    match result {
        Ok((episode, created)) => {
            if !created {
                // An episode with this guid existed: the bytes just stored may be unused.
                remove_unreferenced(app, new_blobs).await;
            }
            Ok(UploadedEpisode { episode, created })
        }
        Err(e) => {
            remove_unreferenced(app, new_blobs).await;
            Err(e)
        }
    }
}
