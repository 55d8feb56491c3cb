//! `capacity`: the `cadenza-capacity` model, optionally calibrated with what a live
//! server measured. All the arithmetic lives in the capacity library.

use std::io::Write;

use anyhow::{Context, Result};
use cadenza_api::{EdgeStats, Stats};
use cadenza_capacity::Calibration;

use crate::cli::CapacityCommand;
use crate::connect;
use crate::errors::Outcome;

pub async fn run(server: Option<&str>, args: &CapacityCommand, json: bool) -> Result<Outcome> {
    let mut model = args.model.clone();
    model.json |= json;
    let calibration = if args.calibrate {
        let client = connect::admin(server).await?;
        let stats = client
            .stats()
            .await
            .context("cannot read the server's measurements for --calibrate")?;
        let calibration = calibration_from(&stats, args.full_load);
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

/// The busiest server's average request rate over the edge log's span.
fn busiest_server_rate(edge: &EdgeStats) -> Option<f64> {
    let span = edge.span_secs()?;
    let busiest = edge.servers.iter().map(|s| s.requests).max()?;
    Some(busiest as f64 / span)
}

/// The server's measured averages; a zero means "not measured yet" (no songs, no plays),
/// so the assumption stays. Behind an edge whose log the server reads, the CDN's byte hit
/// ratio too, and (when the cluster ran at `full_load`) the busiest server's request rate.
pub fn calibration_from(stats: &Stats, full_load: bool) -> Calibration {
    let measured = |n: u64| (n > 0).then_some(n);
    let edge = stats.edge.as_ref();
    Calibration {
        cdn_hit_ratio: edge.and_then(EdgeStats::byte_hit_ratio),
        server_rps: edge.filter(|_| full_load).and_then(busiest_server_rate),
        avg_song_bytes: measured(stats.avg_song_bytes),
        song_metadata_bytes: measured(stats.song_metadata_bytes),
        user_metadata_bytes: measured(stats.user_metadata_bytes),
        plays_per_user_per_day: (stats.plays_per_user_per_day > 0.0)
            .then_some(stats.plays_per_user_per_day),
        dau_share: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            largest_artists: vec![],
            hot: vec![],
            server: Some("web1".into()),
            edge: None,
        }
    }

    #[test]
    fn measured_values_replace_assumptions_and_zeros_do_not() {
        let c = calibration_from(&stats(), false);
        assert_eq!(c.avg_song_bytes, Some(20_000));
        assert_eq!(c.song_metadata_bytes, Some(310));
        assert_eq!(c.user_metadata_bytes, None);
        assert_eq!(c.plays_per_user_per_day, None);
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
    fn a_calibrated_estimate_uses_the_measured_song_size() {
        let args = cadenza_capacity::CapacityArgs::default();
        let assumed = cadenza_capacity::run(&args, None).unwrap();
        let measured =
            cadenza_capacity::run(&args, Some(&calibration_from(&stats(), false))).unwrap();
        assert_ne!(assumed, measured);
        assert!(
            measured.contains("20 kB") || measured.contains("20 KB"),
            "{measured}"
        );
    }
}
