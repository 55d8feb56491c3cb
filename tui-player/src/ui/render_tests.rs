//! Renders the app into ratatui's TestBackend and checks what a person would read.

use std::time::Duration;

use cadenza_api::{Album, Artist, ArtistRef, Page, Playlist, SearchResults, Song, User};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::action::Action;
use crate::app::network::search_rows;
use crate::app::screen::{Row, Screen, ScreenKind};
use crate::app::{App, Mode, Pane, PlayState, Prompt, PromptKind};
use crate::config::Config;
use crate::session::Session;
use crate::track::Track;

fn song(id: i64, title: &str, artist: &str, album: &str, ms: u64) -> Song {
    Song {
        id,
        title: title.into(),
        artist: artist.into(),
        artist_id: 1,
        album: album.into(),
        album_id: 1,
        track: Some(id as u32),
        disc: Some(1),
        genre: Some("Electronic".into()),
        year: Some(1997),
        duration_ms: ms,
        codec: "mp3".into(),
        content_type: "audio/mpeg".into(),
        bitrate_kbps: Some(128),
        sample_rate: Some(44100),
        channels: Some(1),
        size: 13087,
        hash: "0".repeat(64),
        created_at: 0,
        artists: vec![ArtistRef {
            id: 1,
            name: artist.into(),
        }],
        genres: vec!["Electronic".into()],
        album_artist: None,
    }
}

fn album() -> Album {
    Album {
        id: 1,
        title: "Frequency Garden".into(),
        artist: "Björk".into(),
        artist_id: 1,
        year: Some(1997),
        genre: Some("Electronic".into()),
        song_count: 3,
        duration_ms: 9613,
        has_cover: true,
        created_at: 0,
    }
}

