//! The main pane: the current screen's rows (and the search box on the search screen).

use std::time::Duration;

use cadenza_units::format_clock;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::text::{columns, truncate};
use super::{pane_block, scroll};
use crate::app::screen::{Row, Screen, ScreenKind};
use crate::app::{App, Pane};

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let focused = app.focus == Pane::Main;
    let title = breadcrumb(app, area.width.saturating_sub(4) as usize);
    let block = pane_block(title, focused, app);
    let mut inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let theme = app.theme;
    let muted = Style::default().fg(theme.muted);

    if app.screen().kind == ScreenKind::Search {
        let cursor = if app.search.editing && focused {
            "█"
        } else {
            ""
        };
        let query = &app.search.query;
        let line = Line::from(vec![
            Span::styled("Search: ", Style::default().fg(theme.accent)),
            Span::raw(format!("{query}{cursor}")),
        ]);
        frame.render_widget(Paragraph::new(line), Rect { height: 1, ..inner });
        inner.y += 1;
        inner.height -= 1;
        if inner.height == 0 {
            return;
        }
    }

    let width = inner.width as usize;
    let height = inner.height as usize;
    let screen = app.screen();
    if let Some(note) = empty_note(app, screen) {
        let style = if screen.error.is_some() {
            Style::default().fg(theme.error)
        } else {
            muted
        };
        let lines: Vec<Line> = wrap(&note, width)
            .into_iter()
            .map(|l| Line::styled(l, style))
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }

    let offset = scroll(screen.offset, screen.selected, height, screen.rows.len());
    let playing = app.player.track.as_ref().map(|t| t.id);
    let mut lines = Vec::with_capacity(height);
    for (i, row) in screen.rows.iter().enumerate().skip(offset).take(height) {
        let text = row_text(row, width);
        let is_playing = playing.is_some() && row.track().map(|(t, _)| t.id) == playing;
        let style = if i == screen.selected && focused {
            Style::default().bg(theme.selected_bg).fg(theme.selected_fg)
        } else if i == screen.selected {
            Style::default().add_modifier(Modifier::REVERSED)
        } else if let Row::Header(_) = row {
            Style::default()
                .fg(theme.accent)
                .add_modifier(Modifier::BOLD)
        } else if is_playing {
            Style::default().fg(theme.playing)
        } else {
            Style::default()
        };
        lines.push(Line::styled(text, style));
    }
    if screen.loading && lines.len() < height {
        lines.push(Line::styled("loading more…", muted));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    app.screen_mut().offset = offset;
    app.areas.main = Some(inner);
    app.areas.main_offset = offset;
}

fn breadcrumb(app: &App, max: usize) -> String {
    let titles: Vec<&str> = app.stack.iter().map(|s| s.title.as_str()).collect();
    let mut text = titles.join(" › ");
    if app.screen().loading {
        text.push_str(" (loading…)");
    }
    truncate(&format!(" {text} "), max)
}

/// What to show instead of rows, if anything.
fn empty_note(app: &App, screen: &Screen) -> Option<String> {
    if let Some(error) = &screen.error {
        return Some(format!("Could not load this view: {error}"));
    }
    if !screen.rows.is_empty() {
        return None;
    }
    if screen.loading {
        return Some("Loading…".into());
    }
    Some(match &screen.kind {
        ScreenKind::Search if app.search.query.trim().is_empty() => {
            "Type to search songs, artists, albums, playlists and podcasts (press / first).".into()
        }
        ScreenKind::Search if app.search.due.is_some() => "Searching…".into(),
        ScreenKind::Search => format!("No results for “{}”.", app.search.query.trim()),
        ScreenKind::Artists | ScreenKind::Albums | ScreenKind::Genres | ScreenKind::Hot => {
            "The catalog is empty: an admin adds music with `cadenza-admin upload`.".into()
        }
        ScreenKind::Playlists => "No playlists yet: press C to create one.".into(),
        ScreenKind::Podcasts => "No podcasts on this server yet.".into(),
        ScreenKind::Cached => {
            "Nothing cached yet: songs you play are kept here and play without a network.".into()
        }
        ScreenKind::Playlist(_) => {
            "This playlist is empty: select a song anywhere and press P to add it.".into()
        }
        _ => "Nothing here.".into(),
    })
}

fn row_text(row: &Row, width: usize) -> String {
    match row {
        Row::Header(title) => truncate(title, width),
        Row::Song(song) | Row::Hot { song, .. } => {
            let duration = format_clock(Duration::from_millis(song.duration_ms));
            let plays = match row {
                Row::Hot { plays, .. } => format!("{plays} plays"),
                _ => String::new(),
            };
            if plays.is_empty() {
                columns(
                    width,
                    &[
                        (&song.title, 4),
                        (&song.artist, 3),
                        (&song.album, 3),
                        (&duration, 0),
                    ],
                )
            } else {
                columns(
                    width,
                    &[
                        (&song.title, 4),
                        (&song.artist, 3),
                        (&plays, 0),
                        (&duration, 0),
                    ],
                )
            }
        }
        Row::Cached(track) => {
            let duration = format_clock(Duration::from_millis(track.duration_ms));
            columns(
                width,
                &[
                    (&track.title, 4),
                    (&track.artist, 3),
                    (&track.album, 3),
                    (&duration, 0),
                ],
            )
        }
        Row::Artist(artist) => {
            let counts = format!(
                "{} albums · {} songs",
                artist.album_count, artist.song_count
            );
            columns(width, &[(&artist.name, 3), (&counts, 0)])
        }
        Row::Album(album) => {
            let year = album.year.map(|y| y.to_string()).unwrap_or_default();
            let songs = format!("{} songs", album.song_count);
            columns(
                width,
                &[
                    (&album.title, 4),
                    (&album.artist, 3),
                    (&year, 0),
                    (&songs, 0),
                ],
            )
        }
        Row::Playlist(p) => {
            let songs = format!("{} songs", p.song_count);
            let owner = format!("by {}", p.owner);
            columns(width, &[(&p.name, 4), (&owner, 2), (&songs, 0)])
        }
        Row::Podcast(p) => {
            let episodes = format!("{} episodes", p.episode_count);
            let author = p.author.clone().unwrap_or_default();
            columns(width, &[(&p.title, 4), (&author, 2), (&episodes, 0)])
        }
        Row::Episode { episode, .. } => {
            let duration = format_clock(Duration::from_millis(episode.duration_ms));
            let resume = match episode.position_ms {
                Some(ms) if ms > 0 => format!("at {}", format_clock(Duration::from_millis(ms))),
                _ => String::new(),
            };
            columns(width, &[(&episode.title, 4), (&resume, 0), (&duration, 0)])
        }
        Row::Genre(g) => {
            let counts = format!("{} songs", g.song_count);
            columns(width, &[(&g.name, 3), (&counts, 0)])
        }
    }
}

/// Greedy word wrap to `width` cells.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let extra = if line.is_empty() { 0 } else { 1 };
        if !line.is_empty() && super::text::width(&line) + extra + super::text::width(word) > width
        {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.into_iter().map(|l| truncate(&l, width)).collect()
}
