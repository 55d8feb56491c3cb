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
    use ui::count;
    say!("Catalog");
    say!(
        "  {}, {}, {}, {}",
        count(s.songs, "song", "songs"),
        count(s.albums, "album", "albums"),
        count(s.artists, "artist", "artists"),
        count(s.genres, "genre", "genres")
    );
    say!(
        "  {} with {}; {}, {}, {}",
        count(s.podcasts, "podcast", "podcasts"),
        count(s.episodes, "episode", "episodes"),
        count(s.users, "user", "users"),
        count(s.playlists, "playlist", "playlists"),
        count(s.plays, "play", "plays")
    );
    say!("Storage");
    say!(
        "  {}, {} of content, {} stored with replication ×{}",
        count(s.blobs, "blob", "blobs"),
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
                "  {:>12}  {} ({})",
                ui::bytes(a.bytes),
                a.artist.name,
                count(u64::from(a.artist.song_count), "song", "songs")
            );
        }
    }
    if let Some(server) = &s.server {
        say!("Cluster");
        say!("  answered by {server}");
    }
    if let Some(edge) = &s.edge {
        let span = edge.span_secs();
        say!(
            "  edge: {} logged{} ({})",
            count(edge.requests, "request", "requests"),
            span.map(|s| format!(" over {s:.0} s")).unwrap_or_default(),
            edge.log
        );
        let ratio = edge
            .byte_hit_ratio()
            .map(|r| format!("{:.1}% of CDN bytes from the cache", r * 100.0))
            .unwrap_or_else(|| "no CDN bytes yet".into());
        say!(
            "  CDN: {} {}, {} {}, {} refused; {ratio}",
            edge.cdn_hits,
            ui::plural(edge.cdn_hits, "hit", "hits"),
            edge.cdn_misses,
            ui::plural(edge.cdn_misses, "miss", "misses"),
            edge.cdn_refused
        );
        for server in &edge.servers {
            let rate = span
                .map(|s| format!("  {:.1}/s", server.requests as f64 / s))
                .unwrap_or_default();
            say!(
                "  {:<22} {:>10}{rate}",
                server.addr,
                count(server.requests, "request", "requests")
            );
        }
    }
    if !s.hot.is_empty() {
        say!("Hot songs");
        for h in &s.hot {
            say!(
                "  {:>12}  {} — {} (id {})",
                count(h.plays, "play", "plays"),
                h.song.artist,
                h.song.title,
                h.song.id
            );
        }
    }
}
