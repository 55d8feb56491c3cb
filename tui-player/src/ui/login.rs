//! The first-run (and token-expired) login form.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::popup;
use super::text::truncate;
use crate::app::LoginForm;
use crate::config::Theme;

pub fn draw(frame: &mut Frame, area: Rect, form: &LoginForm, theme: &Theme) {
    let rect = popup(frame, area, 60, 11);
    let block = Block::bordered()
        .title(" Cadenza — log in ")
        .border_style(Style::default().fg(theme.accent));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let width = inner.width as usize;
    let masked = "•".repeat(form.password.chars().count());
    let fields = [
        ("Server  ", form.server.as_str()),
        ("Username", form.username.as_str()),
        ("Password", masked.as_str()),
    ];
    let mut lines = vec![Line::raw("")];
    for (i, (label, value)) in fields.iter().enumerate() {
        let active = i == form.field;
        let cursor = if active && !form.busy { "█" } else { "" };
        let style = if active {
            Style::default()
                .fg(theme.accent)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        let value = truncate(&format!("{value}{cursor}"), width.saturating_sub(11));
        lines.push(Line::from(vec![
            Span::styled(format!(" {label}: "), style),
            Span::raw(value),
        ]));
    }
    lines.push(Line::raw(""));
    if form.busy {
        lines.push(Line::styled(
            " Logging in…",
            Style::default().fg(theme.muted),
        ));
    } else if let Some(error) = &form.error {
        lines.push(Line::styled(
            truncate(&format!(" {error}"), width),
            Style::default().fg(theme.error),
        ));
    } else {
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(
        truncate(" Tab next field · Enter log in · Esc quit", width),
        Style::default().fg(theme.muted),
    ));
    frame.render_widget(Paragraph::new(lines), inner);
}