fn page<T: serde::de::DeserializeOwned>(items: Vec<T>) -> Page<T> {
    // Built from the wire form, so fields the API adds with a default need no change here.
    let mut page: Page<T> = serde_json::from_str(r#"{"items":[],"total":0,"limit":20,"offset":0}"#)
        .expect("an empty page parses");
    page.total = items.len() as u64;
    page.items = items;
    page
}

/// A logged-in app with nothing loaded.
fn app() -> App {
    let session = Session {
        server: "http://127.0.0.1:4533/".into(),
        token: "t".into(),
        username: "ada".into(),
    };
    let mut app = App::new(&Config::default(), None, Some(&session));
    app.user = Some(User {
        id: 1,
        username: "ada".into(),
        role: cadenza_api::Role::Listener,
        created_at: 0,
    });
    app.take_effects();
    app
}

/// Draws and returns the screen as lines of text.
fn render(app: &mut App, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| super::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}

fn contains(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

fn assert_shows(lines: &[String], needle: &str) {
    assert!(
        contains(lines, needle),
        "expected {needle:?} on screen:\n{}",
        lines.join("\n")
    );
}

#[test]
fn empty_catalog_says_how_to_add_music() {
    let mut app = app();
    app.open_section(2); // Albums
    let loads = app.take_effects();
    assert_eq!(loads.len(), 1, "opening a section loads it");
    app.stack[0].loading = false;
    let lines = render(&mut app, 120, 30);
    assert_shows(&lines, "Albums");
    assert_shows(&lines, "The catalog is empty");
    assert_shows(&lines, "cadenza-admin upload");
    assert_shows(&lines, "Queue (0)");
    assert_shows(&lines, "nothing playing");
}

#[test]
fn search_results_are_grouped() {
    let mut app = app();
    app.search.query = "gla".into();
    app.search.editing = true;
    let results = SearchResults {
        query: "gla".into(),
        songs: page(vec![
            song(1, "Glacier Hum", "Björk", "Frequency Garden", 3030),
            song(2, "Glass Tone", "Kid Carrier", "Dial Tone Blues", 2038),
        ]),
        artists: page(vec![Artist {
            id: 1,
            name: "Glaswegian Sines".into(),
            album_count: 1,
            song_count: 2,
        }]),
        albums: page(vec![album()]),
        playlists: page(Vec::<Playlist>::new()),
        podcasts: page(vec![]),
    };
    app.screen_mut().set_rows(search_rows(results));
    let lines = render(&mut app, 120, 30);
    assert_shows(&lines, "Search: gla█");
    assert_shows(&lines, "Songs (2)");
    assert_shows(&lines, "Glacier Hum");
    assert_shows(&lines, "0:03");
    assert_shows(&lines, "Artists (1)");
    assert_shows(&lines, "Glaswegian Sines");
    assert_shows(&lines, "Albums (1)");
    assert!(
        !contains(&lines, "Playlists ("),
        "empty groups are left out"
    );
    // The first song is selected, not the group title.
    assert_eq!(app.screen().selected, 1);
}

#[test]
fn no_results_is_said_plainly() {
    let mut app = app();
    app.search.query = "zzz".into();
    let lines = render(&mut app, 80, 20);
    assert_shows(&lines, "No results for “zzz”.");
}

#[test]
fn album_view_lists_tracks_with_durations() {
    let mut app = app();
    app.open_section(2);
    app.take_effects();
    app.stack[0].set_rows(vec![Row::Album(album())]);
    app.stack[0].loading = false;
    let mut screen = Screen::new(ScreenKind::Album(1), "Frequency Garden — Björk (1997)");
    screen.set_rows(vec![
        Row::Song(song(1, "Glacier Hum", "Björk", "Frequency Garden", 3030)),
        Row::Song(song(
            2,
            "Northern Lights 🌌",
            "Björk",
            "Frequency Garden",
            4049,
        )),
        Row::Song(song(3, "Geyser", "Björk", "Frequency Garden", 2534)),
    ]);
    app.stack.push(screen);
    let lines = render(&mut app, 120, 30);
    assert_shows(&lines, "Albums › Frequency Garden — Björk (1997)");
    assert_shows(&lines, "Northern Lights 🌌");
    assert_shows(&lines, "0:04");
    assert_shows(&lines, "Geyser");
    assert_shows(&lines, "0:02");
}

#[test]
fn playing_shows_title_progress_and_state() {
    let mut app = app();
    let s = song(1, "Glacier Hum", "Björk", "Frequency Garden", 183_000);
    app.queue.replace(vec![(Track::from_song(&s), None)], 0);
    app.player.state = PlayState::Playing;
    app.player.track = Some(Track::from_song(&s));
    app.player.position = Duration::from_secs(62);
    app.player.duration = Duration::from_secs(183);
    app.player.cached = Some(false);
    app.player.download = Some((40, 100));
    app.silent = Some("no audio device: playing silently (NoDevice)".into());
    let lines = render(&mut app, 120, 30);
    assert_shows(&lines, "▶ Glacier Hum — Björk · Frequency Garden");
    assert_shows(&lines, "1:02 / 3:03");
    assert_shows(&lines, "streaming 40%");
    assert_shows(&lines, "vol 80%");
    assert_shows(&lines, "repeat off");
    assert_shows(&lines, "no audio device: playing silently");
    assert_shows(&lines, "Queue (1)");
    // The gauge is about one third full.
    let gauge = lines.iter().find(|l| l.contains("1:02 / 3:03")).unwrap();
    let filled = gauge.matches('━').count() as f64;
    let empty = gauge.matches('─').count() as f64;
    let ratio = filled / (filled + empty);
    assert!((0.25..0.45).contains(&ratio), "gauge {ratio}: {gauge}");

    app.player.state = PlayState::Paused;
    let lines = render(&mut app, 120, 30);
    assert_shows(&lines, "⏸ Glacier Hum");
}

#[test]
fn help_overlay_lists_every_binding() {
    let mut app = app();
    app.help = true;
    let lines = render(&mut app, 120, 45);
    assert_shows(&lines, "Keys — Esc closes");
    for &action in Action::ALL {
        let words: String = action.help().chars().take(25).collect();
        assert_shows(&lines, &words);
    }
    assert_shows(&lines, "space");
    assert_shows(&lines, "?");
    // Overridden keys show in the help too.
    let config = Config::parse("[keys]\nnext = \"ctrl-l\"").unwrap();
    app.keys = config.keys;
    let lines = render(&mut app, 120, 45);
    assert_shows(&lines, "ctrl-l");
}

#[test]
fn narrow_terminal_shows_the_focused_pane_and_the_player() {
    let mut app = app();
    let s = song(1, "Glacier Hum", "Björk", "Frequency Garden", 183_000);
    app.screen_mut().set_rows(vec![Row::Song(s.clone())]);
    app.player.state = PlayState::Playing;
    app.player.track = Some(Track::from_song(&s));
    app.player.position = Duration::from_secs(5);
    app.player.duration = Duration::from_secs(183);
    let lines = render(&mut app, 40, 12);
    assert!(!contains(&lines, "Library"), "no sidebar at 40 columns");
    assert!(!contains(&lines, "Queue ("), "no queue at 40 columns");
    assert_shows(&lines, "Search");
    assert_shows(&lines, "Glacier Hum");
    assert_shows(&lines, "0:05 / 3:03");
    // Tab shows the queue in its place.
    app.focus = Pane::Queue;
    let lines = render(&mut app, 40, 12);
    assert_shows(&lines, "Queue (0)");
}

#[test]
fn any_size_renders_without_panicking() {
    let mut app = app();
    let s = song(
        1,
        "静かな波形 with a very long title indeed",
        "坂本龍一",
        "静かな波形",
        5000,
    );
    app.screen_mut()
        .set_rows(vec![Row::Header("Songs (1)".into()), Row::Song(s.clone())]);
    app.queue.replace(vec![(Track::from_song(&s), None)], 0);
    app.player.state = PlayState::Playing;
    app.player.track = Some(Track::from_song(&s));
    app.error("a long error message that will not fit in a small terminal at all");
    let sizes = [
        (0, 0),
        (1, 1),
        (10, 3),
        (20, 5),
        (39, 11),
        (40, 12),
        (59, 15),
        (60, 20),
        (99, 30),
        (100, 30),
        (200, 60),
    ];
    for (w, h) in sizes {
        for variant in 0..5 {
            app.help = variant == 1;
            app.prompt = (variant == 2).then(|| Prompt {
                kind: PromptKind::NewPlaylist,
                text: "Road trip".into(),
            });
            app.mode = if variant == 3 {
                Mode::Login(crate::app::LoginForm::new(
                    "http://x".into(),
                    Some("wrong".into()),
                ))
            } else {
                Mode::Main
            };
            app.focus = if variant == 4 {
                Pane::Sidebar
            } else {
                Pane::Main
            };
            let lines = render(&mut app, w, h);
            assert_eq!(lines.len(), h as usize);
        }
    }
}

#[test]
fn errors_show_on_the_status_line_and_in_the_view() {
    let mut app = app();
    app.error("could not load this view: the server answered 500");
    let lines = render(&mut app, 120, 30);
    assert_shows(&lines, "could not load this view: the server answered 500");

    app.open_section(1);
    app.take_effects();
    app.stack[0].loading = false;
    app.stack[0].error = Some("cannot reach the server at http://127.0.0.1:4533/".into());
    let lines = render(&mut app, 120, 30);
    assert_shows(&lines, "Could not load this view: cannot reach the server");

    app.outage = Some(crate::app::outage::Outage {
        down: crate::app::outage::Down::Server,
        reason: "down".into(),
    });
    let lines = render(&mut app, 120, 30);
    assert_shows(&lines, "offline: cached songs only");
}

#[test]
fn login_form_masks_the_password() {
    let mut app = app();
    let mut form = crate::app::LoginForm::new("http://127.0.0.1:4533".into(), None);
    form.username = "ada".into();
    form.password = "hunter2".into();
    form.error = Some("wrong username or password".into());
    app.mode = Mode::Login(form);
    let lines = render(&mut app, 80, 24);
    assert_shows(&lines, "Cadenza — log in");
    assert_shows(&lines, "http://127.0.0.1:4533");
    assert_shows(&lines, "•••••••");
    assert!(!contains(&lines, "hunter2"));
    assert_shows(&lines, "wrong username or password");
}

#[test]
fn prompts_and_picker_render() {
    let mut app = app();
    app.prompt = Some(Prompt {
        kind: PromptKind::DeletePlaylist(3, "Road trip".into()),
        text: String::new(),
    });
    let lines = render(&mut app, 100, 20);
    assert_shows(&lines, "Delete the playlist “Road trip”? (y/n)");
    app.prompt = None;
    app.picker = Some(crate::app::Picker {
        songs: vec![1],
        label: "Glacier Hum".into(),
        playlists: Some(vec![Playlist {
            id: 3,
            name: "Road trip".into(),
            owner_id: 1,
            owner: "ada".into(),
            public: false,
            song_count: 2,
            duration_ms: 0,
            created_at: 0,
            updated_at: 0,
            comment: None,
        }]),
        selected: 0,
    });
    let lines = render(&mut app, 100, 20);
    assert_shows(&lines, "Add “Glacier Hum” to…");
    assert_shows(&lines, "Road trip (2 songs)");
}

#[test]
fn mouse_clicks_select_open_and_scroll() {
    use crate::app::Event;
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let mouse = |kind, column, row| {
        Event::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    let mut app = app();
    let rows: Vec<Row> = (1..=40)
        .map(|i| Row::Song(song(i, &format!("Song {i}"), "A", "B", 1000)))
        .collect();
    app.screen_mut().set_rows(rows);
    render(&mut app, 120, 30);
    let now = std::time::Instant::now();

    // The sidebar's third line is Albums: a click opens it.
    let sidebar = app.areas.sidebar.unwrap();
    app.handle(
        mouse(
            MouseEventKind::Down(MouseButton::Left),
            sidebar.x + 2,
            sidebar.y + 2,
        ),
        now,
    );
    assert_eq!(app.screen().kind, ScreenKind::Albums);
    assert_eq!(app.focus, Pane::Main);
    assert!(app.take_effects().iter().any(|e| matches!(
        e,
        crate::app::Effect::Net(crate::net::NetRequest::Load { .. })
    )));

    // Back on the search results: the wheel scrolls, a double click plays.
    app.open_section(0);
    app.screen_mut().set_rows(
        (1..=40)
            .map(|i| Row::Song(song(i, &format!("Song {i}"), "A", "B", 1000)))
            .collect(),
    );
    render(&mut app, 120, 30);
    let main = app.areas.main.unwrap();
    app.handle(
        mouse(MouseEventKind::ScrollDown, main.x + 5, main.y + 3),
        now,
    );
    assert_eq!(app.screen().selected, 3);
    render(&mut app, 120, 30);
    let main = app.areas.main.unwrap();
    let click = mouse(
        MouseEventKind::Down(MouseButton::Left),
        main.x + 5,
        main.y + 5,
    );
    app.handle(click, now);
    assert_eq!(app.screen().selected, 5);
    assert!(app.queue.is_empty(), "one click only selects");
    let click = mouse(
        MouseEventKind::Down(MouseButton::Left),
        main.x + 5,
        main.y + 5,
    );
    app.handle(click, now + std::time::Duration::from_millis(100));
    assert_eq!(app.queue.len(), 40, "a double click plays from there");
    assert_eq!(
        app.queue.current().map(|i| i.track.title.as_str()),
        Some("Song 6")
    );
    assert_eq!(app.player.state, PlayState::Loading);
}

#[test]
fn the_command_line_shows_what_is_typed_and_runs_it() {
    use crate::app::{Effect, Event};
    use crate::audio::AudioCommand;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use std::time::Instant;

    let mut app = app();
    let press = |app: &mut App, code: KeyCode| {
        app.handle(
            Event::Key(KeyEvent::new(code, KeyModifiers::NONE)),
            Instant::now(),
        )
    };
    press(&mut app, KeyCode::Char(':'));
    for c in "vol 30".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    assert_shows(&render(&mut app, 100, 20), ":vol 30█");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.prompt, None);
    assert_eq!(app.player.volume, 30);
    assert!(app
        .take_effects()
        .iter()
        .any(|e| matches!(e, Effect::Audio(AudioCommand::SetVolume(v)) if (v - 0.3).abs() < 1e-6)));

    // A mistake is named, with what would work.
    press(&mut app, KeyCode::Char(':'));
    for c in "repeat twice".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert_shows(&render(&mut app, 120, 20), "repeat needs off, all or one");

    // Action names work too.
    press(&mut app, KeyCode::Char(':'));
    for c in "quit".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert!(app.quit);
}
