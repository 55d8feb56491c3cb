//! The queue pane.

use std::time::Duration;

use cadenza_units::format_clock;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::text::{columns, truncate};
use super::{pane_block, scroll};
use crate::app::{App, Pane};

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let focused = app.focus == Pane::Queue;
    let mut title = format!(" Queue ({}) ", app.queue.len());
    if app.queue.shuffle() {
        title.push_str("⤮ ");
    }
    let block = pane_block(title, focused, app);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (width, height) = (inner.width as usize, inner.height as usize);
    if app.queue.is_empty() {
        let hint = truncate("Empty. Enter plays a song; a adds one.", width);
        frame.render_widget(
            Paragraph::new(Line::styled(hint, Style::default().fg(app.theme.muted))),
            inner,
        );
        app.areas.queue = Some(inner);
        return;
    }
    app.queue_selected = app.queue_selected.min(app.queue.len() - 1);
    let offset = scroll(
        app.areas.queue_offset,
        app.queue_selected,
        height,
        app.queue.len(),
    );
    let current = app.queue.current().map(|i| i.key);
    let lines: Vec<Line> = app
        .queue
        .items()
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, item)| {
            let is_current = Some(item.key) == current;
            let marker = if is_current { "▶" } else { " " };
            let name = format!("{marker} {}", item.track.title);
            let duration = format_clock(Duration::from_millis(item.track.duration_ms));
            let text = columns(width, &[(&name, 1), (&duration, 0)]);
            let style = if i == app.queue_selected && focused {
                Style::default()
                    .bg(app.theme.selected_bg)
                    .fg(app.theme.selected_fg)
            } else if is_current {
                Style::default()
                    .fg(app.theme.playing)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            };
            Line::styled(text, style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    app.areas.queue = Some(inner);
    app.areas.queue_offset = offset;
}
