//! `songs show|delete`.

use std::time::Duration;

use anyhow::{Context, Result};
use cadenza_api::{Client, Song};
use cadenza_units::format_clock;

use crate::cli::SongsCommand;
use crate::errors::Outcome;
use crate::say;
use crate::ui;

pub async fn run(client: &Client, command: &SongsCommand, json: bool) -> Result<Outcome> {
    match command {
        SongsCommand::Show { id } => {
            let song = client
                .song(*id)
                .await
                .with_context(|| format!("cannot show song {id}"))?;
            if json {
                ui::print_json(&song)?;
            } else {
                print(&song);
            }
        }
        SongsCommand::Delete { id } => {
            let song = client
                .song(*id)
                .await
                .with_context(|| format!("cannot delete song {id}"))?;
            client
                .delete_song(*id)
                .await
                .with_context(|| format!("cannot delete song {id}"))?;
            if json {
                ui::print_json(&song)?;
            } else {
                say!(
                    "Deleted song {}: {} — {} ({}).",
                    song.id,
                    song.artist,
                    song.title,
                    song.album
                );
            }
        }
    }
    Ok(Outcome::Success)
}

fn print(s: &Song) {
    let field = |name: &str, value: String| say!("{name:>12}  {value}");
    field("id", s.id.to_string());
    field("title", s.title.clone());
    field("artist", format!("{} (id {})", s.artist, s.artist_id));
    field("album", format!("{} (id {})", s.album, s.album_id));
    let optional = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    field(
        "track",
        match (s.disc, s.track) {
            (Some(disc), Some(track)) => format!("{track} (disc {disc})"),
            (None, Some(track)) => track.to_string(),
            _ => "-".into(),
        },
    );
    field("genre", optional(s.genre.clone()));
    field("year", optional(s.year.map(|y| y.to_string())));
    field(
        "duration",
        format_clock(Duration::from_millis(s.duration_ms)),
    );
    let mut format = format!("{} ({})", s.codec, s.content_type);
    if let Some(kbps) = s.bitrate_kbps {
        format.push_str(&format!(", {kbps} kbit/s"));
    }
    if let Some(rate) = s.sample_rate {
        format.push_str(&format!(", {rate} Hz"));
    }
    if let Some(channels) = s.channels {
        format.push_str(&format!(", {channels} ch"));
    }
    field("format", format);
    field("size", format!("{} ({} bytes)", ui::bytes(s.size), s.size));
    field("sha256", s.hash.clone());
    field("added", ui::timestamp(s.created_at));
}
