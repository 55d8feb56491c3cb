//! getPodcasts, getNewestPodcasts, getPodcastEpisode; for admins refreshPodcasts,
//! createPodcastChannel and deletePodcastChannel. Feeds are read by the server
//! ([`crate::podcasts`]), the same way its timer and `cadenza-admin podcasts` do.

use std::collections::HashMap;

use cadenza_api::PodcastDetail;
use cadenza_catalog::{all_pages, CatalogResult};
use serde_json::{json, Value};

use super::ids::Id;
use super::model;
use super::params::MAX_COUNT;
use super::response::Reply;
use super::{Call, Error, Result};
use crate::blob_cache::BlobKey;
use crate::podcasts;

fn channel_with_episodes(detail: &PodcastDetail) -> Value {
    let mut channel = model::channel(&detail.podcast);
    channel["episode"] = json!(detail
        .episodes
        .iter()
        .map(|e| model::episode(e, Some(&detail.podcast)))
        .collect::<Vec<_>>());
    channel
}

pub async fn podcasts(call: Call) -> Result<Reply> {
    let with_episodes = call.params.bool("includeEpisodes")?.unwrap_or(true);
    let only = call.params.get("id").map(Id::podcast).transpose()?;
    let user = call.user.id;
    let details = call
        .db(move |c| {
            let podcasts = match only {
                Some(id) => vec![c.podcast(id, user)?.podcast],
                None => all_pages(|page| c.podcasts(page))?,
            };
            podcasts
                .into_iter()
                .map(|podcast| match with_episodes {
                    true => c.podcast(podcast.id, user),
                    false => Ok(PodcastDetail {
                        podcast,
                        episodes: Vec::new(),
                    }),
                })
                .collect::<CatalogResult<Vec<_>>>()
        })
        .await?;
    let channels: Vec<Value> = details
        .iter()
        .map(|d| match with_episodes {
            true => channel_with_episodes(d),
            false => model::channel(&d.podcast),
        })
        .collect();
    Ok(Reply::with("podcasts", json!({ "channel": channels })))
}

pub async fn newest(call: Call) -> Result<Reply> {
    let count = call.params.count("count", 20, MAX_COUNT)?;
    let user = call.user.id;
    let (episodes, podcasts) = call
        .db(move |c| {
            let episodes = c.newest_episodes(count, user)?;
            let mut podcasts = HashMap::new();
            for e in &episodes {
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    podcasts.entry(e.podcast_id)
                {
                    slot.insert(c.podcast(e.podcast_id, user)?.podcast);
                }
            }
            Ok((episodes, podcasts))
        })
        .await?;
    let episodes: Vec<Value> = episodes
        .iter()
        .map(|e| model::episode(e, podcasts.get(&e.podcast_id)))
        .collect();
    Ok(Reply::with(
        "newestPodcasts",
        json!({ "episode": episodes }),
    ))
}

pub async fn episode(call: Call) -> Result<Reply> {
    let id = Id::episode(call.params.required("id")?)?;
    let user = call.user.id;
    let (episode, podcast) = call
        .db(move |c| {
            let episode = c.episode(id, user)?;
            let podcast = c.podcast(episode.podcast_id, user)?.podcast;
            Ok((episode, podcast))
        })
        .await?;
    Ok(Reply::with(
        "podcastEpisode",
        model::episode(&episode, Some(&podcast)),
    ))
}

/// Starts reading every feed now and answers at once (clients do not wait for downloads).
pub async fn refresh(call: Call) -> Result<Reply> {
    call.require_admin()?;
    let app = std::sync::Arc::clone(call.app());
    tokio::spawn(async move {
        podcasts::refresh_all(&app).await;
    });
    Ok(Reply::empty())
}

/// Reads the feed at `url` and adds the podcast; its episodes download in the background.
pub async fn create_channel(call: Call) -> Result<Reply> {
    call.require_admin()?;
    let url = call.params.required("url")?.to_string();
    let app = std::sync::Arc::clone(call.app());
    let (podcast, feed) = podcasts::create_from_feed(&app, &url)
        .await
        .map_err(|e| Error::generic(e.to_string()))?;
    tokio::spawn(async move {
        podcasts::refresh_with(&app, &podcast, Some(feed)).await;
    });
    Ok(Reply::empty())
}

pub async fn delete_channel(call: Call) -> Result<Reply> {
    call.require_admin()?;
    let id = Id::podcast(call.params.required("id")?)?;
    let user = call.user.id;
    let (episodes, unused) = call
        .db(move |c| {
            let episodes: Vec<i64> = c.podcast(id, user)?.episodes.iter().map(|e| e.id).collect();
            Ok((episodes, c.delete_podcast(id)?))
        })
        .await?;
    for episode in episodes {
        call.app().blobs.evict(&BlobKey::Episode(episode));
    }
    for hash in unused {
        if let Err(e) = call.app().store.delete(&hash).await {
            tracing::warn!("podcast {id} deleted, but its blob {hash} could not be removed: {e}");
        }
    }
    Ok(Reply::empty())
}
