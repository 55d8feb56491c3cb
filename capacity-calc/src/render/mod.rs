//! Reports: an aligned text table for terminals, Markdown for documents,
//! JSON for programs. All three show the same numbers from an [`Estimate`]
//! or a sweep [`Series`].

mod json;
mod markdown;
mod table;

use crate::estimate::Estimate;
use crate::series::Series;
use crate::units::ByteUnits;

/// Report format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Table,
    Markdown,
    Json,
}

/// Renders a full estimate: inputs, outputs with formulas, projection.
pub fn render_estimate(estimate: &Estimate, format: Format, bytes: ByteUnits) -> String {
    match format {
        Format::Table => table::estimate(estimate, bytes),
        Format::Markdown => markdown::estimate(estimate, bytes),
        Format::Json => json::estimate(estimate, bytes),
    }
}

/// Renders a sweep of scenario `name`.
pub fn render_sweep(name: &str, series: &Series, format: Format, bytes: ByteUnits) -> String {
    match format {
        Format::Table => table::sweep(name, series, bytes),
        Format::Markdown => markdown::sweep(name, series, bytes),
        Format::Json => json::sweep(name, series, bytes),
    }
}

fn units_note(bytes: ByteUnits) -> &'static str {
    match bytes {
        ByteUnits::Si => "Units: SI, 1 KB = 1000 B (--iec for KiB, MiB, ...); rates in bit/s.",
        ByteUnits::Iec => "Units: IEC, 1 KiB = 1024 B; rates in bit/s (SI).",
    }
}

/// "Measured on a live server: song_size, ..." when any input was measured.
fn measured_note(estimate: &Estimate) -> Option<String> {
    let keys: Vec<&str> = estimate.measured().map(|i| i.key()).collect();
    (!keys.is_empty()).then(|| {
        format!(
            "Measured on a live server, replacing assumptions: {}.",
            keys.join(", ")
        )
    })
}

/// One row per value measured on a live server: input, measured value, what it
/// rests on, and whether it replaced the assumption (or why not).
fn calibration_rows(estimate: &Estimate, bytes: ByteUnits) -> Vec<Vec<String>> {
    estimate
        .calibration
        .iter()
        .map(|c| {
            let verdict = match &c.kept_assumption {
                None => "used".to_string(),
                Some(why) => format!("not used, the assumption stays: {why}"),
            };
            vec![
                c.key.to_string(),
                c.unit.format(c.value, bytes),
                c.sample.clone(),
                verdict,
            ]
        })
        .collect()
}

/// Pads cells so columns line up. `right[i]` right-aligns column `i`;
/// the last cell of a row is never padded on the right.
fn align(rows: &[Vec<String>], right: &[bool], gap: &str) -> Vec<String> {
    let width = |s: &str| s.chars().count();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| width(s))
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    line.push_str(gap);
                }
                let pad = " ".repeat(widths[c] - width(cell));
                if right.get(c).copied().unwrap_or(false) {
                    line.push_str(&pad);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if c + 1 < row.len() {
                        line.push_str(&pad);
                    }
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// Series with at most this many steps are shown one column per step, so
/// each output reads across a line; longer ones get one line per step.
const STEPS_AS_COLUMNS: usize = 8;

fn axis_text(series: &Series, axis: crate::ratio::Ratio, bytes: ByteUnits) -> String {
    if series.axis == "year" {
        match axis.round() {
            0 => "now".to_string(),
            1 => "+1 year".to_string(),
            n => format!("+{n} years"),
        }
    } else {
        series.axis_unit.format(axis, bytes)
    }
}

/// `×1.73`: how much a value grew from the first step to the last.
fn growth(first: crate::ratio::Ratio, last: crate::ratio::Ratio) -> String {
    match last.checked_div(first) {
        Some(factor) => format!("×{}", factor.round_to_string(2)),
        None => String::new(),
    }
}

/// The cells of a series table, header first, and which columns to
/// right-align.
fn series_cells(
    series: &Series,
    columns: &[&str],
    bytes: ByteUnits,
) -> (Vec<Vec<String>>, Vec<bool>) {
    let value = |row: &crate::series::SeriesRow, name: &str| {
        row.get(name)
            .map_or_else(|| "?".to_string(), |t| t.display(bytes))
    };
    if series.rows.len() <= STEPS_AS_COLUMNS {
        // "now, +1 year, ..." say what the axis is; sweep values need the key.
        let corner = if series.axis == "year" {
            ""
        } else {
            series.axis
        };
        let mut header = vec![corner.to_string()];
        header.extend(series.rows.iter().map(|r| axis_text(series, r.axis, bytes)));
        header.push("growth".to_string());
        let mut rows = vec![header];
        for name in columns {
            let mut cells = vec![name.to_string()];
            cells.extend(series.rows.iter().map(|r| value(r, name)));
            let first = series.rows.first().and_then(|r| r.get(name));
            let last = series.rows.last().and_then(|r| r.get(name));
            cells.push(match (first, last) {
                (Some(first), Some(last)) => growth(first.value, last.value),
                _ => String::new(),
            });
            rows.push(cells);
        }
        let right = std::iter::once(false)
            .chain(std::iter::repeat_n(true, series.rows.len() + 1))
            .collect();
        (rows, right)
    } else {
        let mut rows = vec![std::iter::once(series.axis)
            .chain(columns.iter().copied())
            .map(str::to_string)
            .collect::<Vec<_>>()];
        for row in &series.rows {
            let mut cells = vec![axis_text(series, row.axis, bytes)];
            cells.extend(columns.iter().map(|name| value(row, name)));
            rows.push(cells);
        }
        (rows, vec![true; columns.len() + 1])
    }
}

/// "songs 100,000,000, replicated_audio 1.5 PB" for columns that never change.
fn unchanged_text(series: &Series, constant: &[&str], bytes: ByteUnits) -> Option<String> {
    let first = series.rows.first()?;
    let parts: Vec<String> = constant
        .iter()
        .filter_map(|name| {
            first
                .get(name)
                .map(|t| format!("{name} {}", t.display(bytes)))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_pads_columns() {
        let rows = vec![
            vec!["a".to_string(), "1".to_string(), "x".to_string()],
            vec!["long".to_string(), "100".to_string()],
        ];
        let lines = align(&rows, &[false, true], "  ");
        assert_eq!(lines, ["a       1  x", "long  100"]);
    }
}
