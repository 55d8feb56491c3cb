//! Answers from the server: screens filled, search results, logins, playlist edits, errors.

use cadenza_api::{Page, SearchResults};

use super::listing::Loaded;
use super::screen::{Row, Screen, ScreenKind};
use super::{App, Effect, Mode};
use crate::net::{Listing, NetError, NetErrorKind, NetEvent, NetRequest};

/// Search results as rows: one titled group per kind that found something.
pub fn search_rows(results: SearchResults) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut group = |title: &str, total: (u64, bool), items: Vec<Row>| {
        if !items.is_empty() {
            rows.push(Row::Header(format!("{title} ({})", count_label(total))));
            rows.extend(items);
        }
    };
    fn total<T>(p: &Page<T>) -> (u64, bool) {
        (p.total, p.total_is_lower_bound)
    }
    group(
        "Songs",
        total(&results.songs),
        results.songs.items.into_iter().map(Row::Song).collect(),
    );
    group(
        "Artists",
        total(&results.artists),
        results.artists.items.into_iter().map(Row::Artist).collect(),
    );
    group(
        "Albums",
        total(&results.albums),
        results.albums.items.into_iter().map(Row::Album).collect(),
    );
    group(
        "Playlists",
        total(&results.playlists),
        results
            .playlists
            .items
            .into_iter()
            .map(Row::Playlist)
            .collect(),
    );
    group(
        "Podcasts",
        total(&results.podcasts),
        results
            .podcasts
            .items
            .into_iter()
            .map(Row::Podcast)
            .collect(),
    );
    rows
}

/// A group's match count as shown: digits grouped by thousands, and "10,000+" when the
/// server stopped counting there (`total_is_lower_bound`).
fn count_label((total, lower_bound): (u64, bool)) -> String {
    let digits = total.to_string();
    let mut label = String::with_capacity(digits.len() + 8);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            label.push(',');
        }
        label.push(c);
    }
    if lower_bound {
        label.push('+');
    }
    label
}

impl App {
    pub(super) fn on_net(&mut self, event: NetEvent) {
        match event {
            NetEvent::LoggedIn { session, user } => {
                self.server = session.server.clone();
                self.user = Some(user);
                self.server_answered(true);
                self.mode = Mode::Main;
                self.effects.push(Effect::SaveSession(session.clone()));
                self.net(NetRequest::UseSession(session));
                self.info(format!(
                    "logged in as {}: press / to search, ? for help",
                    self.user
                        .as_ref()
                        .map(|u| u.username.as_str())
                        .unwrap_or("")
                ));
                self.load_top();
            }
            NetEvent::LoginFailed(message) => {
                if let Mode::Login(form) = &mut self.mode {
                    form.busy = false;
                    form.error = Some(message);
                }
            }
            NetEvent::Connected(user) => {
                self.user = Some(user);
                self.server_answered(false);
                self.load_top();
            }
            NetEvent::Loaded {
                listing,
                offset,
                result,
            } => self.on_loaded(&listing, offset, result.map(Loaded::from)),
            NetEvent::SearchResults { seq, result } => {
                if seq != self.search.seq {
                    return; // an older query answered late
                }
                if result.is_ok() {
                    self.server_answered(false);
                }
                let Some(screen) = self.stack.iter_mut().find(|s| s.kind == ScreenKind::Search)
                else {
                    return;
                };
                screen.loading = false;
                match result {
                    Ok(results) => {
                        screen.selected = 0;
                        screen.offset = 0;
                        screen.set_rows(search_rows(*results));
                    }
                    Err(error) => {
                        screen.error = Some(error.message.clone());
                        self.on_error("search", error);
                    }
                }
            }
            NetEvent::MyPlaylists(result) => {
                let Some(picker) = &mut self.picker else {
                    return;
                };
                match result {
                    Ok(playlists) if playlists.is_empty() => {
                        self.server_answered(false);
                        self.picker = None;
                        self.error("you have no playlists yet: press C to create one");
                    }
                    Ok(playlists) => {
                        picker.playlists = Some(playlists);
                        self.server_answered(false);
                    }
                    Err(error) => {
                        self.picker = None;
                        self.on_error("list your playlists", error);
                    }
                }
            }
            NetEvent::CollectionTracks {
                title,
                next,
                result,
            } => self.on_collection_tracks(title, next, result),
            NetEvent::PlaylistEdited { id, result, done } => match result {
                Ok(detail) => {
                    self.server_answered(true);
                    if !done.is_empty() {
                        self.info(done);
                    }
                    self.after_playlist_edit(id, detail);
                }
                Err(error) => {
                    self.on_error("change the playlist", error);
                    // Undo any optimistic change by reloading.
                    if self.screen().kind == ScreenKind::Playlist(id) {
                        self.load_top();
                    }
                }
            },
            NetEvent::Prepared {
                token,
                preload,
                result,
            } => self.on_prepared(token, preload, result),
            NetEvent::Download {
                hash,
                downloaded,
                total,
            } => {
                // Bytes arrived: the streaming path works again.
                self.server_answered(false);
                let playing = self.player.track.as_ref().is_some_and(|t| t.hash == hash);
                if playing {
                    self.player.download = (downloaded < total).then_some((downloaded, total));
                    if downloaded >= total {
                        self.player.cached = Some(true);
                    }
                } else {
                    self.dirty = false;
                }
            }
            NetEvent::CachedCopyDamaged { hash, title } => {
                self.on_cached_copy_damaged(&hash, &title)
            }
            NetEvent::KeptPlaysSent(sent) => {
                let plays = if sent == 1 { "play" } else { "plays" };
                self.info(format!("reported {sent} {plays} kept for later"));
                let was_offline = self.outage.as_ref().is_some_and(|o| o.offline());
                self.server_answered(true);
                if was_offline && self.user.is_none() {
                    // Started offline: now the account can be loaded.
                    self.net(NetRequest::Connect);
                }
            }
            NetEvent::Note(text) => self.info(text),
            NetEvent::PlayKept { note, error } => {
                self.note_outage(&error);
                self.info(note);
            }
            NetEvent::Failed { what, error } => self.on_error(&what, error),
        }
    }

