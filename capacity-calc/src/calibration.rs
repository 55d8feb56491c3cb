//! Calibration: replace assumptions with values measured on a running
//! server, then extrapolate to the scenario's users and songs.
//!
//! A small deployment knows its real average song size, metadata per song
//! and per user, and plays per user; those averages carry over to the target
//! scale, while counts (users, songs) stay the scenario's. Reports show each
//! measured value beside the one that was assumed.

use crate::error::{InputError, Place};
use crate::inputs::{input, InputSpec};
use crate::ratio::Ratio;
use crate::scenario::Scenario;
use crate::units::{ByteUnits, Unit};

/// Values measured on a live server; `None` keeps the assumption.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Calibration {
    /// Average stored bytes per song → `song_size`.
    pub avg_song_bytes: Option<u64>,
    /// Metadata bytes per song (database size for songs ÷ songs) → `metadata_per_song`.
    pub song_metadata_bytes: Option<u64>,
    /// Metadata bytes per user → `metadata_per_user`.
    pub user_metadata_bytes: Option<u64>,
    /// Plays per day divided by *all* registered users. Becomes
    /// `streams_per_dau` by dividing by the daily active share.
    pub plays_per_user_per_day: Option<f64>,
    /// Measured share of users active per day → `dau_share`.
    pub dau_share: Option<f64>,
    /// Share of CDN bytes the edge served from its cache → `cdn_hit_ratio`.
    pub cdn_hit_ratio: Option<f64>,
    /// Requests per second one server answered at full load → `server_rps`.
    pub server_rps: Option<f64>,
}

impl Calibration {
    /// True when nothing was measured.
    pub fn is_empty(&self) -> bool {
        *self == Calibration::default()
    }
}

fn spec(field: &str, key: &str) -> Result<&'static InputSpec, InputError> {
    input(key).ok_or_else(|| bad(field, format!("internal error: no input named {key}")))
}

fn bad(field: &str, problem: String) -> InputError {
    InputError::new(Place::Calibration, field, problem)
}

fn exact(field: &str, value: f64) -> Result<Ratio, InputError> {
    Ratio::from_f64(value).ok_or_else(|| {
        bad(
            field,
            format!("{value} is not a finite number of at least 0"),
        )
    })
}

impl Scenario {
    /// Replaces assumptions with the measured values in `calibration`,
    /// recording what was assumed so reports can show both.
    pub fn calibrate(&mut self, calibration: &Calibration) -> Result<(), InputError> {
        if let Some(bytes) = calibration.avg_song_bytes {
            self.apply_measured("avg_song_bytes", "song_size", Ratio::from(bytes), None)?;
        }
        if let Some(bytes) = calibration.song_metadata_bytes {
            self.apply_measured(
                "song_metadata_bytes",
                "metadata_per_song",
                Ratio::from(bytes),
                None,
            )?;
        }
        if let Some(bytes) = calibration.user_metadata_bytes {
            self.apply_measured(
                "user_metadata_bytes",
                "metadata_per_user",
                Ratio::from(bytes),
                None,
            )?;
        }
        if let Some(ratio) = calibration.cdn_hit_ratio {
            let note =
                "bytes the edge served from its cache ÷ all CDN bytes (edge log)".to_string();
            let value = exact("cdn_hit_ratio", ratio)?;
            self.apply_measured("cdn_hit_ratio", "cdn_hit_ratio", value, Some(note))?;
        }
        if let Some(rps) = calibration.server_rps {
            let note = "the busiest server's requests per second under full load (edge log)";
            let value = exact("server_rps", rps.round())?;
            self.apply_measured("server_rps", "server_rps", value, Some(note.to_string()))?;
        }
        // Before plays: converting plays per user needs the active share.
        if let Some(share) = calibration.dau_share {
            self.apply_measured("dau_share", "dau_share", exact("dau_share", share)?, None)?;
        }
        if let Some(plays) = calibration.plays_per_user_per_day {
            let field = "plays_per_user_per_day";
            let dau_share = self.assumptions.dau_share;
            let per_dau = exact(field, plays)?.checked_div(dau_share).ok_or_else(|| {
                bad(
                    field,
                    "cannot become plays per active user while dau_share is 0".to_string(),
                )
            })?;
            let note = format!(
                "{plays} plays per user per day ÷ {} active",
                Unit::Share.format(dau_share, ByteUnits::Si)
            );
            self.apply_measured(field, "streams_per_dau", per_dau, Some(note))?;
        }
        Ok(())
    }

