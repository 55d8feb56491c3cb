//! Series of estimates along one axis: the projection over years and
//! `--sweep` over one input. Both are shown as one table row per step.

use crate::error::Error;
use crate::inputs::{Assumptions, INPUTS};
use crate::model::{evaluate, Term};
use crate::ratio::Ratio;
use crate::units::Unit;

/// Outputs a series table shows (when they change along the series).
pub const HEADLINE: &[&str] = &[
    "replicated_audio",
    "storage_nodes",
    "user_metadata_replicated",
    "daily_egress",
    "peak_cdn_bandwidth",
    "peak_origin_bandwidth",
    "peak_stream_starts",
    "web_servers",
];

/// One step: the axis value and every input and output at that step.
#[derive(Clone, Debug)]
pub struct SeriesRow {
    pub axis: Ratio,
    pub values: Vec<Term>,
}

impl SeriesRow {
    pub fn get(&self, name: &str) -> Option<&Term> {
        self.values.iter().find(|t| t.name == name)
    }
}

/// A table of estimates along one axis.
#[derive(Clone, Debug)]
pub struct Series {
    /// What varies: `"year"` or an input key.
    pub axis: &'static str,
    pub axis_unit: Unit,
    /// One line saying what the series is.
    pub title: String,
    pub rows: Vec<SeriesRow>,
    /// Columns to show besides the axis, before filtering unchanged ones.
    pub candidates: Vec<&'static str>,
}

impl Series {
    /// Candidate columns split into those that change along the series and
    /// those that stay the same (reported once, not per row).
    pub fn columns(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        self.candidates
            .iter()
            .filter(|&&name| name != self.axis)
            .partition(|&&name| {
                let first = self.rows.first().and_then(|r| r.get(name)).map(|t| t.value);
                self.rows
                    .iter()
                    .any(|r| r.get(name).map(|t| t.value) != first)
            })
    }
}

/// Every input and output of one evaluation.
pub(crate) fn snapshot(assumptions: &Assumptions) -> Result<Vec<Term>, Error> {
    let outputs = evaluate(assumptions)?;
    let inputs = INPUTS.iter().map(|spec| Term {
        name: spec.key,
        value: spec.get(assumptions),
        unit: spec.unit,
    });
    let outputs = outputs.into_iter().map(|o| Term {
        name: o.spec.key,
        value: o.value,
        unit: o.spec.unit,
    });
    Ok(inputs.chain(outputs).collect())
}

/// `count × (1 + growth)`, rounded to a whole count.
fn grow(count: u64, growth: Ratio, formula: &'static str) -> Result<u64, Error> {
    let overflow = || Error::Overflow {
        output: "projection",
        formula,
    };
    let factor = Ratio::ONE.checked_add(growth).ok_or_else(overflow)?;
    let grown = Ratio::from(count)
        .checked_mul(factor)
        .ok_or_else(overflow)?;
    u64::try_from(grown.round()).map_err(|_| overflow())
}

/// Grows users and songs year by year, rounding each year to whole users and
/// songs, and estimates every year from now (year 0) to `years` ahead.
pub fn project(base: &Assumptions) -> Result<Series, Error> {
    let mut year = base.clone();
    let mut rows = Vec::new();
    for n in 0..=base.years {
        if n > 0 {
            year.users = grow(year.users, base.user_growth, "users × (1 + user_growth)")?;
            year.songs = grow(
                year.songs,
                base.catalog_growth,
                "songs × (1 + catalog_growth)",
            )?;
        }
        rows.push(SeriesRow {
            axis: Ratio::from(n),
            values: snapshot(&year)?,
        });
    }
    let mut candidates = vec!["users", "songs"];
    candidates.extend_from_slice(HEADLINE);
    Ok(Series {
        axis: "year",
        axis_unit: Unit::Years,
        title: format!(
            "Projection: users {} a year, catalogue {} a year",
            growth_text(base.user_growth),
            growth_text(base.catalog_growth)
        ),
        rows,
        candidates,
    })
}

fn growth_text(growth: Ratio) -> String {
    let pct = growth
        .checked_mul(Ratio::integer(100))
        .map_or_else(|| growth.to_exact_string(), |p| p.round_to_string(2));
    format!("+{pct}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_compounds_growth_per_year() {
        let a = Assumptions::default();
        let s = project(&a).unwrap();
        assert_eq!(s.rows.len(), 4);
        let users: Vec<u128> = s
            .rows
            .iter()
            .map(|r| r.get("users").unwrap().value.floor())
            .collect();
        assert_eq!(
            users,
            [1_000_000_000, 1_200_000_000, 1_440_000_000, 1_728_000_000]
        );
        let songs = s.rows[3].get("songs").unwrap().value;
        assert_eq!(songs, Ratio::integer(172_800_000));
        // Year 0 is today's estimate.
        let today = evaluate(&a).unwrap();
        let nodes = today.iter().find(|o| o.key() == "storage_nodes").unwrap();
        assert_eq!(s.rows[0].get("storage_nodes").unwrap().value, nodes.value);
        assert!(s.title.contains("+20%"));
    }

    #[test]
    fn unchanged_columns_are_set_aside() {
        let a = Assumptions {
            catalog_growth: Ratio::ZERO,
            ..Assumptions::default()
        };
        let (changing, constant) = project(&a).unwrap().columns();
        assert!(changing.contains(&"users") && changing.contains(&"web_servers"));
        assert!(constant.contains(&"songs") && constant.contains(&"replicated_audio"));
        assert!(!changing.contains(&"songs"));
    }

    #[test]
    fn zero_years_is_just_today() {
        let a = Assumptions {
            years: 0,
            ..Assumptions::default()
        };
        assert_eq!(project(&a).unwrap().rows.len(), 1);
    }

    #[test]
    fn growth_rounds_to_whole_users() {
        assert_eq!(grow(3, Ratio::new(1, 2).unwrap(), "f").unwrap(), 5); // 4.5 → 5
        assert_eq!(grow(10, Ratio::ZERO, "f").unwrap(), 10);
        assert!(matches!(
            grow(u64::MAX, Ratio::ONE, "f"),
            Err(Error::Overflow { .. })
        ));
    }
}
