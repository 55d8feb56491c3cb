//! `--sweep`: vary one input and show how the outputs follow.
//!
//! Forms: `users=1e6..1e9:x10` (multiply each step), `cdn_hit_ratio=80%..95%:+5%`
//! (add each step, in the input's own unit) and `replication=1.5,2,3` (a list).

use crate::error::{Error, InputError, Place};
use crate::inputs::{input, unknown_key, Assumptions, InputSpec};
use crate::ratio::Ratio;
use crate::series::{snapshot, Series, SeriesRow, HEADLINE};
use crate::units::{ByteUnits, Unit};

/// Longest sweep printed; more rows are unreadable and usually a typo.
pub const MAX_ROWS: usize = 200;

/// A parsed `--sweep` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepSpec {
    pub key: &'static str,
    /// The input's values, one per row, each already range-checked.
    pub values: Vec<Ratio>,
    /// How the values were given, for the title.
    pub description: String,
}

enum Step {
    Times(Ratio),
    Plus(Ratio),
}

fn bad(key: &str, problem: String) -> Error {
    Error::Input(InputError::new(Place::Sweep, key, problem))
}

const FORMS: &str =
    "write KEY=FROM..TO:xFACTOR, KEY=FROM..TO:+STEP or KEY=A,B,C, e.g. users=1e6..1e9:x10";

impl SweepSpec {
    pub fn parse(text: &str) -> Result<SweepSpec, Error> {
        let (key, range) = text
            .split_once('=')
            .ok_or_else(|| Error::Sweep(format!("'{text}' has no '='; {FORMS}")))?;
        let spec = input(key).ok_or_else(|| bad(key.trim(), unknown_key(key)))?;
        let value = |t: &str| spec.parse(t).map_err(|problem| bad(spec.key, problem));
        let (values, description) = if let Some((from, rest)) = range.split_once("..") {
            let (to, step) = rest.split_once(':').ok_or_else(|| {
                bad(
                    spec.key,
                    format!("'{range}' has no step; add one such as :x10 or :+1, or {FORMS}"),
                )
            })?;
            let from_value = value(from)?;
            let to_value = value(to)?;
            let step = parse_step(spec, step)?;
            let description = format!(
                "from {} to {}, {} per step",
                spec.unit.format(from_value, ByteUnits::Si),
                spec.unit.format(to_value, ByteUnits::Si),
                match &step {
                    Step::Times(f) => format!("×{}", f.round_to_string(3)),
                    Step::Plus(s) => format!("+{}", spec.unit.format(*s, ByteUnits::Si)),
                }
            );
            (
                range_values(spec, from_value, to_value, &step)?,
                description,
            )
        } else {
            let values = range.split(',').map(value).collect::<Result<Vec<_>, _>>()?;
            (values, "as listed".to_string())
        };
        if values.len() > MAX_ROWS {
            return Err(bad(
                spec.key,
                format!(
                    "gives {} rows, more than {MAX_ROWS}; use a larger step",
                    values.len()
                ),
            ));
        }
        Ok(SweepSpec {
            key: spec.key,
            values,
            description,
        })
    }
}

fn parse_step(spec: &InputSpec, text: &str) -> Result<Step, Error> {
    let text = text.trim();
    if let Some(factor) = text.strip_prefix(['x', 'X', '×', '*']) {
        let factor = Unit::Factor
            .parse(factor)
            .map_err(|p| bad(spec.key, format!("step {p}")))?;
        if factor <= Ratio::ONE {
            return Err(bad(
                spec.key,
                format!("step '{text}' must multiply by more than 1"),
            ));
        }
        Ok(Step::Times(factor))
    } else if let Some(amount) = text.strip_prefix('+') {
        let amount = spec
            .unit
            .parse(amount)
            .map_err(|p| bad(spec.key, format!("step {p}")))?;
        if amount.is_zero() {
            return Err(bad(spec.key, format!("step '{text}' must add more than 0")));
        }
        Ok(Step::Plus(amount))
    } else {
        Err(bad(
            spec.key,
            format!("step '{text}' must start with x or +; {FORMS}"),
        ))
    }
}

fn range_values(
    spec: &InputSpec,
    from: Ratio,
    to: Ratio,
    step: &Step,
) -> Result<Vec<Ratio>, Error> {
    if from > to {
        return Err(bad(
            spec.key,
            "the range starts above where it ends; give FROM..TO with FROM <= TO".to_string(),
        ));
    }
    let mut values = Vec::new();
    let mut exact = from;
    while exact <= to {
        if values.len() == MAX_ROWS {
            return Err(bad(
                spec.key,
                format!("gives more than {MAX_ROWS} rows; use a larger step"),
            ));
        }
        // Whole-number inputs (users, bytes) round each step, but the next
        // step grows from the exact value so rounding does not compound.
        let shown = if spec.is_whole() {
            Ratio::integer(exact.round())
        } else {
            exact
        };
        spec.check(shown, &spec.unit.format_exact(shown))
            .map_err(|problem| bad(spec.key, problem))?;
        values.push(shown);
        let next = match step {
            Step::Times(f) => exact.checked_mul(*f),
            Step::Plus(s) => exact.checked_add(*s),
        };
        // Zero times anything stays zero: step from zero as if adding.
        exact = match next {
            Some(n) if n > exact => n,
            Some(_) if exact.is_zero() => Ratio::ONE,
            _ => break,
        };
    }
    Ok(values)
}

