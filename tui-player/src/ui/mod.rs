//! Drawing the app. One file per part of the screen; this one lays them out.
//!
//! ```text
//! ┌Library─┐┌Albums › Frequency Garden──────┐┌Queue──────┐
//! │ Search ││ Glacier Hum      Björk   3:03 ││ ▶ Glacier │
//! └────────┘└───────────────────────────────┘└───────────┘
//! ▶ Glacier Hum — Björk · Frequency Garden     vol 80% …
//! ━━━━━━━━━━━━━━━━━━━━━━──────────────────── 1:02 / 3:03
//! ? help · / search · space play/pause        (status)
//! ```
//! Narrow terminals show only the focused pane; the bars shrink to one line each when short.

mod help;
mod list;
mod login;
mod now_playing;
mod picker;
mod queue;
#[cfg(test)]
mod render_tests;
mod sidebar;
mod status;
pub mod text;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Clear};
use ratatui::Frame;

use crate::app::{App, Areas, Mode, Pane};

/// Below this width only the focused pane is shown.
const THREE_PANES: u16 = 100;
const TWO_PANES: u16 = 60;

pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    app.areas = Areas::default();
    if area.width == 0 || area.height == 0 {
        return;
    }
    if let Mode::Login(form) = &app.mode {
        login::draw(frame, area, form, &app.theme);
        return;
    }
    let bar_height = match area.height {
        0..=5 => 0,
        6..=9 => 2,
        _ => 3,
    };
    let [body, bar, status_area] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(bar_height),
        Constraint::Length(1),
    ])
    .areas(area);

    let (sidebar_area, main_area, queue_area) = split_body(body, app.focus);
    if let Some(r) = sidebar_area {
        sidebar::draw(frame, r, app);
    }
    if let Some(r) = main_area {
        list::draw(frame, r, app);
    }
    if let Some(r) = queue_area {
        queue::draw(frame, r, app);
    }
    if bar.height > 0 {
        now_playing::draw(frame, bar, app);
    }
    status::draw(frame, status_area, app);

    if app.picker.is_some() {
        picker::draw(frame, area, app);
    }
    if app.help {
        help::draw(frame, area, app);
    }
}

/// Which panes fit, and where.
fn split_body(body: Rect, focus: Pane) -> (Option<Rect>, Option<Rect>, Option<Rect>) {
    if body.height < 3 {
        return (None, None, None);
    }
    if body.width >= THREE_PANES {
        let [s, m, q] = Layout::horizontal([
            Constraint::Length(16),
            Constraint::Fill(3),
            Constraint::Fill(1),
        ])
        .areas(body);
        (Some(s), Some(m), Some(q))
    } else if body.width >= TWO_PANES {
        // Sidebar and main; the queue takes the main pane's place while focused.
        let [s, m] = Layout::horizontal([Constraint::Length(16), Constraint::Fill(1)]).areas(body);
        match focus {
            Pane::Queue => (Some(s), None, Some(m)),
            _ => (Some(s), Some(m), None),
        }
    } else {
        match focus {
            Pane::Sidebar => (Some(body), None, None),
            Pane::Main => (None, Some(body), None),
            Pane::Queue => (None, None, Some(body)),
        }
    }
}

/// A pane's frame: accent border when focused.
fn pane_block<'a>(title: String, focused: bool, app: &App) -> Block<'a> {
    let style = if focused {
        Style::default().fg(app.theme.accent)
    } else {
        Style::default().fg(app.theme.muted)
    };
    Block::bordered()
        .border_style(style)
        .title(title)
        .title_style(Style::default().add_modifier(Modifier::BOLD))
}

/// The first row to show so that `selected` is visible in `height` rows.
fn scroll(offset: usize, selected: usize, height: usize, len: usize) -> usize {
    if height == 0 {
        return 0;
    }
    let mut offset = offset.min(len.saturating_sub(1));
    if selected < offset {
        offset = selected;
    } else if selected >= offset + height {
        offset = selected + 1 - height;
    }
    // Don't leave empty rows at the bottom when the list could fill them.
    offset.min(len.saturating_sub(height))
}

/// A centred box of at most `w`×`h` cells, cleared.
fn popup(frame: &mut Frame, area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, rect);
    rect
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_keeps_the_selection_visible() {
        assert_eq!(scroll(0, 0, 5, 20), 0);
        assert_eq!(scroll(0, 7, 5, 20), 3);
        assert_eq!(scroll(10, 4, 5, 20), 4);
        assert_eq!(scroll(18, 19, 5, 20), 15);
        assert_eq!(scroll(3, 0, 0, 20), 0);
        assert_eq!(scroll(0, 0, 5, 0), 0);
    }
}
