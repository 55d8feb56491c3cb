//! `capacity`: the `cadenza-capacity` model, optionally calibrated with what a live
//! server measured. All the arithmetic lives in the capacity library.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use cadenza_api::{EdgeStats, Stats};
use cadenza_capacity::{Calibration, Measured, PlayRate};

use crate::cli::CapacityCommand;
use crate::connect;
use crate::errors::Outcome;

pub async fn run(server: Option<&str>, args: &CapacityCommand, json: bool) -> Result<Outcome> {
    let mut model = args.model.clone();
    model.json |= json;
    let calibration = if args.calibrate {
        // The file first: a wrong path fails before the server is asked anything.
        let listeners_per_server = match &args.listeners_from {
            Some(path) => Some(listeners_from(path)?),
            None => args.listeners_per_server,
        };
        let client = connect::admin(server).await?;
        let stats = client
            .stats()
            .await
            .context("cannot read the server's measurements for --calibrate")?;
        let mut calibration = calibration_from(&stats, args.full_load);
        calibration.listeners_per_server = listeners_per_server;
        if let Some(edge) = stats.edge.as_ref().filter(|_| !args.full_load) {
            if let Some(rate) = busiest_server_rate(edge) {
                eprintln!(
                    "note: the busiest server answered {rate:.1} requests/s on average (edge log); \
                     it becomes server_rps only with --full-load, when the cluster was measured saturated"
                );
            }
        }
        if calibration.is_empty() {
            eprintln!("note: the server has no songs, users or plays yet, so there is nothing to calibrate with; showing the assumptions");
        }
        Some(calibration)
    } else {
        None
    };
    let report = cadenza_capacity::run(&model, calibration.as_ref())?;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(report.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write the report")
        }
        _ => Ok(Outcome::Success),
    }
}

/// The listener limit in a file the listener benchmark wrote.
fn listeners_from(path: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the listener benchmark's result {}",
            path.display()
        )
    })?;
    limit_line(&text).with_context(|| {
        format!(
            "{} holds no listener limit: expected a line `LIMIT listeners=N ...` as \
             `cadenza-bench listeners --find-limit` prints it (scripts/bench.sh with \
             BENCH_ONLY=listeners writes target/bench/listeners.txt)",
            path.display()
        )
    })
}

/// N from the benchmark's `LIMIT listeners=N failed_at=...` line.
fn limit_line(text: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix("LIMIT "))?;
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix("listeners="))?
        .parse()
        .ok()
}

/// The busiest server's average request rate over the edge log's span.
fn busiest_server_rate(edge: &EdgeStats) -> Option<f64> {
    let span = edge.span_secs()?;
    let busiest = edge.servers.iter().map(|s| s.requests).max()?;
    Some(busiest as f64 / span)
}

