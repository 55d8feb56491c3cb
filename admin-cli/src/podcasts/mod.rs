//! `podcasts add FEED_URL` and `podcasts list`.
//!
//! Each new episode's enclosure is downloaded to a temporary file, then streamed to the
//! server like a song upload. Episodes the podcast already has (same guid) are skipped,
//! so re-running picks up only new ones.

mod feed;

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use cadenza_api::{Client, ClientError, CreatePodcast, EpisodeMeta, PageRequest, Podcast};
use futures::TryStreamExt;
use indicatif::ProgressBar;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;
use url::Url;

use crate::cli::PodcastsCommand;
use crate::errors::{is_connection_failure, Outcome};
use crate::say;
use crate::ui;
use feed::{Feed, FeedEpisode};

pub async fn run(client: &Client, command: &PodcastsCommand, json: bool) -> Result<Outcome> {
    match command {
        PodcastsCommand::Add { feed_url } => add(client, feed_url, json).await,
        PodcastsCommand::List => list(client, json).await,
    }
}

#[derive(Debug, Default, Serialize)]
struct AddSummary {
    podcast: Option<Podcast>,
    ingested: Vec<EpisodeLine>,
    /// Already on the server.
    skipped: usize,
    failed: Vec<EpisodeLine>,
    items_without_audio: usize,
    interrupted: bool,
}

#[derive(Debug, Serialize)]
struct EpisodeLine {
    guid: String,
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    episode_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

async fn add(client: &Client, feed_url: &str, json: bool) -> Result<Outcome> {
    let url = Url::parse(feed_url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| anyhow!("`{feed_url}` is not an http(s) URL of an RSS feed"))?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        // A stalled feed or enclosure server fails the episode instead of hanging the run.
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("cadenza-admin/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build an HTTP client")?;
    let feed = fetch_feed(&http, &url).await?;

    let podcast = client
        .create_podcast(&CreatePodcast {
            title: feed.title.clone(),
            author: feed.author.clone(),
            description: feed.description.clone(),
            feed_url: Some(url.to_string()),
        })
        .await
        .context("cannot create the podcast on the server")?;
    let known: HashSet<String> = client
        .podcast(podcast.id)
        .await
        .context("cannot list the podcast's episodes")?
        .episodes
        .into_iter()
        .map(|e| e.guid)
        .collect();

    let mut summary = AddSummary {
        items_without_audio: feed.items_without_audio,
        ..AddSummary::default()
    };
    let new: Vec<&FeedEpisode> = feed
        .episodes
        .iter()
        .filter(|e| !known.contains(&e.guid))
        .collect();
    summary.skipped = feed.episodes.len() - new.len();

    let multi = ui::multi_progress();
    let overall = multi.add(ui::count_bar(new.len() as u64, "episodes"));
    let line = multi.add(ProgressBar::new(0));
    line.set_style(ui::bytes_style());
    let mut interrupted = std::pin::pin!(ui::interrupted());
    for episode in new {
        let name = episode
            .title
            .clone()
            .unwrap_or_else(|| episode.guid.clone());
        // A Ctrl-C drops the download or upload; its temporary file is deleted on drop.
        let result = tokio::select! {
            biased;
            () = &mut interrupted => {
                summary.interrupted = true;
                break;
            }
            result = ingest_episode(client, &http, podcast.id, episode, &name, &line) => result,
        };
        overall.inc(1);
        match result {
            Ok((id, true)) => summary.ingested.push(episode_line(episode, Some(id), None)),
            Ok((_, false)) => summary.skipped += 1,
            Err(EpisodeError::Server(err)) if is_connection_failure(&err) => {
                multi.clear().ok();
                return Err(anyhow::Error::new(err).context("the podcast import stopped"));
            }
            Err(err) => {
                let reason = err.to_string();
                let message = format!("failed: {name}: {reason}");
                if ui::stderr_is_terminal() {
                    multi.println(message).ok();
                } else {
                    eprintln!("{message}");
                }
                summary
                    .failed
                    .push(episode_line(episode, None, Some(reason)));
            }
        }
    }
    line.finish_and_clear();
    overall.finish_and_clear();
    multi.clear().ok();

    // The episode count as it is now.
    summary.podcast = Some(
        client
            .podcast(podcast.id)
            .await
            .map(|detail| detail.podcast)
            .unwrap_or(podcast),
    );
    let failed = summary.failed.len();
    let interrupted = summary.interrupted;
    if json {
        ui::print_json(&summary)?;
    } else {
        print_summary(&summary);
    }
    Ok(if interrupted {
        Outcome::Interrupted
    } else {
        Outcome::from_failures(failed)
    })
}

async fn fetch_feed(http: &reqwest::Client, url: &Url) -> Result<Feed> {
    let response = http
        .get(url.clone())
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .map_err(|e| anyhow!("cannot fetch the feed {url}: {}", root_cause(&e)))?;
    if !response.status().is_success() {
        bail!(
            "cannot fetch the feed {url}: it answered {}",
            response.status()
        );
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| anyhow!("the feed {url} broke off: {}", root_cause(&e)))?;
    feed::parse(&body, url).with_context(|| format!("cannot read the feed {url}"))
}

#[derive(Debug, thiserror::Error)]
enum EpisodeError {
    #[error("cannot download {url}: {reason}")]
    Download { url: String, reason: String },
    #[error("cannot keep the download in a temporary file: {0}")]
    TempFile(std::io::Error),
    #[error("{}", server_reason(.0))]
    Server(ClientError),
}

fn server_reason(err: &ClientError) -> String {
    match err {
        ClientError::Api { message, .. } => format!("the server refused it: {message}"),
        other => other.to_string(),
    }
}

/// Downloads one enclosure and uploads it; `(episode id, created)`.
async fn ingest_episode(
    client: &Client,
    http: &reqwest::Client,
    podcast: i64,
    episode: &FeedEpisode,
    name: &str,
    line: &ProgressBar,
) -> Result<(i64, bool), EpisodeError> {
    let download = |reason: String| EpisodeError::Download {
        url: episode.url.to_string(),
        reason,
    };
    let mut response = http
        .get(episode.url.clone())
        .send()
        .await
        .map_err(|e| download(root_cause(&e)))?;
    if !response.status().is_success() {
        return Err(download(format!("it answered {}", response.status())));
    }
    line.reset();
    line.set_length(response.content_length().or(episode.length).unwrap_or(0));
    line.set_message(format!("↓ {name}"));
    let temp = tempfile::NamedTempFile::new().map_err(EpisodeError::TempFile)?;
    let mut file = tokio::fs::File::from_std(temp.reopen().map_err(EpisodeError::TempFile)?);
    let mut size = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| download(format!("it broke off: {}", root_cause(&e))))?
    {
        file.write_all(&chunk)
            .await
            .map_err(EpisodeError::TempFile)?;
        size += chunk.len() as u64;
        line.set_position(size);
    }
    file.flush().await.map_err(EpisodeError::TempFile)?;
    drop(file);

