//! Calibration: replace assumptions with values measured on a running
//! server, then extrapolate to the scenario's users and songs.
//!
//! A small deployment knows its real average song size, metadata per song
//! and per user, and plays per user; those averages carry over to the target
//! scale, while counts (users, songs) stay the scenario's. An average over a
//! handful of songs or users says little, though: each measured value comes
//! with its sample size, and below a minimum sample the assumption stays
//! (reports show the measured value, its sample and why it was not used).
//! Listeners per server come from the listener benchmark instead (see
//! BENCHMARKS.md), measured on the machine it ran on.

use crate::error::{InputError, Place};
use crate::inputs::{input, InputSpec};
use crate::ratio::Ratio;
use crate::scenario::Scenario;
use crate::units::{ByteUnits, Unit};

/// What an average is over, and the least of them it needs to be trusted.
#[derive(Clone, Copy, Debug)]
pub struct SampleRule {
    pub one: &'static str,
    pub many: &'static str,
    pub min: u64,
    /// Completes "N songs are fewer than the MIN songs ...".
    pub needs: &'static str,
}

/// Song sizes vary with length and format: over fewer songs one long live
/// recording moves the mean by a tenth.
pub const SONGS_FOR_SIZE: SampleRule = SampleRule {
    one: "song",
    many: "songs",
    min: 20,
    needs: "an average song size needs",
};
/// Every table and index of a catalog takes pages however few rows it holds
/// (about 120 KB for the song tables and their search indexes); below this
/// many songs those pages outweigh the songs' own few hundred bytes each.
pub const SONGS_FOR_METADATA: SampleRule = SampleRule {
    one: "song",
    many: "songs",
    min: 1_000,
    needs: "it needs before the tables' fixed pages stop dominating",
};
/// The same for users: the user tables' first pages are about 90 KB, which
/// 2 users "measured" as 45 KB each.
pub const USERS_FOR_METADATA: SampleRule = SampleRule {
    one: "user",
    many: "users",
    min: 1_000,
    needs: "it needs before the tables' fixed pages stop dominating",
};
/// A few people's habits are not a population's: 2 users with 7 plays
/// "measured" 3.5 plays per user per day. Shares of active users alike.
pub const USERS_FOR_RATES: SampleRule = SampleRule {
    one: "user",
    many: "users",
    min: 100,
    needs: "a rate per user needs",
};
/// See [`USERS_FOR_RATES`]: the plays behind a play rate.
pub const PLAYS_FOR_RATES: SampleRule = SampleRule {
    one: "play",
    many: "plays",
    min: 1_000,
    needs: "a rate per user needs",
};

impl SampleRule {
    /// "1 song", "412 songs".
    fn count(&self, n: u64) -> String {
        let amount = Unit::Count.format(Ratio::from(n), ByteUnits::Si);
        format!("{amount} {}", if n == 1 { self.one } else { self.many })
    }

    /// Why a sample of `n` is too small, or `None` when it is enough.
    fn shortfall(&self, n: u64) -> Option<String> {
        (n < self.min).then(|| {
            format!(
                "{} {} fewer than the {} {}",
                self.count(n),
                if n == 1 { "is" } else { "are" },
                self.count(self.min),
                self.needs
            )
        })
    }
}

/// An average measured on a live server and how many things it is over.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Measured<T> {
    pub value: T,
    /// Songs or users the average is over (see each field of [`Calibration`]).
    pub sample: u64,
}

/// Plays per day divided by *all* registered users, and what it rests on.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlayRate {
    pub per_user_per_day: f64,
    /// Registered users.
    pub users: u64,
    /// Plays counted, over `days`.
    pub plays: u64,
    pub days: f64,
}