/// Estimates `base` once per swept value.
pub fn sweep(base: &Assumptions, spec: &SweepSpec) -> Result<Series, Error> {
    let input_spec = input(spec.key).ok_or_else(|| bad(spec.key, unknown_key(spec.key)))?;
    let mut rows = Vec::with_capacity(spec.values.len());
    for &value in &spec.values {
        let mut assumptions = base.clone();
        input_spec
            .check(value, &input_spec.unit.format_exact(value))
            .map_err(|problem| bad(spec.key, problem))?;
        input_spec.set(&mut assumptions, value);
        rows.push(SeriesRow {
            axis: value,
            values: snapshot(&assumptions)?,
        });
    }
    Ok(Series {
        axis: input_spec.key,
        axis_unit: input_spec.unit,
        title: format!("Sweep of {} {}", input_spec.key, spec.description),
        rows,
        candidates: HEADLINE.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<Ratio> {
        SweepSpec::parse(text).unwrap().values
    }

    fn ints(v: &[u128]) -> Vec<Ratio> {
        v.iter().map(|&n| Ratio::integer(n)).collect()
    }

    #[test]
    fn geometric_ranges() {
        assert_eq!(
            values("users=1e6..1e9:x10"),
            ints(&[1_000_000, 10_000_000, 100_000_000, 1_000_000_000])
        );
        // Stops at the last value not above the end.
        assert_eq!(
            values("users=1e6..5e8:x10"),
            ints(&[1_000_000, 10_000_000, 100_000_000])
        );
        assert_eq!(
            values("song_size=1MB..8MB:x2"),
            ints(&[1_000_000, 2_000_000, 4_000_000, 8_000_000])
        );
        // Whole inputs round each row without compounding the rounding.
        assert_eq!(values("users=1..4:x1.5"), ints(&[1, 2, 2, 3]));
    }

    #[test]
    fn linear_ranges_use_the_inputs_unit() {
        let v = values("cdn_hit_ratio=80%..95%:+5%");
        let pct = |n| Ratio::new(n, 100).unwrap();
        assert_eq!(v, [pct(80), pct(85), pct(90), pct(95)]);
        assert_eq!(values("cdn_hit_ratio=0.8..0.95:+0.05"), v);
        assert_eq!(values("years=0..2:+1"), ints(&[0, 1, 2]));
        assert_eq!(values("streams_per_dau=0..20:x10"), ints(&[0, 1, 10]));
    }

    #[test]
    fn lists() {
        let v = values("replication=1.5,2,3");
        assert_eq!(
            v,
            [
                Ratio::new(3, 2).unwrap(),
                Ratio::integer(2),
                Ratio::integer(3)
            ]
        );
    }

    #[test]
    fn bad_sweeps_explain_themselves() {
        let err = |t| SweepSpec::parse(t).unwrap_err().to_string();
        assert!(err("users").contains("no '='"));
        assert!(err("usrs=1..2:+1").contains("did you mean 'users'"));
        assert!(err("users=1..10").contains("no step"));
        assert!(err("users=1..10:x1").contains("more than 1"));
        assert!(err("users=1..10:+0").contains("more than 0"));
        assert!(err("users=10..1:+1").contains("starts above"));
        assert!(err("users=1..1e9:+1").contains("more than 200 rows"));
        assert!(err("cdn_hit_ratio=0.9..1.2:+0.1").contains("above 1"));
        assert!(err("users=1..10:/2").contains("must start with x or +"));
        assert!(err("headroom=0.5,1").starts_with("--sweep headroom: '1' is not below 1"));
    }

    #[test]
    fn sweep_rows_follow_the_input() {
        let spec = SweepSpec::parse("users=1e6..1e9:x10").unwrap();
        let series = sweep(&Assumptions::default(), &spec).unwrap();
        assert_eq!(series.rows.len(), 4);
        let servers: Vec<Ratio> = series
            .rows
            .iter()
            .map(|r| r.get("web_servers").unwrap().value)
            .collect();
        assert!(servers.windows(2).all(|w| w[0] <= w[1]), "{servers:?}");
        let (changing, constant) = series.columns();
        assert!(changing.contains(&"web_servers"));
        assert!(constant.contains(&"replicated_audio"));
        assert!(
            series
                .title
                .contains("from 1,000,000 to 1,000,000,000, ×10 per step"),
            "{}",
            series.title
        );
    }
}