/// The server's measured averages, each with what it is over; nothing at all where
/// nothing was measured yet (no songs, no users, no plays). Whether a sample is big
/// enough to use is the capacity model's call. Behind an edge whose log the server reads,
/// the CDN's byte hit ratio too, and (when the cluster ran at `full_load`) the busiest
/// server's request rate.
pub fn calibration_from(stats: &Stats, full_load: bool) -> Calibration {
    let measured = |value: u64, sample: u64| (sample > 0).then_some(Measured { value, sample });
    let edge = stats.edge.as_ref();
    Calibration {
        cdn_hit_ratio: edge.and_then(EdgeStats::byte_hit_ratio),
        server_rps: edge.filter(|_| full_load).and_then(busiest_server_rate),
        avg_song_bytes: measured(stats.avg_song_bytes, stats.songs),
        song_metadata_bytes: measured(stats.song_metadata_bytes, stats.songs),
        user_metadata_bytes: measured(stats.user_metadata_bytes, stats.users),
        plays: (stats.users > 0 && stats.recent_plays > 0).then_some(PlayRate {
            per_user_per_day: stats.plays_per_user_per_day,
            users: stats.users,
            plays: stats.recent_plays,
            days: stats.play_window_days,
        }),
        dau_share: None,
        listeners_per_server: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listener_limit_is_read_from_the_benchmark_output() {
        let output = "RESULT listeners=2000 underruns=0\nRESULT listeners=4000 underruns=3\n\
                      LIMIT listeners=2500 failed_at=3000\n";
        assert_eq!(limit_line(output), Some(2500));
        assert_eq!(limit_line("LIMIT listeners=800 failed_at=none"), Some(800));
        for wrong in [
            "",
            "RESULT listeners=2000",
            "LIMIT failed_at=9",
            "LIMIT listeners=x",
        ] {
            assert_eq!(limit_line(wrong), None, "{wrong:?}");
        }
    }

    fn stats() -> Stats {
        Stats {
            songs: 20,
            albums: 5,
            artists: 4,
            genres: 3,
            users: 2,
            playlists: 0,
            podcasts: 0,
            episodes: 0,
            plays: 0,
            blobs: 20,
            logical_bytes: 400_000,
            stored_bytes: 1_200_000,
            replication_factor: 3,
            volumes: vec![],
            avg_song_bytes: 20_000,
            catalog_bytes: 100_000,
            song_metadata_bytes: 310,
            user_metadata_bytes: 0,
            plays_per_user_per_day: 0.0,
            recent_plays: 0,
            play_window_days: 30.0,
            largest_artists: vec![],
            hot: vec![],
            server: Some("web1".into()),
            edge: None,
        }
    }

    #[test]
    fn measurements_carry_their_sample_and_unmeasured_ones_are_left_out() {
        let c = calibration_from(&stats(), false);
        let over_songs = |value| Some(Measured { value, sample: 20 });
        assert_eq!(c.avg_song_bytes, over_songs(20_000));
        assert_eq!(c.song_metadata_bytes, over_songs(310));
        assert_eq!(
            c.user_metadata_bytes,
            Some(Measured {
                value: 0,
                sample: 2
            })
        );
        assert_eq!(c.plays, None, "no plays yet");
        let played = Stats {
            recent_plays: 7,
            plays_per_user_per_day: 3.5,
            play_window_days: 1.0,
            ..stats()
        };
        assert_eq!(
            calibration_from(&played, false).plays,
            Some(PlayRate {
                per_user_per_day: 3.5,
                users: 2,
                plays: 7,
                days: 1.0
            })
        );
        let empty = Stats {
            songs: 0,
            users: 0,
            ..stats()
        };
        assert!(calibration_from(&empty, false).is_empty());
    }

    #[test]
    fn the_edge_gives_the_hit_ratio_and_at_full_load_the_server_rate() {
        let mut s = stats();
        s.edge = Some(EdgeStats {
            cdn_hit_bytes: 900,
            cdn_miss_bytes: 100,
            first_at: Some(100.0),
            last_at: Some(110.0),
            servers: vec![
                cadenza_api::ServerRequests {
                    addr: "127.0.0.1:1".into(),
                    requests: 500,
                },
                cadenza_api::ServerRequests {
                    addr: "127.0.0.1:2".into(),
                    requests: 800,
                },
            ],
            ..EdgeStats::default()
        });
        let c = calibration_from(&s, false);
        assert_eq!(c.cdn_hit_ratio, Some(0.9));
        assert_eq!(
            c.server_rps, None,
            "a quiet cluster's rate is not its capacity"
        );
        assert_eq!(calibration_from(&s, true).server_rps, Some(80.0));
    }

    #[test]
    fn a_calibrated_estimate_uses_the_measured_song_size_and_shows_the_rest() {
        let args = cadenza_capacity::CapacityArgs::default();
        let assumed = cadenza_capacity::run(&args, None).unwrap();
        let measured =
            cadenza_capacity::run(&args, Some(&calibration_from(&stats(), false))).unwrap();
        assert_ne!(assumed, measured);
        let row = |key: &str| {
            measured
                .lines()
                .find(|l| l.trim_start().starts_with(key))
                .unwrap_or_else(|| panic!("no {key} row in {measured}"))
                .to_string()
        };
        // 20 songs are enough for the average size, not for metadata per song.
        let size = row("song_size");
        assert!(size.contains("20 kB") || size.contains("20 KB"), "{size}");
        let metadata = row("metadata_per_song");
        assert!(
            metadata.contains("310 B") && metadata.contains("over 20 songs"),
            "{metadata}"
        );
        assert!(metadata.contains("not used"), "{metadata}");
    }
}
