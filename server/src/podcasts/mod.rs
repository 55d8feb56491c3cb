//! Podcast feeds read by the server: on a timer, on request (`POST /admin/podcasts/refresh`,
//! Subsonic `refreshPodcasts`) and when a feed is added. No HTTP routes here.
//!
//! A reading fetches the RSS feed, then downloads each episode whose guid the podcast does
//! not have yet and stores it through the same upload flow as an admin upload, so an
//! episode is added once however often the feed is read. One failing feed or episode is
//! recorded (the podcast's `refresh_error`, `/metrics`) and the others go on. Copies of the
//! server sharing a catalog take a lease on a feed before reading it, so a feed is never
//! fetched by two copies at once.

pub mod feed;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cadenza_api::{CreatePodcast, EpisodeMeta, FeedItemFailure, FeedRefresh, Podcast};
use cadenza_catalog::CatalogError;
use futures::TryStreamExt;
use rand::RngCore;
use thiserror::Error;
use url::Url;

use crate::app::App;
use crate::http::unix_now;
use feed::{Feed, FeedEpisode};

/// How long a lease on a feed lasts; renewed before each episode download.
const LEASE_SECS: i64 = 600;
const FEED_TIMEOUT: Duration = Duration::from_secs(60);
/// A download that delivers nothing for this long fails (the episode is tried next time).
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Error)]
pub enum FeedError {
    #[error("`{0}` is not an http(s) URL of an RSS feed")]
    Url(String),
    #[error("cannot fetch the feed {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("cannot fetch the feed {url}: it answered {status}")]
    Status { url: String, status: u16 },
    #[error("cannot read the feed {url}: {source}")]
    Parse {
        url: String,
        #[source]
        source: feed::FeedError,
    },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The feed reader of one server process.
pub struct Feeds {
    /// Names this process in feed leases.
    holder: String,
    http: reqwest::Client,
    /// One round over all feeds at a time in this process.
    round: tokio::sync::Mutex<()>,
    readings: AtomicU64,
    failed_readings: AtomicU64,
    failing_feeds: AtomicU64,
}

/// Numbers for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedCounters {
    pub readings: u64,
    pub failed_readings: u64,
    /// Feeds whose last reading (in this process's last round) failed.
    pub failing_feeds: u64,
}

impl Feeds {
    pub fn new() -> anyhow::Result<Feeds> {
        let mut id = [0u8; 8];
        rand::rng().fill_bytes(&mut id);
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(STALL_TIMEOUT)
            .user_agent(concat!("cadenza-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client for podcast feeds: {e}"))?;
        Ok(Feeds {
            holder: format!("{}-{}", std::process::id(), hex::encode(id)),
            http,
            round: tokio::sync::Mutex::new(()),
            readings: AtomicU64::new(0),
            failed_readings: AtomicU64::new(0),
            failing_feeds: AtomicU64::new(0),
        })
    }

    pub fn counters(&self) -> FeedCounters {
        FeedCounters {
            readings: self.readings.load(Ordering::Relaxed),
            failed_readings: self.failed_readings.load(Ordering::Relaxed),
            failing_feeds: self.failing_feeds.load(Ordering::Relaxed),
        }
    }
}

async fn db<T, F>(app: &App, f: F) -> Result<T, FeedError>
where
    F: FnOnce(&dyn cadenza_catalog::Catalog) -> Result<T, CatalogError> + Send + 'static,
    T: Send + 'static,
{
    let catalog = Arc::clone(&app.catalog);
    Ok(tokio::task::spawn_blocking(move || f(catalog.as_ref())).await??)
}

fn feed_url(raw: &str) -> Result<Url, FeedError> {
    Url::parse(raw.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| FeedError::Url(raw.trim().to_string()))
}

/// The innermost cause of an error ("Connection refused", not "error sending request").
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

