//! Plain-text report for terminals: aligned columns, each output followed by
//! its formula and the same formula with the numbers filled in.

use super::{align, calibration_rows, measured_note, series_cells, unchanged_text, units_note};
use crate::estimate::Estimate;
use crate::model::Section;
use crate::series::Series;
use crate::units::ByteUnits;

const INDENT: &str = "  ";

fn indented(lines: Vec<String>) -> String {
    lines
        .into_iter()
        .map(|l| {
            if l.is_empty() {
                l
            } else {
                format!("{INDENT}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn series_block(series: &Series, bytes: ByteUnits) -> String {
    let (changing, constant) = series.columns();
    let (cells, right) = series_cells(series, &changing, bytes);
    let mut out = format!(
        "{}\n{}\n",
        series.title,
        indented(align(&cells, &right, "  "))
    );
    if let Some(text) = unchanged_text(series, &constant, bytes) {
        out.push_str(&wrap(&format!("Unchanged: {text}"), 100));
    }
    out
}

/// Greedy wrap at `width` columns between the items of a comma-separated
/// list, so a name never parts from its value; lines are indented.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for item in text.split(", ") {
        if !line.is_empty() && line.chars().count() + 2 + item.chars().count() > width {
            out.push_str(&format!("{INDENT}{line},\n"));
            line = format!("{INDENT}{item}");
        } else {
            if !line.is_empty() {
                line.push_str(", ");
            }
            line.push_str(item);
        }
    }
    if !line.is_empty() {
        out.push_str(&format!("{INDENT}{line}\n"));
    }
    out
}

pub(super) fn estimate(estimate: &Estimate, bytes: ByteUnits) -> String {
    let mut out = format!("Capacity estimate: {}\n", estimate.name);
    if let Some(description) = &estimate.description {
        out.push_str(&format!("{description}\n"));
    }
    out.push_str(units_note(bytes));
    if let Some(note) = measured_note(estimate) {
        out.push_str(&format!("\n{note}"));
    }
    let calibration = calibration_rows(estimate, bytes);
    if !calibration.is_empty() {
        out.push_str("\n\nCalibration: values measured on the live server\n");
        out.push_str(&indented(align(&calibration, &[false, true], "  ")));
    }
    out.push_str("\n\nAssumptions\n");
    let rows: Vec<Vec<String>> = estimate
        .inputs
        .iter()
        .map(|i| {
            vec![
                i.key().to_string(),
                i.display(bytes),
                i.origin.label(i.spec),
                i.origin.explanation(i.spec, bytes),
            ]
        })
        .collect();
    out.push_str(&indented(align(&rows, &[], "  ")));
    out.push('\n');

    // One alignment across all sections so values line up down the page.
    let mut rows = Vec::new();
    let mut headings = Vec::new();
    for section in Section::ALL {
        headings.push((rows.len(), section.title()));
        for output in estimate.section(section) {
            rows.push(vec![
                output.key().to_string(),
                output.display(bytes),
                output.spec.formula.to_string(),
            ]);
            rows.push(vec![
                String::new(),
                String::new(),
                format!("= {}", output.substituted(bytes)),
            ]);
        }
    }
    let lines = align(&rows, &[false, true], "   ");
    for (i, line) in lines.into_iter().enumerate() {
        if let Some((_, title)) = headings.iter().find(|(at, _)| *at == i) {
            out.push_str(&format!("\n{title}\n"));
        }
        out.push_str(&format!("{INDENT}{line}\n"));
    }

    if estimate.projection.rows.len() > 1 {
        out.push('\n');
        out.push_str(&series_block(&estimate.projection, bytes));
    }
    out.push_str(
        "\nChange an input with its flag (--users 2B), --set key=value or --scenario FILE;\n\
         --help lists every input with its default and source.\n",
    );
    out
}

pub(super) fn sweep(name: &str, series: &Series, bytes: ByteUnits) -> String {
    format!(
        "Capacity sweep: {name}\n{}\n\n{}",
        units_note(bytes),
        series_block(series, bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_between_words() {
        assert_eq!(wrap("a 1, b 2, c 3", 8), "  a 1, b 2,\n    c 3\n");
        assert_eq!(wrap("short", 80), "  short\n");
    }
}
