//! The status line: a prompt being typed, the last message, or key hints; and, always, why
//! there is no sound or no server when that is so.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::text::{truncate, width};
use crate::action::Action;
use crate::app::{App, PromptKind};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let total = area.width as usize;
    let (left, style) = if let Some(prompt) = &app.prompt {
        let text = match &prompt.kind {
            PromptKind::NewPlaylist => format!(
                "New playlist name: {}█  (Enter to create, Esc to cancel)",
                prompt.text
            ),
            PromptKind::RenamePlaylist(_) => format!(
                "Rename to: {}█  (Enter to rename, Esc to cancel)",
                prompt.text
            ),
            PromptKind::DeletePlaylist(_, name) => format!("Delete the playlist “{name}”? (y/n)"),
            PromptKind::Command => format!(":{}█  (Enter to run, Esc to cancel)", prompt.text),
        };
        (text, Style::default().fg(theme.accent))
    } else if let Some(message) = &app.message {
        let style = if message.error {
            Style::default().fg(theme.error)
        } else {
            Style::default()
        };
        (message.text.clone(), style)
    } else {
        let hint = |a: Action| format!("{} {}", app.keys.label(a), a.name().replace('_', " "));
        let text = [
            Action::Help,
            Action::Search,
            Action::TogglePause,
            Action::Quit,
        ]
        .map(hint)
        .join(" · ");
        (text, Style::default().fg(theme.muted))
    };
    let notice = match (&app.outage, &app.silent) {
        (Some(outage), _) => outage.notice().to_string(),
        (None, Some(silent)) => silent.clone(),
        (None, None) => String::new(),
    };
    let notice_w = if notice.is_empty() {
        0
    } else {
        width(&notice).min(total / 2)
    };
    let left_w = total.saturating_sub(notice_w + usize::from(notice_w > 0));
    let left = truncate(&left, left_w);
    let pad = total.saturating_sub(width(&left) + notice_w);
    let line = Line::from(vec![
        Span::styled(left, style),
        Span::raw(" ".repeat(pad)),
        Span::styled(
            truncate(&notice, notice_w),
            Style::default().fg(theme.error),
        ),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}