/// Values measured on a live server; `None` keeps the assumption.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Calibration {
    /// Average stored bytes per song, over songs → `song_size`.
    pub avg_song_bytes: Option<Measured<u64>>,
    /// Metadata bytes per song (database size for songs ÷ songs), over songs
    /// → `metadata_per_song`.
    pub song_metadata_bytes: Option<Measured<u64>>,
    /// Metadata bytes per user, over users → `metadata_per_user`.
    pub user_metadata_bytes: Option<Measured<u64>>,
    /// Becomes `streams_per_dau` by dividing by the daily active share.
    pub plays: Option<PlayRate>,
    /// Measured share of users active per day, over users → `dau_share`.
    pub dau_share: Option<Measured<f64>>,
    /// Concurrent listeners one server carried with no underrun and no failed
    /// request, as the listener benchmark found (`cadenza-bench listeners
    /// --find-limit`) → `server_listeners`.
    pub listeners_per_server: Option<u64>,
    /// Share of CDN bytes the edge served from its cache (the edge log) →
    /// `cdn_hit_ratio`.
    pub cdn_hit_ratio: Option<f64>,
    /// Requests per second the busiest server answered while the cluster was
    /// measured at full load (the edge log) → `server_rps`.
    pub server_rps: Option<f64>,
}

impl Calibration {
    /// True when nothing was measured.
    pub fn is_empty(&self) -> bool {
        *self == Calibration::default()
    }
}

