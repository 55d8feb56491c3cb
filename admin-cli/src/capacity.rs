//! `capacity`: the `cadenza-capacity` model, optionally calibrated with what a live
//! server measured. All the arithmetic lives in the capacity library.

use std::io::Write;

use anyhow::{Context, Result};
use cadenza_api::Stats;
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
        let calibration = calibration_from(&stats);
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

/// The server's measured averages; a zero means "not measured yet" (no songs, no plays),
/// so the assumption stays.
pub fn calibration_from(stats: &Stats) -> Calibration {
    let measured = |n: u64| (n > 0).then_some(n);
    Calibration {
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
        }
    }

    #[test]
    fn measured_values_replace_assumptions_and_zeros_do_not() {
        let c = calibration_from(&stats());
        assert_eq!(c.avg_song_bytes, Some(20_000));
        assert_eq!(c.song_metadata_bytes, Some(310));
        assert_eq!(c.user_metadata_bytes, None);
        assert_eq!(c.plays_per_user_per_day, None);
    }

    #[test]
    fn a_calibrated_estimate_uses_the_measured_song_size() {
        let args = cadenza_capacity::CapacityArgs::default();
        let assumed = cadenza_capacity::run(&args, None).unwrap();
        let measured = cadenza_capacity::run(&args, Some(&calibration_from(&stats()))).unwrap();
        assert_ne!(assumed, measured);
        assert!(
            measured.contains("20 kB") || measured.contains("20 KB"),
            "{measured}"
        );
    }
}
