//! Markdown report for design documents and issues.

use super::{align, calibration_rows, measured_note, series_cells, unchanged_text, units_note};
use crate::estimate::Estimate;
use crate::model::Section;
use crate::series::Series;
use crate::units::ByteUnits;

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn code(text: &str) -> String {
    format!("`{text}`")
}

/// A Markdown table with padded cells so the source reads well too.
fn table(header: &[&str], right: &[bool], rows: Vec<Vec<String>>) -> String {
    let mut all = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    all.push(
        (0..header.len())
            .map(|c| {
                if right.get(c).copied().unwrap_or(false) {
                    "---:"
                } else {
                    "---"
                }
                .to_string()
            })
            .collect(),
    );
    all.extend(
        rows.into_iter()
            .map(|r| r.iter().map(|c| cell(c)).collect()),
    );
    let lines = align(&all, &[], " | ");
    lines.into_iter().map(|l| format!("| {l} |\n")).collect()
}

fn series_table(series: &Series, bytes: ByteUnits) -> String {
    let (changing, constant) = series.columns();
    let (mut cells, right) = series_cells(series, &changing, bytes);
    let header: Vec<String> = cells.remove(0);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut out = table(&header, &right, cells);
    if let Some(text) = unchanged_text(series, &constant, bytes) {
        out.push_str(&format!("\nUnchanged: {text}.\n"));
    }
    out
}

pub(super) fn estimate(estimate: &Estimate, bytes: ByteUnits) -> String {
    let mut out = format!("# Capacity estimate: {}\n\n", estimate.name);
    if let Some(description) = &estimate.description {
        out.push_str(&format!("{description}\n\n"));
    }
    out.push_str(units_note(bytes));
    if let Some(note) = measured_note(estimate) {
        out.push_str(&format!("\n\n{note}"));
    }
    let calibration = calibration_rows(estimate, bytes);
    if !calibration.is_empty() {
        out.push_str("\n\n## Calibration\n\nValues measured on the live server.\n\n");
        let rows = calibration
            .into_iter()
            .map(|mut row| {
                row[0] = code(&row[0]);
                row
            })
            .collect();
        out.push_str(&table(
            &["Input", "Measured", "Sample", "Used"],
            &[false, true],
            rows,
        ));
        out.pop();
    }
    out.push_str("\n\n## Assumptions\n\n");
    let rows = estimate
        .inputs
        .iter()
        .map(|i| {
            vec![
                code(i.key()),
                i.display(bytes),
                i.origin.label(i.spec),
                i.origin.explanation(i.spec, bytes),
            ]
        })
        .collect();
    out.push_str(&table(
        &["Input", "Value", "Origin", "Why"],
        &[false, true],
        rows,
    ));
    for section in Section::ALL {
        out.push_str(&format!("\n## {}\n\n", section.title()));
        let rows = estimate
            .section(section)
            .map(|o| {
                vec![
                    format!("{} ({})", o.spec.label, code(o.key())),
                    format!("**{}**", o.display(bytes)),
                    code(o.spec.formula),
                    o.substituted(bytes),
                ]
            })
            .collect();
        out.push_str(&table(
            &["Output", "Value", "Formula", "With the inputs"],
            &[false, true],
            rows,
        ));
    }
    if estimate.projection.rows.len() > 1 {
        out.push_str(&format!("\n## {}\n\n", estimate.projection.title));
        out.push_str(&series_table(&estimate.projection, bytes));
    }
    out
}

pub(super) fn sweep(name: &str, series: &Series, bytes: ByteUnits) -> String {
    format!(
        "# Capacity sweep: {name}\n\n{}\n\n## {}\n\n{}",
        units_note(bytes),
        series.title,
        series_table(series, bytes)
    )
}
