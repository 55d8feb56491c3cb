//! The now-playing bar: what plays, its progress, volume, shuffle/repeat and where it comes from.

use std::time::Duration;

use cadenza_units::format_clock;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, LineGauge, Paragraph};
use ratatui::Frame;

use super::text::{truncate, width};
use crate::app::{App, PlayState};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = app.theme;
    let area = if area.height >= 3 {
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(Style::default().fg(theme.muted));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        inner
    } else {
        area
    };
    let [info, gauge] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let player = &app.player;

    let icon = match player.state {
        PlayState::Playing => "▶",
        PlayState::Paused => "⏸",
        PlayState::Loading => "…",
        PlayState::Stopped => "■",
    };
    let source = match (player.state, player.cached, player.download) {
        (PlayState::Stopped, _, _) => String::new(),
        (PlayState::Loading, Some(false) | None, _) => "buffering…".into(),
        (_, _, Some((got, total))) => format!("streaming {}%", got * 100 / total.max(1)),
        (_, Some(true), _) => "cached".into(),
        (_, _, _) => "streamed".into(),
    };
    let mut right = vec![format!("vol {}%", player.volume)];
    right.push(format!(
        "shuffle {}",
        if app.queue.shuffle() { "on" } else { "off" }
    ));
    right.push(format!("repeat {}", app.queue.repeat().label()));
    if !source.is_empty() {
        right.insert(0, source);
    }
    if app.silent.is_some() {
        right.insert(0, "silent".into());
    }
    let right = right.join(" · ");
    let title = match &player.track {
        Some(track) if track.album.is_empty() => {
            format!("{icon} {} — {}", track.title, track.artist)
        }
        Some(track) => format!(
            "{icon} {} — {} · {}",
            track.title, track.artist, track.album
        ),
        None => format!("{icon} nothing playing"),
    };
    let total = info.width as usize;
    // The title matters most: the details get at most half a narrow bar.
    let right_w = width(&right).min(if total < 100 {
        total / 2
    } else {
        total.saturating_sub(12)
    });
    let left_w = total.saturating_sub(right_w + 1);
    let left = truncate(&title, left_w);
    let pad = total.saturating_sub(width(&left) + right_w);
    let line = Line::from(vec![
        Span::styled(left, Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(" ".repeat(pad)),
        Span::styled(truncate(&right, right_w), Style::default().fg(theme.muted)),
    ]);
    frame.render_widget(Paragraph::new(line), info);

    let duration = player.duration;
    let ratio = if duration > Duration::ZERO {
        (player.position.as_secs_f64() / duration.as_secs_f64()).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let label = format!(
        "{} / {}",
        format_clock(player.position),
        format_clock(duration)
    );
    let gauge_widget = LineGauge::default()
        .ratio(ratio)
        .label(label)
        // Thick vs thin line: readable without colours too.
        .filled_symbol(ratatui::symbols::line::THICK_HORIZONTAL)
        .filled_style(Style::default().fg(theme.accent))
        .unfilled_style(Style::default().fg(theme.muted));
    frame.render_widget(gauge_widget, gauge);
}
