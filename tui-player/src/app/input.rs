//! Keys and mouse: the login form, text prompts, the search box, and the bound actions.

use std::time::{Duration, Instant};

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

use super::screen::{Row, ScreenKind, SECTIONS};
use super::{App, LoginForm, Mode, Pane, Picker, Prompt, PromptKind};
use crate::action::Action;
use crate::audio::AudioCommand;
use crate::net::NetRequest;

const SEEK_STEP: Duration = Duration::from_secs(5);
const VOLUME_STEP: u8 = 5;
const PAGE_ROWS: isize = 10;
const DOUBLE_CLICK: Duration = Duration::from_millis(400);

/// Edits `text` with a key; returns false when the key is not an edit.
fn edit_text(text: &mut String, key: &KeyEvent) -> bool {
    match key.code {
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            text.push(c);
            true
        }
        KeyCode::Backspace => {
            text.pop();
            true
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            text.clear();
            true
        }
        _ => false,
    }
}

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent, now: Instant) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.request_quit();
            return;
        }
        if let Mode::Login(_) = self.mode {
            self.login_key(key);
            return;
        }
        if self.help {
            self.help_key(key);
            return;
        }
        if self.prompt.is_some() {
            self.prompt_key(key);
            return;
        }
        if self.picker.is_some() {
            self.picker_key(key);
            return;
        }
        if self.search.editing && self.search_key(key, now) {
            return;
        }
        if let Some(action) = self.keys.action(&key) {
            self.act(action);
        }
    }

    pub(super) fn on_paste(&mut self, text: &str, now: Instant) {
        let text: String = text.chars().filter(|c| !c.is_control()).collect();
        if let Mode::Login(form) = &mut self.mode {
            match form.field {
                0 => form.server.push_str(&text),
                1 => form.username.push_str(&text),
                _ => form.password.push_str(&text),
            }
        } else if let Some(prompt) = &mut self.prompt {
            prompt.text.push_str(&text);
        } else if self.search.editing {
            self.search.query.push_str(&text);
            self.search.due = Some(now);
        }
    }

    fn login_key(&mut self, key: KeyEvent) {
        let Mode::Login(form) = &mut self.mode else {
            return;
        };
        if form.busy {
            return;
        }
        match key.code {
            KeyCode::Esc => self.quit = true,
            KeyCode::Tab | KeyCode::Down => form.field = (form.field + 1) % 3,
            KeyCode::BackTab | KeyCode::Up => form.field = (form.field + 2) % 3,
            KeyCode::Enter if form.field < 2 => form.field += 1,
            KeyCode::Enter => self.submit_login(),
            _ => {
                let field = match form.field {
                    0 => &mut form.server,
                    1 => &mut form.username,
                    _ => &mut form.password,
                };
                edit_text(field, &key);
            }
        }
    }

    fn submit_login(&mut self) {
        let Mode::Login(form) = &mut self.mode else {
            return;
        };
        let missing = [
            (form.server.trim(), "the server URL"),
            (form.username.trim(), "a username"),
            (form.password.as_str(), "a password"),
        ]
        .iter()
        .find(|(value, _)| value.is_empty())
        .map(|(_, what)| *what);
        if let Some(what) = missing {
            form.error = Some(format!("enter {what}"));
            return;
        }
        form.busy = true;
        form.error = None;
        let request = NetRequest::Login {
            server: form.server.trim().to_string(),
            username: form.username.trim().to_string(),
            password: form.password.clone(),
        };
        self.net(request);
    }

    fn help_key(&mut self, key: KeyEvent) {
        match self.keys.action(&key) {
            Some(Action::Down) => self.help_offset += 1,
            Some(Action::Up) => self.help_offset = self.help_offset.saturating_sub(1),
            Some(Action::PageDown) => self.help_offset += PAGE_ROWS as usize,
            Some(Action::PageUp) => {
                self.help_offset = self.help_offset.saturating_sub(PAGE_ROWS as usize)
            }
            Some(Action::Quit) => self.request_quit(),
            _ => {
                self.help = false;
                self.help_offset = 0;
            }
        }
    }

    fn prompt_key(&mut self, key: KeyEvent) {
        let Some(prompt) = &mut self.prompt else {
            return;
        };
        if let PromptKind::DeletePlaylist(id, _) = prompt.kind {
            if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                self.prompt = None;
                self.net(NetRequest::DeletePlaylist { id });
            } else {
                self.prompt = None;
                self.info("kept the playlist");
            }
            return;
        }
        match key.code {
            KeyCode::Esc => self.prompt = None,
            KeyCode::Enter if prompt.kind == PromptKind::Command => {
                let line = std::mem::take(&mut prompt.text);
                self.prompt = None;
                self.run_command(&line);
            }
            KeyCode::Enter => {
                let name = prompt.text.trim().to_string();
                if name.is_empty() {
                    self.error("a playlist needs a name");
                    return;
                }
                let request = match prompt.kind {
                    PromptKind::NewPlaylist => NetRequest::CreatePlaylist { name },
                    PromptKind::RenamePlaylist(id) => NetRequest::RenamePlaylist { id, name },
                    PromptKind::DeletePlaylist(..) | PromptKind::Command => return,
                };
                self.prompt = None;
                self.net(request);
            }
            _ => {
                edit_text(&mut prompt.text, &key);
            }
        }
    }

    fn picker_key(&mut self, key: KeyEvent) {
        let Some(picker) = &mut self.picker else {
            return;
        };
        let count = picker.playlists.as_ref().map_or(0, Vec::len);
        match self.keys.action(&key) {
            Some(Action::Down) => {
                picker.selected = (picker.selected + 1).min(count.saturating_sub(1))
            }
            Some(Action::Up) => picker.selected = picker.selected.saturating_sub(1),
            Some(Action::Select) => {
                let chosen = picker
                    .playlists
                    .as_ref()
                    .and_then(|p| p.get(picker.selected))
                    .map(|p| p.id);
                if let Some(id) = chosen {
                    let songs = std::mem::take(&mut picker.songs);
                    self.picker = None;
                    self.net(NetRequest::AddToPlaylist { id, songs });
                }
            }
            Some(Action::Back) | Some(Action::AddToPlaylist) => self.picker = None,
            Some(Action::NewPlaylist) => {
                self.picker = None;
                self.prompt = Some(Prompt {
                    kind: PromptKind::NewPlaylist,
                    text: String::new(),
                });
            }
            _ => {}
        }
    }

    /// Typing into the search box. Returns false for keys it leaves to the bindings.
    fn search_key(&mut self, key: KeyEvent, now: Instant) -> bool {
        match key.code {
            KeyCode::Enter | KeyCode::Down => {
                self.search.editing = false;
                if self.search.due.is_some() {
                    self.search.due = None;
                    self.send_search();
                }
                true
            }
            KeyCode::Esc => {
                self.search.editing = false;
                true
            }
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Up => {
                self.search.editing = false;
                false
            }
            _ => {
                if edit_text(&mut self.search.query, &key) {
                    self.search.due = Some(now);
                    true
                } else {
                    false
                }
            }
        }
    }

    pub(super) fn send_search(&mut self) {
        let query = self.search.query.trim().to_string();
        self.search.seq += 1;
        let seq = self.search.seq;
        let Some(screen) = self.stack.iter_mut().find(|s| s.kind == ScreenKind::Search) else {
            return;
        };
        if query.is_empty() {
            screen.set_rows(Vec::new());
            screen.loading = false;
            return;
        }
        screen.loading = true;
        self.net(NetRequest::Search { seq, query });
    }

    pub fn request_quit(&mut self) {
        self.save_episode_position();
        self.quit = true;
    }

    /// Carries out one bound action.
    pub fn act(&mut self, action: Action) {
        match action {
            Action::Quit => self.request_quit(),
            Action::Help => {
                self.help = !self.help;
                self.help_offset = 0;
            }
            Action::TogglePause => self.toggle_pause(),
            Action::Next => self.skip(true),
            Action::Previous => self.skip(false),
            Action::SeekForward => self.seek_by(SEEK_STEP, true),
            Action::SeekBackward => self.seek_by(SEEK_STEP, false),
            Action::VolumeUp => self.set_volume(self.player.volume.saturating_add(VOLUME_STEP)),
            Action::VolumeDown => self.set_volume(self.player.volume.saturating_sub(VOLUME_STEP)),
            Action::Search => {
                if self.screen().kind != ScreenKind::Search || self.stack.len() > 1 {
                    self.open_section(0);
                }
                self.focus = Pane::Main;
                self.search.editing = true;
            }
            Action::FocusNext => {
                self.focus = match self.focus {
                    Pane::Sidebar => Pane::Main,
                    Pane::Main => Pane::Queue,
                    Pane::Queue => Pane::Sidebar,
                }
            }
            Action::FocusPrevious => {
                self.focus = match self.focus {
                    Pane::Sidebar => Pane::Queue,
                    Pane::Main => Pane::Sidebar,
                    Pane::Queue => Pane::Main,
                }
            }
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-PAGE_ROWS),
            Action::PageDown => self.move_selection(PAGE_ROWS),
            Action::Top => self.move_selection(isize::MIN / 2),
            Action::Bottom => self.move_selection(isize::MAX / 2),
            Action::Select => self.select(),
            Action::Back => self.back(),
            Action::AddToQueue => self.enqueue(false),
            Action::PlayNext => self.enqueue(true),
            Action::Remove => self.remove_selected(),
            Action::ClearQueue => {
                self.queue.clear();
                self.queue_selected = 0;
                self.stop();
                self.info("cleared the queue");
            }
            Action::MoveUp => self.move_item(-1),
            Action::MoveDown => self.move_item(1),
            Action::ToggleShuffle => {
                let on = self.queue.toggle_shuffle();
                self.cancel_preload();
                self.info(if on { "shuffle on" } else { "shuffle off" });
            }
            Action::CycleRepeat => {
                let repeat = self.queue.cycle_repeat();
                self.cancel_preload();
                self.info(format!("repeat {}", repeat.label()));
            }
            Action::AddToPlaylist => self.open_picker(),
            Action::NewPlaylist => {
                self.prompt = Some(Prompt {
                    kind: PromptKind::NewPlaylist,
                    text: String::new(),
                })
            }
            Action::RenamePlaylist => match self.playlist_in_view() {
                Some(p) if self.check_owner(&p) => {
                    self.prompt = Some(Prompt {
                        kind: PromptKind::RenamePlaylist(p.id),
                        text: p.name.clone(),
                    })
                }
                Some(_) => {}
                None => self.error("open or select a playlist to rename it"),
            },
            Action::DeletePlaylist => match self.playlist_in_view() {
                Some(p) if self.check_owner(&p) => {
                    self.prompt = Some(Prompt {
                        kind: PromptKind::DeletePlaylist(p.id, p.name.clone()),
                        text: String::new(),
                    })
                }
                Some(_) => {}
                None => self.error("open or select a playlist to delete it"),
            },
            Action::CommandLine => self.open_command_line(),
            Action::Refresh => {
                if self.screen().kind == ScreenKind::Search {
                    self.send_search();
                } else {
                    self.load_top();
                }
            }
        }
    }

    fn move_selection(&mut self, delta: isize) {
        match self.focus {
            Pane::Sidebar => {
                let last = SECTIONS.len() as isize - 1;
                self.section = (self.section as isize + delta).clamp(0, last) as usize;
            }
            Pane::Main => {
                self.screen_mut().move_by(delta);
                self.load_more_if_needed();
            }
            Pane::Queue => {
                let last = self.queue.len().saturating_sub(1) as isize;
                self.queue_selected =
                    (self.queue_selected as isize + delta).clamp(0, last) as usize;
            }
        }
    }

    pub(super) fn load_more_if_needed(&mut self) {
        let screen = self.screen();
        if let Some(listing) = screen.kind.listing().filter(|_| screen.wants_more()) {
            let offset = screen.rows.len() as u32;
            self.screen_mut().loading = true;
            self.net(NetRequest::Load { listing, offset });
        }
    }

    fn select(&mut self) {
        match self.focus {
            Pane::Sidebar => {
                self.open_section(self.section);
                self.focus = Pane::Main;
                if self.section == 0 {
                    self.search.editing = true;
                }
            }
            Pane::Main => {
                let Some(row) = self.screen().selected_row().cloned() else {
                    return;
                };
                if let Some((kind, title)) = row.opens() {
                    self.push_screen(kind, title);
                } else if row.track().is_some() {
                    let (tracks, start) = self.screen().playable();
                    if let Some(key) = self.queue.replace(tracks, start.unwrap_or(0)) {
                        self.queue_selected = self.queue.index_of(key).unwrap_or(0);
                        self.play_item(key);
                    }
                }
            }
            Pane::Queue => {
                if let Some(item) = self.queue.items().get(self.queue_selected) {
                    let key = item.key;
                    self.queue.set_current(key);
                    self.play_item(key);
                }
            }
        }
    }

    fn back(&mut self) {
        if self.search.editing {
            self.search.editing = false;
        } else if self.focus == Pane::Main && self.stack.len() > 1 {
            self.stack.pop();
        } else if self.focus != Pane::Sidebar {
            self.focus = Pane::Sidebar;
        }
    }

    fn remove_selected(&mut self) {
        match self.focus {
            Pane::Queue => {
                if self.queue.is_empty() {
                    return;
                }
                let was_current = self.queue.remove(self.queue_selected);
                self.queue_selected = self.queue_selected.min(self.queue.len().saturating_sub(1));
                self.cancel_preload();
                if was_current {
                    self.stop();
                }
            }
            Pane::Main => {
                let screen = self.screen();
                let (ScreenKind::Playlist(id), Some(playlist)) =
                    (screen.kind.clone(), screen.playlist.clone())
                else {
                    self.error("songs are removed from a playlist or the queue (Tab to the queue)");
                    return;
                };
                if screen.rows.is_empty() || !self.check_owner(&playlist) {
                    return;
                }
                let position = self.screen().selected as u32;
                self.screen_mut().loading = true;
                self.net(NetRequest::RemoveFromPlaylist { id, position });
            }
            Pane::Sidebar => {}
        }
    }

    fn move_item(&mut self, delta: isize) {
        match self.focus {
            Pane::Queue => {
                let to = self.queue_selected as isize + delta;
                if to >= 0 && self.queue.move_item(self.queue_selected, to as usize) {
                    self.queue_selected = to as usize;
                    self.cancel_preload();
                }
            }
            Pane::Main => {
                let screen = self.screen();
                let (ScreenKind::Playlist(id), Some(playlist)) =
                    (screen.kind.clone(), screen.playlist.clone())
                else {
                    self.error("only queue and playlist items can be moved");
                    return;
                };
                let from = screen.selected;
                let to = from as isize + delta;
                if to < 0 || to as usize >= screen.rows.len() || !self.check_owner(&playlist) {
                    return;
                }
                // Show it at once; the server's answer replaces the rows.
                let screen = self.screen_mut();
                screen.rows.swap(from, to as usize);
                screen.selected = to as usize;
                screen.loading = true;
                self.net(NetRequest::MoveInPlaylist {
                    id,
                    from: from as u32,
                    to: to as u32,
                });
            }
            Pane::Sidebar => {}
        }
    }

    fn open_picker(&mut self) {
        let selected = match self.focus {
            Pane::Main => self.screen().selected_row().cloned(),
            Pane::Queue => self
                .queue
                .items()
                .get(self.queue_selected)
                .map(|i| Row::Cached(i.track.clone())),
            Pane::Sidebar => None,
        };
        let song = match selected {
            Some(Row::Song(s)) | Some(Row::Hot { song: s, .. }) => Some((s.id, s.title)),
            Some(Row::Cached(t)) => match t.id {
                crate::track::TrackId::Song(id) => Some((id, t.title)),
                crate::track::TrackId::Episode(_) => None,
            },
            _ => None,
        };
        let Some((id, title)) = song else {
            self.error("select a song to add it to a playlist");
            return;
        };
        self.picker = Some(Picker {
            songs: vec![id],
            label: title,
            playlists: None,
            selected: 0,
        });
        self.net(NetRequest::MyPlaylists);
    }

    // ------------------------------------------------------------------ mouse

    pub(super) fn on_mouse(&mut self, mouse: MouseEvent, now: Instant) {
        if !matches!(self.mode, Mode::Main) || self.help || self.prompt.is_some() {
            return;
        }
        let hit = |area: Option<Rect>| {
            area.filter(|a| {
                mouse.column >= a.x
                    && mouse.column < a.x + a.width
                    && mouse.row >= a.y
                    && mouse.row < a.y + a.height
            })
        };
        let areas = self.areas;
        let (pane, area, offset) = if let Some(a) = hit(areas.sidebar) {
            (Pane::Sidebar, a, areas.sidebar_offset)
        } else if let Some(a) = hit(areas.main) {
            (Pane::Main, a, areas.main_offset)
        } else if let Some(a) = hit(areas.queue) {
            (Pane::Queue, a, areas.queue_offset)
        } else {
            return;
        };
        match mouse.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let focus = self.focus;
                self.focus = pane;
                let delta = if mouse.kind == MouseEventKind::ScrollDown {
                    3
                } else {
                    -3
                };
                self.move_selection(delta);
                self.focus = focus;
                self.dirty = true;
            }
            MouseEventKind::Down(MouseButton::Left) => {
                let row = offset + usize::from(mouse.row - area.y);
                self.focus = pane;
                self.search.editing = false;
                let double = self
                    .last_click
                    .is_some_and(|(t, p, r)| p == pane && r == row && now - t < DOUBLE_CLICK);
                self.last_click = Some((now, pane, row));
                self.dirty = true;
                match pane {
                    Pane::Sidebar => {
                        if row < SECTIONS.len() {
                            self.section = row;
                            self.select();
                        }
                    }
                    Pane::Main => {
                        if row < self.screen().rows.len() {
                            self.screen_mut().select(row);
                            if double {
                                self.select();
                            }
                        }
                    }
                    Pane::Queue => {
                        if row < self.queue.len() {
                            self.queue_selected = row;
                            if double {
                                self.select();
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The login form shown again, e.g. when the token expired.
    pub fn ask_login(&mut self, why: &str) {
        let mut form = LoginForm::new(self.server.clone(), Some(why.to_string()));
        if let Some(user) = &self.user {
            form.username = user.username.clone();
            form.field = 2;
        }
        self.mode = Mode::Login(form);
        self.effects.push(super::Effect::ForgetSession);
    }

    pub(super) fn set_volume(&mut self, volume: u8) {
        let volume = volume.min(100);
        self.player.volume = volume;
        self.audio(AudioCommand::SetVolume(f32::from(volume) / 100.0));
        self.info(format!("volume {volume}%"));
    }
}