/// What calibration did with one measured value, for reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibrated {
    /// The input the value is for, and its unit.
    pub key: &'static str,
    pub unit: Unit,
    /// The value as that input would take it.
    pub value: Ratio,
    /// What it rests on, e.g. "over 412 songs".
    pub sample: String,
    /// Why the assumption stayed; `None` when the measured value replaced it.
    pub kept_assumption: Option<String>,
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
    /// Replaces assumptions with the measured values in `calibration` that
    /// rest on enough samples, recording what was assumed so reports can show
    /// both, and what was measured but not used and why.
    pub fn calibrate(&mut self, calibration: &Calibration) -> Result<(), InputError> {
        let averages = [
            (
                "avg_song_bytes",
                "song_size",
                calibration.avg_song_bytes,
                SONGS_FOR_SIZE,
            ),
            (
                "song_metadata_bytes",
                "metadata_per_song",
                calibration.song_metadata_bytes,
                SONGS_FOR_METADATA,
            ),
            (
                "user_metadata_bytes",
                "metadata_per_user",
                calibration.user_metadata_bytes,
                USERS_FOR_METADATA,
            ),
        ];
        for (field, key, measured, rule) in averages {
            if let Some(m) = measured {
                self.measure_over(field, key, Ratio::from(m.value), m.sample, rule)?;
            }
        }
        // Before plays: converting plays per user needs the active share.
        if let Some(m) = calibration.dau_share {
            let value = exact("dau_share", m.value)?;
            self.measure_over("dau_share", "dau_share", value, m.sample, USERS_FOR_RATES)?;
        }
        if let Some(plays) = calibration.plays {
            self.measure_plays(&plays)?;
        }
        if let Some(listeners) = calibration.listeners_per_server {
            let sample = "from the listener benchmark's largest run with no underrun".to_string();
            let value = Ratio::from(listeners);
            self.measure(
                "listeners_per_server",
                "server_listeners",
                value,
                sample,
                None,
                None,
            )?;
        }
        if let Some(ratio) = calibration.cdn_hit_ratio {
            let value = exact("cdn_hit_ratio", ratio)?;
            let note = "bytes the edge served from its cache ÷ all CDN bytes".to_string();
            let sample = "from the edge log".to_string();
            self.measure(
                "cdn_hit_ratio",
                "cdn_hit_ratio",
                value,
                sample,
                None,
                Some(note),
            )?;
        }
        if let Some(rps) = calibration.server_rps {
            let value = exact("server_rps", rps.round())?;
            let note = "the busiest server's requests per second under full load".to_string();
            let sample = "from the edge log".to_string();
            self.measure("server_rps", "server_rps", value, sample, None, Some(note))?;
        }
        Ok(())
    }

    /// An average over `sample` things, used when there are enough of them.
    fn measure_over(
        &mut self,
        field: &str,
        key: &str,
        value: Ratio,
        sample: u64,
        rule: SampleRule,
    ) -> Result<(), InputError> {
        let short = rule.shortfall(sample);
        let over = format!("over {}", rule.count(sample));
        self.measure(field, key, value, over, short, None)
    }

    fn measure_plays(&mut self, plays: &PlayRate) -> Result<(), InputError> {
        let field = "plays_per_user_per_day";
        let dau_share = self.assumptions.dau_share;
        let per_dau = exact(field, plays.per_user_per_day)?
            .checked_div(dau_share)
            .ok_or_else(|| {
                bad(
                    field,
                    "cannot become plays per active user while dau_share is 0".to_string(),
                )
            })?;
        let days = exact(field, plays.days)?;
        let sample = format!(
            "over {} by {} in {}",
            PLAYS_FOR_RATES.count(plays.plays),
            USERS_FOR_RATES.count(plays.users),
            match days.round_to_string(1).as_str() {
                "1" => "1 day".to_string(),
                d => format!("{d} days"),
            }
        );
        let short = USERS_FOR_RATES
            .shortfall(plays.users)
            .or_else(|| PLAYS_FOR_RATES.shortfall(plays.plays));
        let note = format!(
            "{} plays per user per day ÷ {} active",
            plays.per_user_per_day,
            Unit::Share.format(dau_share, ByteUnits::Si)
        );
        self.measure(field, "streams_per_dau", per_dau, sample, short, Some(note))
    }

    /// Checks a measured value and uses it unless `short` says why not;
    /// either way it is listed for reports.
    fn measure(
        &mut self,
        field: &str,
        key: &str,
        value: Ratio,
        sample: String,
        short: Option<String>,
        note: Option<String>,
    ) -> Result<(), InputError> {
        let spec = spec(field, key)?;
        spec.check(value, &spec.unit.format(value, ByteUnits::Si))
            .map_err(|problem| bad(field, problem))?;
        if short.is_none() {
            let measured = format!("measured {sample}");
            let note = match note {
                Some(note) => format!("{note}; {measured}"),
                None => measured,
            };
            self.set_measured(spec, value, Some(note));
        }
        self.calibration.push(Calibrated {
            key: spec.key,
            unit: spec.unit,
            value,
            sample,
            kept_assumption: short,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::Origin;

    #[test]
    fn a_short_sample_is_named_in_a_sentence() {
        assert_eq!(
            USERS_FOR_RATES.shortfall(1).as_deref(),
            Some("1 user is fewer than the 100 users a rate per user needs")
        );
        assert_eq!(
            SONGS_FOR_SIZE.shortfall(3).as_deref(),
            Some("3 songs are fewer than the 20 songs an average song size needs")
        );
        assert_eq!(SONGS_FOR_SIZE.shortfall(20), None);
    }

    fn measured<T>(value: T, sample: u64) -> Option<Measured<T>> {
        Some(Measured { value, sample })
    }

    fn plays(per_user_per_day: f64, users: u64, plays: u64, days: f64) -> Option<PlayRate> {
        Some(PlayRate {
            per_user_per_day,
            users,
            plays,
            days,
        })
    }

    /// A server big enough for every measurement to count.
    fn enough() -> Calibration {
        Calibration {
            avg_song_bytes: measured(7_340_032, 50_000),
            song_metadata_bytes: measured(412, 50_000),
            user_metadata_bytes: measured(2_048, 3_000),
            plays: plays(4.0, 3_000, 360_000, 30.0),
            dau_share: None,
            listeners_per_server: None,
            cdn_hit_ratio: None,
            server_rps: None,
        }
    }

    #[test]
    fn calibration_keys_exist() {
        for key in [
            "song_size",
            "metadata_per_song",
            "metadata_per_user",
            "dau_share",
            "streams_per_dau",
            "server_listeners",
        ] {
            assert_eq!(spec("test", key).unwrap().key, key);
        }
    }

    #[test]
    fn measured_values_replace_assumptions_and_keep_them() {
        let mut s = Scenario::defaults();
        s.calibrate(&enough()).unwrap();
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
                note: Some("measured over 50,000 songs".to_string())
            }
        );
        match s.origin("streams_per_dau") {
            Origin::Measured { assumed, note } => {
                assert_eq!(assumed, Ratio::integer(20));
                assert_eq!(
                    note.as_deref(),
                    Some(
                        "4 plays per user per day ÷ 50% active; \
                         measured over 360,000 plays by 3,000 users in 30 days"
                    )
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.origin("users"), Origin::Default);
        assert_eq!(s.calibration.len(), 4);
        assert!(s.calibration.iter().all(|c| c.kept_assumption.is_none()));
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
        assert_eq!(e.calibration, s.calibration);
    }

    #[test]
    fn small_samples_keep_the_assumption_and_say_why() {
        // What a server with 2 users, 7 plays and 12 songs measures.
        let mut s = Scenario::defaults();
        s.calibrate(&Calibration {
            avg_song_bytes: measured(4_100_000, 12),
            song_metadata_bytes: measured(9_800, 12),
            user_metadata_bytes: measured(45_100, 2),
            plays: plays(3.5, 2, 7, 1.0),
            ..Calibration::default()
        })
        .unwrap();
        assert_eq!(s.assumptions, crate::inputs::Assumptions::default());
        for key in ["song_size", "metadata_per_user", "streams_per_dau"] {
            assert_eq!(s.origin(key), Origin::Default, "{key}");
        }
        let why: Vec<(&str, &str, &str)> = s
            .calibration
            .iter()
            .map(|c| {
                let kept = c.kept_assumption.as_deref().expect("kept");
                (c.key, c.sample.as_str(), kept)
            })
            .collect();
        assert_eq!(
            why[0],
            (
                "song_size",
                "over 12 songs",
                "12 songs are fewer than the 20 songs an average song size needs"
            )
        );
        assert_eq!(why[2].0, "metadata_per_user");
        assert!(why[2]
            .2
            .starts_with("2 users are fewer than the 1,000 users"));
        assert_eq!(
            why[3],
            (
                "streams_per_dau",
                "over 7 plays by 2 users in 1 day",
                "2 users are fewer than the 100 users a rate per user needs"
            )
        );
        // Enough users but too few plays is still too little.
        let mut s = Scenario::defaults();
        s.calibrate(&Calibration {
            plays: plays(0.001, 500, 15, 30.0),
            ..Calibration::default()
        })
        .unwrap();
        assert_eq!(
            s.calibration[0].kept_assumption.as_deref(),
            Some("15 plays are fewer than the 1,000 plays a rate per user needs")
        );
        // The report shows the measured value beside the kept assumption.
        let e = s.estimate().unwrap();
        assert_eq!(e.measured().count(), 0);
        assert_eq!(e.calibration.len(), 1);
    }

    #[test]
    fn listeners_per_server_size_the_servers() {
        let mut s = Scenario::defaults();
        s.calibrate(&Calibration {
            listeners_per_server: Some(2_000),
            ..Calibration::default()
        })
        .unwrap();
        assert_eq!(s.assumptions.server_listeners, 2_000);
        let e = s.estimate().unwrap();
        assert_eq!(
            e.value("servers_for_listeners"),
            Some(Ratio::integer(5_209))
        );
        assert_eq!(e.value("web_servers"), Some(Ratio::integer(5_209)));
        let e = s
            .calibrate(&Calibration {
                listeners_per_server: Some(0),
                ..Calibration::default()
            })
            .unwrap_err();
        assert!(e.to_string().contains("listeners_per_server"), "{e}");
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
            dau_share: measured(0.25, 5_000),
            plays: plays(2.5, 5_000, 375_000, 30.0),
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
                plays: plays(f64::NAN, 5_000, 5_000, 30.0),
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
                dau_share: measured(1.5, 5_000),
                ..Calibration::default()
            })
            .unwrap_err();
        assert!(
            e.to_string().contains("dau_share") && e.to_string().contains("above 1"),
            "{e}"
        );
        let e = s
            .calibrate(&Calibration {
                dau_share: measured(0.0, 5_000),
                plays: plays(1.0, 5_000, 5_000, 30.0),
                ..Calibration::default()
            })
            .unwrap_err();
        assert!(e.to_string().contains("dau_share is 0"), "{e}");
        assert!(Calibration::default().is_empty());
    }
}