async fn fetch(app: &App, url: &Url) -> Result<Feed, FeedError> {
    let failed = |reason: String| FeedError::Fetch {
        url: url.to_string(),
        reason,
    };
    let response = app
        .feeds
        .http
        .get(url.clone())
        .timeout(FEED_TIMEOUT)
        .send()
        .await
        .map_err(|e| failed(root_cause(&e)))?;
    if !response.status().is_success() {
        return Err(FeedError::Status {
            url: url.to_string(),
            status: response.status().as_u16(),
        });
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| failed(format!("it broke off: {}", root_cause(&e))))?;
    feed::parse(&body, url).map_err(|source| FeedError::Parse {
        url: url.to_string(),
        source,
    })
}

/// Reads the feed and creates its podcast (or finds the one already made from this URL),
/// without downloading episodes yet.
pub async fn create_from_feed(app: &App, raw_url: &str) -> Result<(Podcast, Feed), FeedError> {
    let url = feed_url(raw_url)?;
    let feed = fetch(app, &url).await?;
    let new = CreatePodcast {
        title: feed.title.clone(),
        author: feed.author.clone(),
        description: feed.description.clone(),
        feed_url: Some(url.to_string()),
    };
    let now = unix_now();
    let (podcast, _) = db(app, move |c| c.create_podcast(&new, now)).await?;
    Ok((podcast, feed))
}

/// Adds the feed at `raw_url` and downloads its episodes (what `cadenza-admin podcasts add`
/// asks for).
pub async fn add_feed(app: &App, raw_url: &str) -> Result<FeedRefresh, FeedError> {
    let (podcast, feed) = create_from_feed(app, raw_url).await?;
    Ok(refresh_with(app, &podcast, Some(feed)).await)
}

/// Reads every feed once, one after the other; a failing feed does not stop the round.
pub async fn refresh_all(app: &App) -> Vec<FeedRefresh> {
    let _round = app.feeds.round.lock().await;
    let podcasts = match all_podcasts(app).await {
        Ok(podcasts) => podcasts,
        Err(e) => {
            tracing::warn!("cannot list podcasts to refresh: {e}");
            return Vec::new();
        }
    };
    let mut reports = Vec::new();
    for podcast in podcasts.iter().filter(|p| p.feed_url.is_some()) {
        reports.push(refresh_with(app, podcast, None).await);
    }
    let failing = reports.iter().filter(|r| r.error.is_some()).count();
    app.feeds
        .failing_feeds
        .store(failing as u64, Ordering::Relaxed);
    reports
}

async fn all_podcasts(app: &App) -> Result<Vec<Podcast>, FeedError> {
    db(app, |c| cadenza_catalog::all_pages(|page| c.podcasts(page))).await
}

/// Reads the timer's rounds until the process stops; `every` of zero turns it off.
pub async fn refresh_periodically(app: Arc<App>, every: Duration) {
    if every.is_zero() {
        return;
    }
    let mut timer = tokio::time::interval(every);
    // The first tick is immediate: a restarted server catches up at once.
    loop {
        timer.tick().await;
        let reports = refresh_all(&app).await;
        let added: usize = reports.iter().map(|r| r.added.len()).sum();
        if added > 0 {
            tracing::info!("podcast feeds: {added} new episodes");
        }
    }
}

