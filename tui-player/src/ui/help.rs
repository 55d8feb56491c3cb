//! The help overlay: every binding, from the active key map.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::popup;
use super::text::{fit, truncate};
use crate::action::Action;
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let rect = popup(frame, area, 72, Action::ALL.len() as u16 + 4);
    let block = Block::bordered()
        .title(" Keys — Esc closes, j/k scroll ")
        .border_style(Style::default().fg(app.theme.accent));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let width = inner.width as usize;
    let keys_w = (width / 3).clamp(1, 18);
    let max_offset = Action::ALL.len().saturating_sub(inner.height as usize);
    app.help_offset = app.help_offset.min(max_offset);
    let lines: Vec<Line> = Action::ALL
        .iter()
        .skip(app.help_offset)
        .map(|&action| {
            let keys = fit(&app.keys.label(action), keys_w);
            let help = truncate(action.help(), width.saturating_sub(keys_w + 1));
            Line::from(vec![
                Span::styled(keys, Style::default().fg(app.theme.accent)),
                Span::raw(" "),
                Span::raw(help),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
