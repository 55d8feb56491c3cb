//! `podcasts add FEED_URL`, `podcasts refresh` and `podcasts list`.
//!
//! The server reads feeds and downloads episodes itself (it also does so on its own
//! timer); these commands ask it to and report what it did. Episodes the podcast already
//! has (same guid) are skipped, so adding a feed again picks up only new ones.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use cadenza_api::{Client, ClientError, FeedRefresh, PageRequest};
use indicatif::ProgressBar;

use crate::cli::PodcastsCommand;
use crate::errors::Outcome;
use crate::say;
use crate::ui;

pub async fn run(client: &Client, command: &PodcastsCommand, json: bool) -> Result<Outcome> {
    match command {
        PodcastsCommand::Add { feed_url } => add(client, feed_url, json).await,
        PodcastsCommand::Refresh => refresh(client, json).await,
        PodcastsCommand::List => list(client, json).await,
    }
}

async fn add(client: &Client, feed_url: &str, json: bool) -> Result<Outcome> {
    let spinner = spinner(&format!("reading {}", feed_url.trim()));
    let report = client.add_feed(feed_url).await;
    spinner.finish_and_clear();
    let report = match report {
        Ok(report) => report,
        // The feed's host failed, not the server: a connection problem (exit 2), as when
        // this command read feeds itself.
        Err(ClientError::Api { code, message, .. }) if code == "feed_unreadable" => {
            bail!("{message}")
        }
        Err(e) => return Err(e).context("the server could not add the feed"),
    };
    if json {
        ui::print_json(&report)?;
    } else {
        print_report(&report);
    }
    Ok(outcome(std::slice::from_ref(&report)))
}

async fn refresh(client: &Client, json: bool) -> Result<Outcome> {
    let spinner = spinner("reading every podcast feed");
    let reports = client.refresh_podcasts().await;
    spinner.finish_and_clear();
    let reports = reports.context("the server could not read the feeds")?;
    if json {
        ui::print_json(&reports)?;
    } else if reports.is_empty() {
        say!("No podcast has a feed: `cadenza-admin podcasts add FEED_URL` adds one.");
    } else {
        for report in &reports {
            print_report(report);
        }
    }
    Ok(outcome(&reports))
}

/// Shows that the server is at work (downloads can take minutes); nothing when not a terminal.
fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_draw_target(ui::progress_target());
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Exit 1 when a feed or an episode failed.
fn outcome(reports: &[FeedRefresh]) -> Outcome {
    let failed = reports
        .iter()
        .map(|r| r.failed.len() + usize::from(r.error.is_some()))
        .sum();
    Outcome::from_failures(failed)
}

fn print_report(r: &FeedRefresh) {
    let p = &r.podcast;
    say!(
        "Podcast \"{}\" (id {}) now has {} episodes.",
        p.title,
        p.id,
        p.episode_count
    );
    if let Some(error) = &r.error {
        say!("  ✗ the feed was not read: {error}");
        return;
    }
    say!(
        "Ingested {} new episodes; {} already on the server; {} failed.",
        r.added.len(),
        r.skipped,
        r.failed.len()
    );
    for e in &r.added {
        say!("  + {}", e.title);
    }
    for e in &r.failed {
        say!(
            "  ✗ {}: {}",
            e.title.as_deref().unwrap_or(e.guid.as_str()),
            e.reason
        );
    }
    if r.items_without_audio > 0 {
        say!(
            "{} feed items have no audio enclosure and were left out.",
            r.items_without_audio
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
            match (&p.refresh_error, p.refreshed_at) {
                (Some(error), _) => say!("       ✗ last reading failed: {error}"),
                (None, Some(at)) => say!("       read {}", ui::timestamp(at)),
                (None, None) => {}
            }
        }
    }
    Ok(Outcome::Success)
}