/// One reading of one podcast's feed (`feed` when it was just fetched). Never fails: the
/// outcome, failures included, is in the report and recorded on the podcast.
pub async fn refresh_with(app: &App, podcast: &Podcast, feed: Option<Feed>) -> FeedRefresh {
    let mut report = FeedRefresh {
        podcast: podcast.clone(),
        added: Vec::new(),
        skipped: 0,
        failed: Vec::new(),
        items_without_audio: 0,
        error: None,
    };
    let Some(raw_url) = podcast.feed_url.clone() else {
        report.error = Some("this podcast has no feed URL".into());
        return report;
    };
    let (id, holder) = (podcast.id, app.feeds.holder.clone());
    let claim = {
        let holder = holder.clone();
        move |c: &dyn cadenza_catalog::Catalog| c.claim_feed(id, &holder, unix_now(), LEASE_SECS)
    };
    match db(app, claim.clone()).await {
        Ok(true) => {}
        Ok(false) => {
            report.error = Some("another copy of the server is reading this feed right now".into());
            return report;
        }
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    }
    app.feeds.readings.fetch_add(1, Ordering::Relaxed);
    let outcome = read(app, podcast, &raw_url, feed, &mut report, claim).await;
    let recorded = match &outcome {
        Ok(()) if report.failed.is_empty() => None,
        Ok(()) => Some(format!(
            "{} new episodes could not be downloaded (the next reading tries again); first: {}",
            report.failed.len(),
            report.failed[0].reason
        )),
        Err(e) => Some(e.to_string()),
    };
    if let Err(e) = &outcome {
        app.feeds.failed_readings.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("podcast {id}: {e}");
        report.error = Some(e.to_string());
    }
    let note = recorded.clone();
    if let Err(e) = db(app, move |c| {
        c.finish_feed(id, &holder, unix_now(), note.as_deref())
    })
    .await
    {
        tracing::warn!("podcast {id}: cannot record the feed reading: {e}");
    }
    if let Ok(detail) = db(app, move |c| c.podcast(id, 0)).await {
        report.podcast = detail.podcast;
    }
    report
}

async fn read(
    app: &App,
    podcast: &Podcast,
    raw_url: &str,
    feed: Option<Feed>,
    report: &mut FeedRefresh,
    claim: impl Fn(&dyn cadenza_catalog::Catalog) -> Result<bool, CatalogError> + Clone + Send + 'static,
) -> Result<(), FeedError> {
    let feed = match feed {
        Some(feed) => feed,
        None => fetch(app, &feed_url(raw_url)?).await?,
    };
    report.items_without_audio = feed.items_without_audio as u32;
    let id = podcast.id;
    let known: std::collections::HashSet<String> = db(app, move |c| c.podcast(id, 0))
        .await?
        .episodes
        .into_iter()
        .map(|e| e.guid)
        .collect();
    for episode in &feed.episodes {
        if known.contains(&episode.guid) {
            report.skipped += 1;
            continue;
        }
        if !db(app, claim.clone()).await? {
            // The lease ran out and another copy took the feed over: it carries on.
            break;
        }
        match download(app, id, episode).await {
            Ok(uploaded) if uploaded.created => report.added.push(uploaded.episode),
            Ok(_) => report.skipped += 1,
            Err(reason) => {
                tracing::warn!("podcast {id}: episode {}: {reason}", episode.guid);
                report.failed.push(FeedItemFailure {
                    guid: episode.guid.clone(),
                    title: episode.title.clone(),
                    reason,
                });
            }
        }
    }
    Ok(())
}

/// Downloads one enclosure straight into the upload flow (staged, probed, replicated).
async fn download(
    app: &App,
    podcast: i64,
    episode: &FeedEpisode,
) -> Result<cadenza_api::UploadedEpisode, String> {
    let response = app
        .feeds
        .http
        .get(episode.url.clone())
        .send()
        .await
        .map_err(|e| format!("cannot download {}: {}", episode.url, root_cause(&e)))?;
    if !response.status().is_success() {
        return Err(format!(
            "cannot download {}: it answered {}",
            episode.url,
            response.status()
        ));
    }
    let declared = response.content_length();
    let body = Box::pin(response.bytes_stream().map_err(std::io::Error::other));
    let meta = EpisodeMeta {
        guid: episode.guid.clone(),
        title: episode.title.clone(),
        description: episode.description.clone(),
        published_at: episode.published_at,
    };
    crate::library::ingest_episode(app, podcast, body, declared, meta)
        .await
        .map_err(|e| format!("{} was not stored: {e}", episode.url))
}