    line.reset();
    line.set_length(size);
    line.set_message(format!("↑ {name}"));
    let upload = tokio::fs::File::open(temp.path())
        .await
        .map_err(EpisodeError::TempFile)?;
    let progress = line.clone();
    let body = reqwest::Body::wrap_stream(
        ReaderStream::with_capacity(upload, 64 * 1024)
            .inspect_ok(move |chunk| progress.inc(chunk.len() as u64)),
    );
    let meta = EpisodeMeta {
        guid: episode.guid.clone(),
        title: episode.title.clone(),
        description: episode.description.clone(),
        published_at: episode.published_at,
    };
    let uploaded = client
        .upload_episode(podcast, body, Some(size), &meta)
        .await
        .map_err(EpisodeError::Server)?;
    Ok((uploaded.episode.id, uploaded.created))
}

fn episode_line(episode: &FeedEpisode, id: Option<i64>, reason: Option<String>) -> EpisodeLine {
    EpisodeLine {
        guid: episode.guid.clone(),
        title: episode.title.clone(),
        episode_id: id,
        reason,
    }
}

fn print_summary(s: &AddSummary) {
    if let Some(p) = &s.podcast {
        say!(
            "Podcast \"{}\" (id {}) now has {} episodes.",
            p.title,
            p.id,
            p.episode_count
        );
    }
    if s.interrupted {
        say!("Interrupted: run the same command again to fetch the remaining episodes.");
    }
    say!(
        "Ingested {} new episodes; {} already on the server; {} failed.",
        s.ingested.len(),
        s.skipped,
        s.failed.len()
    );
    for e in &s.ingested {
        say!("  + {}", e.title.as_deref().unwrap_or(e.guid.as_str()));
    }
    for e in &s.failed {
        say!(
            "  ✗ {}: {}",
            e.title.as_deref().unwrap_or(e.guid.as_str()),
            e.reason.as_deref().unwrap_or("")
        );
    }
    if s.items_without_audio > 0 {
        say!(
            "{} feed items have no audio enclosure and were left out.",
            s.items_without_audio
        );
    }
}

async fn list(client: &Client, json: bool) -> Result<Outcome> {
    let mut all = Vec::new();
    let mut page = PageRequest {
        limit: 200,
        offset: 0,
    };
    loop {
        let got = client
            .podcasts(page)
            .await
            .context("cannot list podcasts")?;
        let count = got.items.len() as u32;
        all.extend(got.items);
        if count == 0 || all.len() as u64 >= got.total {
            break;
        }
        page.offset += count;
    }
    if json {
        ui::print_json(&all)?;
    } else if all.is_empty() {
        say!("No podcasts yet: `cadenza-admin podcasts add FEED_URL` imports one.");
    } else {
        for p in &all {
            say!(
                "{:>5}  {}  ({} episodes){}",
                p.id,
                p.title,
                p.episode_count,
                p.feed_url
                    .as_deref()
                    .map(|u| format!("  {u}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(Outcome::Success)
}

/// The innermost cause of a reqwest error ("Connection refused", not "error sending request").
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
