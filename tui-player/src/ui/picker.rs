//! "Add to playlist": the user's playlists to choose from.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::text::truncate;
use super::{popup, scroll};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let Some(picker) = &app.picker else {
        return;
    };
    let rect = popup(frame, area, 50, 14);
    let title = truncate(
        &format!(" Add “{}” to… ", picker.label),
        rect.width.saturating_sub(2) as usize,
    );
    let block = Block::bordered()
        .title(title)
        .title_bottom(" Enter add · C new playlist · Esc cancel ")
        .border_style(Style::default().fg(app.theme.accent));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let width = inner.width as usize;
    let lines: Vec<Line> = match &picker.playlists {
        None => vec![Line::styled(
            "Loading your playlists…",
            Style::default().fg(app.theme.muted),
        )],
        Some(playlists) => {
            let height = inner.height as usize;
            let offset = scroll(0, picker.selected, height, playlists.len());
            playlists
                .iter()
                .enumerate()
                .skip(offset)
                .take(height)
                .map(|(i, p)| {
                    let text = truncate(&format!("{} ({} songs)", p.name, p.song_count), width);
                    let style = if i == picker.selected {
                        Style::default()
                            .bg(app.theme.selected_bg)
                            .fg(app.theme.selected_fg)
                    } else {
                        Style::default()
                    };
                    Line::styled(format!("{text:width$}"), style)
                })
                .collect()
        }
    };
    frame.render_widget(Paragraph::new(lines), inner);
}
