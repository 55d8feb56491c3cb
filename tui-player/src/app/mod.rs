//! The player's whole state and how events change it. Pure: no I/O here. Whatever must happen
//! outside (a request, an audio command, saving the login) is pushed to `effects` for the
//! runtime to carry out, so tests can drive the app and look at both.

mod command;
mod enqueue;
mod input;
mod listing;
pub mod network;
pub mod outage;
mod playback;
pub mod queue;
pub mod screen;
pub mod timing;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cadenza_api::{Playlist, PlaylistId, SongId, User};
use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;

use crate::audio::deck::Token;
use crate::audio::{AudioCommand, AudioEvent};
use crate::cache::Cache;
use crate::config::{Config, Theme};
use crate::keys::KeyMap;
use crate::net::{NetEvent, NetRequest};
use crate::session::Session;
use crate::track::Track;
use queue::{ItemKey, Queue};
use screen::{Row, Screen, ScreenKind, SECTIONS};

/// Something the runtime must do for the app.
#[derive(Debug)]
pub enum Effect {
    Net(NetRequest),
    Audio(AudioCommand),
    SaveSession(Session),
    ForgetSession,
    /// A line for the timings file (only when the hook is on).
    Timing(String),
}

/// Everything the app reacts to.
#[derive(Debug)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Paste(String),
    Resize,
    Net(NetEvent),
    Audio(AudioEvent),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginForm {
    pub server: String,
    pub username: String,
    pub password: String,
    /// 0 server, 1 username, 2 password.
    pub field: usize,
    pub error: Option<String>,
    pub busy: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Login(LoginForm),
    Main,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Sidebar,
    Main,
    Queue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    NewPlaylist,
    RenamePlaylist(PlaylistId),
    /// Asks y/n.
    DeletePlaylist(PlaylistId, String),
    /// The `:` command line.
    Command,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub text: String,
}

/// "Add to playlist": choosing which of the user's playlists.
#[derive(Debug, Clone, PartialEq)]
pub struct Picker {
    pub songs: Vec<SongId>,
    pub label: String,
    /// `None` while loading.
    pub playlists: Option<Vec<Playlist>>,
    pub selected: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayState {
    Stopped,
    /// Fetching or opening the track.
    Loading,
    Playing,
    Paused,
}

/// A next track being prepared for gapless playback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preload {
    pub token: Token,
    pub item: ItemKey,
    /// Handed to the audio thread.
    pub sent: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Player {
    pub state: PlayState,
    pub token: Option<Token>,
    pub item: Option<ItemKey>,
    pub track: Option<Track>,
    pub position: Duration,
    pub duration: Duration,
    /// 0..=100
    pub volume: u8,
    /// Whether the track plays from the cache (`None` until known).
    pub cached: Option<bool>,
    /// Bytes downloaded / total while streaming.
    pub download: Option<(u64, u64)>,
    /// Time actually heard (seeks excluded), for play reports.
    pub listened: Duration,
    pub last_position: Duration,
    pub reported: bool,
    pub last_saved: Duration,
    pub preload: Option<Preload>,
    /// Paused while it was still loading.
    pub pause_requested: bool,
    /// Timing this play from the user's input (the `--timings` hook).
    pub timing: Option<timing::PlayTiming>,
}

impl Default for Player {
    fn default() -> Self {
        Self {
            state: PlayState::Stopped,
            token: None,
            item: None,
            track: None,
            position: Duration::ZERO,
            duration: Duration::ZERO,
            volume: 80,
            cached: None,
            download: None,
            listened: Duration::ZERO,
            last_position: Duration::ZERO,
            reported: false,
            last_saved: Duration::ZERO,
            preload: None,
            pause_requested: false,
            timing: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SearchState {
    pub query: String,
    /// Keys type into the query.
    pub editing: bool,
    /// Sequence number of the last search sent; older answers are dropped.
    pub seq: u64,
    /// When the query last changed and has not been sent yet.
    pub due: Option<Instant>,
}

/// Screen areas of the last frame, for mouse clicks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub sidebar: Option<Rect>,
    pub main: Option<Rect>,
    pub queue: Option<Rect>,
    /// Offsets of the first visible row of each list.
    pub sidebar_offset: usize,
    pub main_offset: usize,
    pub queue_offset: usize,
}

pub const SEARCH_DEBOUNCE: Duration = Duration::from_millis(150);

pub struct App {
    pub keys: KeyMap,
    pub theme: Theme,
    pub cache: Option<Arc<Cache>>,
    pub server: String,
    pub user: Option<User>,
    pub mode: Mode,
    pub focus: Pane,
    /// Index into [`SECTIONS`].
    pub section: usize,
    /// Navigation: the section's root screen, then what was opened from it.
    pub stack: Vec<Screen>,
    pub search: SearchState,
    pub queue: Queue,
    pub queue_selected: usize,
    pub player: Player,
    pub message: Option<Message>,
    /// Why there is no sound, when there is none.
    pub silent: Option<String>,
    /// What is down, from the last failed call (cleared by the next answer).
    pub outage: Option<outage::Outage>,
    pub help: bool,
    pub help_offset: usize,
    pub prompt: Option<Prompt>,
    pub picker: Option<Picker>,
    pub areas: Areas,
    pub effects: Vec<Effect>,
    /// The screen must be drawn again.
    pub dirty: bool,
    pub quit: bool,
    /// The `--timings` hook is on: plays started by an input are timed.
    pub timings: bool,
    /// The input event being handled (only while `timings`).
    input_stamp: Option<timing::InputStamp>,
    next_token: Token,
    last_click: Option<(Instant, Pane, usize)>,
}

impl App {
    /// A new app. With a session it connects; without one it asks for a login.
    pub fn new(config: &Config, cache: Option<Arc<Cache>>, session: Option<&Session>) -> Self {
        let server = session
            .map(|s| s.server.clone())
            .or_else(|| config.server.clone())
            .unwrap_or_else(|| format!("http://127.0.0.1:{}", cadenza_api::DEFAULT_PORT));
        let mut app = Self {
            keys: config.keys.clone(),
            theme: config.theme,
            cache,
            server: server.clone(),
            user: None,
            mode: Mode::Main,
            focus: Pane::Main,
            section: 0,
            stack: vec![Screen::new(ScreenKind::Search, "Search")],
            search: SearchState::default(),
            queue: Queue::default(),
            queue_selected: 0,
            player: Player::default(),
            message: None,
            silent: None,
            outage: None,
            help: false,
            help_offset: 0,
            prompt: None,
            picker: None,
            areas: Areas::default(),
            effects: Vec::new(),
            dirty: true,
            quit: false,
            timings: false,
            input_stamp: None,
            next_token: 0,
            last_click: None,
        };
        match session {
            Some(_) => app.effects.push(Effect::Net(NetRequest::Connect)),
            None => app.mode = Mode::Login(LoginForm::new(server, None)),
        }
        app
    }

    /// Reacts to one event.
    pub fn handle(&mut self, event: Event, now: Instant) {
        if self.timings {
            self.input_stamp = match &event {
                Event::Key(key) => Some(timing::key_name(key)),
                Event::Mouse(_) => Some("click".to_string()),
                _ => None,
            }
            .map(|input| timing::InputStamp { at: now, input });
        }
        match event {
            Event::Key(key) => {
                self.dirty = true;
                self.on_key(key, now);
            }
            Event::Mouse(mouse) => self.on_mouse(mouse, now),
            Event::Paste(text) => {
                self.dirty = true;
                self.on_paste(&text, now);
            }
            Event::Resize => self.dirty = true,
            Event::Net(event) => {
                self.dirty = true;
                self.on_net(event);
            }
            Event::Audio(event) => self.on_audio(event),
        }
        self.input_stamp = None;
    }

    /// When [`App::on_timer`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.search.due.map(|t| t + SEARCH_DEBOUNCE)
    }

    pub fn on_timer(&mut self, now: Instant) {
        if let Some(changed) = self.search.due {
            if now >= changed + SEARCH_DEBOUNCE {
                self.search.due = None;
                self.send_search();
            }
        }
    }

    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    fn net(&mut self, request: NetRequest) {
        self.effects.push(Effect::Net(request));
    }

    fn audio(&mut self, command: AudioCommand) {
        self.effects.push(Effect::Audio(command));
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
        self.dirty = true;
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            error: true,
        });
        self.dirty = true;
    }

