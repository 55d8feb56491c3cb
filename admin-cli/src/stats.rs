//! `stats`: what the server holds and how it is used.

use anyhow::{Context, Result};
use cadenza_api::{Client, Stats};

use crate::errors::Outcome;
use crate::say;
use crate::ui;

pub async fn run(client: &Client, json: bool) -> Result<Outcome> {
    let stats = client
        .stats()
        .await
        .context("cannot read the server's stats")?;
    if json {
        ui::print_json(&stats)?;
    } else {
        print(&stats);
    }
    Ok(Outcome::Success)
}

fn print(s: &Stats) {
    say!("Catalog");
    say!(
        "  {} songs, {} albums, {} artists, {} genres",
        s.songs,
        s.albums,
        s.artists,
        s.genres
    );
    say!(
        "  {} podcasts with {} episodes; {} users, {} playlists, {} plays",
        s.podcasts,
        s.episodes,
        s.users,
        s.playlists,
        s.plays
    );
    say!("Storage");
    say!(
        "  {} blobs, {} of content, {} stored with replication ×{}",
        s.blobs,
        ui::bytes(s.logical_bytes),
        ui::bytes(s.stored_bytes),
        s.replication_factor
    );
    say!(
        "  catalog database {}; average song {}",
        ui::bytes(s.catalog_bytes),
        ui::bytes(s.avg_song_bytes)
    );
    for v in &s.volumes {
        let state = if v.reachable { "" } else { "  UNREACHABLE" };
        say!(
            "  {:<8} {:>8} blobs {:>12}  {}{state}",
            v.name,
            v.blobs,
            ui::bytes(v.bytes),
            v.location
        );
    }
    if !s.largest_artists.is_empty() {
        say!("Largest artists");
        for a in &s.largest_artists {
            say!(
                "  {:>12}  {} ({} songs)",
                ui::bytes(a.bytes),
                a.artist.name,
                a.artist.song_count
            );
        }
    }
    if !s.hot.is_empty() {
        say!("Hot songs");
        for h in &s.hot {
            say!(
                "  {:>6} plays  {} — {} (id {})",
                h.plays,
                h.song.artist,
                h.song.title,
                h.song.id
            );
        }
    }
}
