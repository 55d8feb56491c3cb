//! Fitting text into terminal cells: display width, truncation with an ellipsis, columns.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

pub fn width(text: &str) -> usize {
    text.width()
}

/// `text` cut to at most `max` cells, ending in `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.width() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `text` truncated or padded with spaces to exactly `cells`.
pub fn fit(text: &str, cells: usize) -> String {
    let mut out = truncate(text, cells);
    let w = out.width();
    out.extend(std::iter::repeat_n(' ', cells.saturating_sub(w)));
    out
}

/// Lays out columns in `total` cells: flexible ones share what the fixed ones leave, by
/// weight, with one space between columns. `(text, weight)`; weight 0 = fixed at its width.
pub fn columns(total: usize, cols: &[(&str, u16)]) -> String {
    let gaps = cols.len().saturating_sub(1);
    let fixed: usize = cols.iter().filter(|c| c.1 == 0).map(|c| c.0.width()).sum();
    let flexible = total.saturating_sub(fixed + gaps);
    let weights: usize = cols.iter().map(|c| usize::from(c.1)).sum::<usize>().max(1);
    let share = |weight: u16| flexible * usize::from(weight) / weights;
    // What integer division leaves goes to the first flexible column, so fixed columns
    // (durations) stay flush right.
    let leftover = flexible.saturating_sub(cols.iter().map(|c| share(c.1)).sum());
    let first_flexible = cols.iter().position(|c| c.1 > 0);
    let mut out = String::new();
    let mut used = 0;
    for (i, (text, weight)) in cols.iter().enumerate() {
        let cells = if *weight == 0 {
            text.width()
        } else if Some(i) == first_flexible {
            share(*weight) + leftover
        } else {
            share(*weight)
        };
        let cells = cells.min(total.saturating_sub(used));
        out.push_str(&fit(text, cells));
        used += cells;
        if i + 1 < cols.len() && used < total {
            out.push(' ');
            used += 1;
        }
    }
    let w = out.width();
    out.extend(std::iter::repeat_n(' ', total.saturating_sub(w)));
    truncate(&out, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_are_measured_in_cells() {
        assert_eq!(truncate("静かな波形", 5), "静か…");
        assert_eq!(width(&truncate("静かな波形", 5)), 5);
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn columns_fill_exactly_the_width() {
        for total in [0, 5, 20, 33, 80] {
            let line = columns(total, &[("Glacier Hum", 3), ("Björk", 2), ("3:03", 0)]);
            assert!(width(&line) <= total, "{total}: {line:?}");
            if total >= 20 {
                assert_eq!(width(&line), total, "{line:?}");
                assert!(line.ends_with("3:03"), "{line:?}");
            }
        }
    }
}