    fn token(&mut self) -> Token {
        self.next_token += 1;
        self.next_token
    }

    pub fn screen(&self) -> &Screen {
        // The stack is never empty: `open_section` always leaves a root.
        &self.stack[self.stack.len() - 1]
    }

    pub fn screen_mut(&mut self) -> &mut Screen {
        let last = self.stack.len() - 1;
        &mut self.stack[last]
    }

    /// Switches to a sidebar section, with a fresh root screen.
    pub fn open_section(&mut self, index: usize) {
        let Some((name, kind)) = SECTIONS.get(index) else {
            return;
        };
        self.section = index;
        self.stack = vec![Screen::new(kind.clone(), *name)];
        self.load_top();
    }

    /// Opens a screen on top of the current one.
    pub fn push_screen(&mut self, kind: ScreenKind, title: String) {
        self.stack.push(Screen::new(kind, title));
        self.load_top();
    }

    /// (Re)loads the top screen.
    pub fn load_top(&mut self) {
        let kind = self.screen().kind.clone();
        match kind {
            ScreenKind::Search => {}
            ScreenKind::Cached => {
                let rows = self
                    .cache
                    .as_ref()
                    .map(|c| c.tracks().into_iter().map(Row::Cached).collect())
                    .unwrap_or_default();
                self.screen_mut().set_rows(rows);
            }
            kind => {
                if let Some(listing) = kind.listing() {
                    self.screen_mut().loading = true;
                    self.net(NetRequest::Load { listing, offset: 0 });
                }
            }
        }
    }

    /// The playlist the current view is about (its screen, or the selected row), if any.
    fn playlist_in_view(&self) -> Option<Playlist> {
        let screen = self.screen();
        if let ScreenKind::Playlist(_) = screen.kind {
            return screen.playlist.clone();
        }
        match screen.selected_row() {
            Some(Row::Playlist(p)) if self.focus == Pane::Main => Some(p.clone()),
            _ => None,
        }
    }

    /// Playlists can be changed by their owner only: says so when the user is not.
    fn check_owner(&mut self, playlist: &Playlist) -> bool {
        match &self.user {
            Some(user) if user.id == playlist.owner_id => true,
            Some(_) => {
                self.error(format!(
                    "“{}” belongs to {}: only its owner can change it",
                    playlist.name, playlist.owner
                ));
                false
            }
            None => {
                self.error("not connected to the server: playlists cannot be changed offline");
                false
            }
        }
    }
}

impl LoginForm {
    pub fn new(server: String, error: Option<String>) -> Self {
        Self {
            server,
            username: String::new(),
            password: String::new(),
            field: 1,
            error,
            busy: false,
        }
    }
}