    fn apply_measured(
        &mut self,
        field: &str,
        key: &str,
        value: Ratio,
        note: Option<String>,
    ) -> Result<(), InputError> {
        let spec = spec(field, key)?;
        spec.check(value, &spec.unit.format(value, ByteUnits::Si))
            .map_err(|problem| bad(field, problem))?;
        self.set_measured(spec, value, note);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::Origin;

    #[test]
    fn calibration_keys_exist() {
        for key in [
            "song_size",
            "metadata_per_song",
            "metadata_per_user",
            "dau_share",
            "streams_per_dau",
        ] {
            assert_eq!(spec("test", key).unwrap().key, key);
        }
    }

    #[test]
    fn measured_values_replace_assumptions_and_keep_them() {
        let mut s = Scenario::defaults();
        s.calibrate(&Calibration {
            avg_song_bytes: Some(7_340_032),
            song_metadata_bytes: Some(412),
            user_metadata_bytes: Some(2_048),
            plays_per_user_per_day: Some(4.0),
            dau_share: None,
            ..Calibration::default()
        })
        .unwrap();
        let a = &s.assumptions;
        assert_eq!(a.song_size, 7_340_032);
        assert_eq!(a.metadata_per_song, 412);
        assert_eq!(a.metadata_per_user, 2_048);
        // 4 plays per user at 50% daily active = 8 per active user.
        assert_eq!(a.streams_per_dau, Ratio::integer(8));
        assert_eq!(
            s.origin("song_size"),
            Origin::Measured {
                assumed: Ratio::integer(5_000_000),
                note: None
            }
        );
        match s.origin("streams_per_dau") {
            Origin::Measured { assumed, note } => {
                assert_eq!(assumed, Ratio::integer(20));
                assert_eq!(
                    note.as_deref(),
                    Some("4 plays per user per day ÷ 50% active")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.origin("users"), Origin::Default);
        // Extrapolation: the measured averages at the scenario's scale.
        let e = s.estimate().unwrap();
        assert_eq!(
            e.value("raw_audio"),
            Some(Ratio::integer(100_000_000 * 7_340_032))
        );
        assert_eq!(
            e.value("user_metadata"),
            Some(Ratio::integer(2_048 * 1_000_000_000))
        );
        assert_eq!(e.measured().count(), 4);
    }

    #[test]
    fn a_cluster_gives_its_cdn_hit_ratio_and_server_rate() {
        let mut s = Scenario::defaults();
        s.calibrate(&Calibration {
            cdn_hit_ratio: Some(0.97),
            server_rps: Some(1234.4),
            ..Calibration::default()
        })
        .unwrap();
        let a = &s.assumptions;
        assert_eq!(a.cdn_hit_ratio, Ratio::new(97, 100).unwrap());
        assert_eq!(a.server_rps, 1234, "a whole number of requests per second");
        assert!(matches!(
            s.origin("cdn_hit_ratio"),
            Origin::Measured { assumed, note: Some(_) } if assumed == Ratio::new(9, 10).unwrap()
        ));
        let e = s
            .calibrate(&Calibration {
                cdn_hit_ratio: Some(1.5),
                ..Calibration::default()
            })
            .unwrap_err();
        assert!(e.to_string().contains("cdn_hit_ratio"), "{e}");
    }

    #[test]
    fn measured_dau_share_is_used_for_plays() {
        let mut s = Scenario::defaults();
        s.calibrate(&Calibration {
            dau_share: Some(0.25),
            plays_per_user_per_day: Some(2.5),
            ..Calibration::default()
        })
        .unwrap();
        assert_eq!(s.assumptions.dau_share, Ratio::new(1, 4).unwrap());
        assert_eq!(s.assumptions.streams_per_dau, Ratio::integer(10));
    }

    #[test]
    fn bad_measurements_are_refused_by_name() {
        let mut s = Scenario::defaults();
        let e = s
            .calibrate(&Calibration {
                plays_per_user_per_day: Some(f64::NAN),
                ..Calibration::default()
            })
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("calibration plays_per_user_per_day: NaN"),
            "{e}"
        );
        let e = s
            .calibrate(&Calibration {
                dau_share: Some(1.5),
                ..Calibration::default()
            })
            .unwrap_err();
        assert!(
            e.to_string().contains("dau_share") && e.to_string().contains("above 1"),
            "{e}"
        );
        let e = s
            .calibrate(&Calibration {
                dau_share: Some(0.0),
                plays_per_user_per_day: Some(1.0),
                ..Calibration::default()
            })
            .unwrap_err();
        assert!(e.to_string().contains("dau_share is 0"), "{e}");
        assert!(Calibration::default().is_empty());
    }
}
