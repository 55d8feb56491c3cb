//! The sidebar: the library's sections.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::text::truncate;
use super::{pane_block, scroll};
use crate::app::screen::SECTIONS;
use crate::app::{App, Pane};

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let focused = app.focus == Pane::Sidebar;
    let block = pane_block(" Library ".into(), focused, app);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    let width = inner.width as usize;
    let offset = scroll(0, app.section, height, SECTIONS.len());
    let open = SECTIONS
        .iter()
        .position(|(_, kind)| Some(kind) == app.stack.first().map(|s| &s.kind));
    let lines: Vec<Line> = SECTIONS
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, (name, _))| {
            let marker = if Some(i) == open { "• " } else { "  " };
            let text = truncate(&format!("{marker}{name}"), width);
            let style = if i == app.section && focused {
                Style::default()
                    .bg(app.theme.selected_bg)
                    .fg(app.theme.selected_fg)
            } else if Some(i) == open {
                Style::default()
                    .fg(app.theme.accent)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            };
            Line::styled(format!("{text:width$}"), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    app.areas.sidebar = Some(inner);
    app.areas.sidebar_offset = offset;
}