    fn on_loaded(&mut self, listing: &Listing, offset: u32, result: Result<Loaded, NetError>) {
        if result.is_ok() {
            self.server_answered(false);
        }
        let shows = |s: &&mut Screen| s.kind.listing().as_ref() == Some(listing);
        let Some(screen) = self.stack.iter_mut().find(shows) else {
            return;
        };
        screen.loading = false;
        match result {
            Ok(loaded) => {
                if let Some(title) = loaded.title {
                    screen.title = title;
                }
                if loaded.playlist.is_some() {
                    screen.playlist = loaded.playlist;
                }
                screen.total = loaded.total;
                if offset == 0 {
                    screen.set_rows(loaded.rows);
                } else {
                    let mut rows = std::mem::take(&mut screen.rows);
                    rows.extend(loaded.rows);
                    screen.set_rows(rows);
                }
            }
            Err(error) => {
                screen.error = Some(error.message.clone());
                self.on_error("load this view", error);
            }
        }
    }

    fn after_playlist_edit(&mut self, id: i64, detail: Option<cadenza_api::PlaylistDetail>) {
        for screen in &mut self.stack {
            match (&screen.kind, &detail) {
                (ScreenKind::Playlist(shown), Some(detail)) if *shown == id => {
                    screen.loading = false;
                    screen.title = detail.playlist.name.clone();
                    screen.playlist = Some(detail.playlist.clone());
                    screen.set_rows(detail.tracks.iter().cloned().map(Row::Song).collect());
                }
                _ => {}
            }
        }
        // A deleted playlist's screen has nothing left to show.
        if detail.is_none() {
            let deleted = self
                .stack
                .iter()
                .position(|s| s.kind == ScreenKind::Playlist(id));
            if let Some(at) = deleted {
                self.stack.truncate(at.max(1));
            }
        }
        let lists = self
            .stack
            .iter()
            .position(|s| s.kind == ScreenKind::Playlists);
        if let Some(at) = lists {
            self.stack[at].loading = true;
            self.net(NetRequest::Load {
                listing: Listing::Playlists,
                offset: 0,
            });
        }
    }

    /// One line for a failed call; a lost session asks for a login, a lost server goes
    /// offline, and an outage names the part that is down when the answer tells.
    pub(super) fn on_error(&mut self, what: &str, error: NetError) {
        self.note_outage(&error);
        match error.kind {
            NetErrorKind::Unauthorized => {
                self.ask_login("your session has expired or was revoked: log in again")
            }
            NetErrorKind::Unreachable => self.error(format!(
                "cannot reach the server ({}); cached songs still play (see Cached)",
                self.server
            )),
            NetErrorKind::NoServer => self.error(format!(
                "the load balancer at {} answers, but no server behind it does; \
                 cached songs still play (see Cached)",
                self.server
            )),
            _ => self.error(format!("could not {what}: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::count_label;
    use crate::app::{App, Effect, Event};
    use crate::config::Config;
    use crate::net::{NetEvent, NetRequest};
    use crate::session::Session;

    #[test]
    fn kept_plays_going_through_end_the_offline_state_and_reconnect() {
        let session = Session {
            server: "http://127.0.0.1:4533/".into(),
            token: "t".into(),
            username: "ada".into(),
        };
        let mut app = App::new(&Config::default(), None, Some(&session));
        app.take_effects();
        app.outage = Some(crate::app::outage::Outage {
            down: crate::app::outage::Down::Server,
            reason: "connection refused".into(),
        });
        app.handle(
            Event::Net(NetEvent::KeptPlaysSent(2)),
            std::time::Instant::now(),
        );
        assert_eq!(app.outage, None);
        assert!(app
            .message
            .as_ref()
            .is_some_and(|m| m.text == "reported 2 plays kept for later"));
        let effects = app.take_effects();
        assert!(
            matches!(effects.as_slice(), [Effect::Net(NetRequest::Connect)]),
            "{effects:?}"
        );
    }

    #[test]
    fn counts_show_thousands_and_lower_bounds() {
        assert_eq!(count_label((0, false)), "0");
        assert_eq!(count_label((999, false)), "999");
        assert_eq!(count_label((1_000, false)), "1,000");
        assert_eq!(count_label((1_234_567, false)), "1,234,567");
        assert_eq!(count_label((10_000, true)), "10,000+");
    }
}
