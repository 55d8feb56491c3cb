//! What plays: starting queue items, pause, seek, skipping, gapless preloading, play reports
//! and podcast positions.

use std::time::Duration;

use super::queue::ItemKey;
use super::{App, PlayState, Player, Preload};
use crate::audio::deck::Token;
use crate::audio::{AudioCommand, AudioEvent, TrackInput};
use crate::net::{NetError, NetErrorKind, NetRequest};
use crate::track::TrackId;

/// A play counts once this much was heard (or half of a shorter song).
const PLAY_THRESHOLD: Duration = Duration::from_secs(30);
/// Podcast positions are saved this often while playing.
const SAVE_EVERY: Duration = Duration::from_secs(15);
/// The next track is prepared this long before the current one ends.
const PRELOAD_BEFORE_END: Duration = Duration::from_secs(20);
/// "Previous" restarts the track when it has played longer than this.
const RESTART_AFTER: Duration = Duration::from_secs(3);

impl App {
    /// Starts the queue item `key` (from its resume position for an episode).
    pub fn play_item(&mut self, key: ItemKey) {
        let Some(item) = self.queue.get(key).cloned() else {
            return;
        };
        self.save_episode_position();
        self.cancel_preload();
        let token = self.token();
        let start = Duration::from_millis(item.resume_ms.unwrap_or(0));
        let cached = self.cache.as_ref().map(|c| c.contains(&item.track.hash));
        self.player = Player {
            state: PlayState::Loading,
            token: Some(token),
            item: Some(key),
            duration: Duration::from_millis(item.track.duration_ms),
            track: Some(item.track.clone()),
            position: start,
            last_position: start,
            last_saved: start,
            volume: self.player.volume,
            cached,
            ..Player::default()
        };
        if let Some(index) = self.queue.index_of(key) {
            self.queue_selected = index;
        }
        self.start_timing();
        self.dirty = true;
        self.net(NetRequest::Prepare {
            token,
            track: item.track,
            preload: false,
        });
    }

    pub(super) fn stop(&mut self) {
        self.save_episode_position();
        self.cancel_preload();
        self.audio(AudioCommand::Stop);
        self.player = Player {
            volume: self.player.volume,
            ..Player::default()
        };
        self.dirty = true;
    }

    pub(super) fn toggle_pause(&mut self) {
        match self.player.state {
            PlayState::Playing => {
                self.player.state = PlayState::Paused;
                self.audio(AudioCommand::Pause);
                self.save_episode_position();
            }
            PlayState::Paused => {
                self.player.state = PlayState::Playing;
                self.audio(AudioCommand::Play);
            }
            PlayState::Loading => {
                self.player.pause_requested = !self.player.pause_requested;
            }
            PlayState::Stopped => {
                let key = self
                    .queue
                    .current()
                    .or_else(|| self.queue.items().first())
                    .map(|i| i.key);
                match key {
                    Some(key) => {
                        self.queue.set_current(key);
                        self.play_item(key);
                    }
                    None => self.info("the queue is empty: select a song and press Enter"),
                }
            }
        }
    }

    /// `n` (forward) or `p` (back).
    pub(super) fn skip(&mut self, forward: bool) {
        if !forward && self.player.position > RESTART_AFTER && self.player.token.is_some() {
            self.seek_to(Duration::ZERO);
            return;
        }
        let next = if forward {
            self.queue.advance(false)
        } else {
            self.queue.back()
        };
        match next {
            Some(key) => self.play_item(key),
            None if forward => self.info("end of the queue"),
            None => self.info("start of the queue"),
        }
    }

    pub(super) fn seek_by(&mut self, step: Duration, forward: bool) {
        let target = if forward {
            self.player.position + step
        } else {
            self.player.position.saturating_sub(step)
        };
        self.seek_to(target);
    }

    pub(super) fn seek_to(&mut self, target: Duration) {
        if !matches!(self.player.state, PlayState::Playing | PlayState::Paused) {
            return;
        }
        let target = if self.player.duration > Duration::ZERO {
            target.min(self.player.duration)
        } else {
            target
        };
        self.player.position = target;
        self.player.last_position = target;
        self.audio(AudioCommand::Seek(target));
    }

    /// Drops a prepared next track (the queue changed, or something else plays now).
    pub(super) fn cancel_preload(&mut self) {
        if let Some(preload) = self.player.preload.take() {
            if preload.sent {
                self.audio(AudioCommand::CancelPreload);
            }
        }
    }

    /// Sends an episode's position to the server (when one plays).
    pub(super) fn save_episode_position(&mut self) {
        let Some(track) = &self.player.track else {
            return;
        };
        let TrackId::Episode(episode) = track.id else {
            return;
        };
        if self.player.state == PlayState::Stopped || self.user.is_none() {
            return;
        }
        let position_ms = self.player.position.as_millis() as u64;
        self.player.last_saved = self.player.position;
        self.net(NetRequest::SavePosition {
            episode,
            position_ms,
        });
    }

    /// A track is ready (or not) to be opened by the audio thread.
    pub(super) fn on_prepared(
        &mut self,
        token: Token,
        preload: bool,
        result: Result<(TrackInput, bool), NetError>,
    ) {
        if preload {
            let Some(p) = self.player.preload.filter(|p| p.token == token) else {
                return;
            };
            match result {
                Ok((input, _)) => {
                    let hint = self
                        .queue
                        .get(p.item)
                        .map(|i| i.track.format_hint().to_string())
                        .unwrap_or_default();
                    self.audio(AudioCommand::Preload { token, input, hint });
                    self.player.preload = Some(Preload { sent: true, ..p });
                }
                // Not fatal: the next track will load when this one ends.
                Err(_) => self.player.preload = None,
            }
            return;
        }
        if self.player.token != Some(token) {
            return;
        }
        match result {
            Ok((input, cached)) => {
                let hint = self
                    .player
                    .track
                    .as_ref()
                    .map(|t| t.format_hint().to_string())
                    .unwrap_or_default();
                // A small file may have finished downloading before this answer came.
                let done = self
                    .player
                    .track
                    .as_ref()
                    .zip(self.cache.as_ref())
                    .is_some_and(|(t, c)| c.contains(&t.hash));
                self.player.cached = Some(cached || done);
                if let Some(timing) = &mut self.player.timing {
                    timing.from_cache = Some(cached);
                }
                let paused = self.player.pause_requested;
                self.audio(AudioCommand::Load {
                    token,
                    input,
                    hint,
                    start: self.player.position,
                    paused,
                });
            }
            Err(error) => {
                let title = self
                    .player
                    .track
                    .as_ref()
                    .map(|t| t.title.clone())
                    .unwrap_or_default();
                self.player.state = PlayState::Stopped;
                self.player.token = None;
                match error.kind {
                    NetErrorKind::Unauthorized if self.user.is_some() => {
                        self.ask_login("your session has expired: log in again")
                    }
                    NetErrorKind::Unreachable | NetErrorKind::NoServer => {
                        self.note_outage(&error);
                        self.error(format!(
                            "cannot reach the server, and “{title}” is not cached"
                        ));
                    }
                    _ => self.error(format!("cannot play “{title}”: {error}")),
                }
            }
        }
    }

    pub(super) fn on_audio(&mut self, event: AudioEvent) {
        match event {
            AudioEvent::Started { token, duration } => {
                if let Some(p) = self.player.preload.filter(|p| p.token == token) {
                    self.take_over_preload(p, duration);
                } else if self.player.token == Some(token) {
                    self.player.state = if self.player.pause_requested {
                        PlayState::Paused
                    } else {
                        PlayState::Playing
                    };
                    if let Some(d) = duration.filter(|d| !d.is_zero()) {
                        self.player.duration = d;
                    }
                    self.dirty = true;
                }
            }
            AudioEvent::Position { token, position } => {
                if self.player.token == Some(token) {
                    self.on_position(position);
                }
            }
            AudioEvent::Seeked { token, position } => {
                if self.player.token == Some(token) {
                    self.player.position = position;
                    self.player.last_position = position;
                    self.dirty = true;
                }
            }
            AudioEvent::Finished {
                token,
                error,
                continued,
            } => {
                if self.player.token != Some(token) {
                    return;
                }
                if let Some(error) = error {
                    let title = self.player.track.as_ref().map(|t| t.title.clone());
                    self.error(format!(
                        "playback of “{}” stopped: {error}",
                        title.unwrap_or_default()
                    ));
                }
                self.player.position = self.player.duration;
                self.save_episode_position();
                if continued {
                    return; // the preloaded track's Started follows
                }
                self.player.preload = None;
                match self.queue.advance(true) {
                    Some(key) => self.play_item(key),
                    None => {
                        self.player = Player {
                            volume: self.player.volume,
                            ..Player::default()
                        };
                        self.dirty = true;
                    }
                }
            }
            AudioEvent::FirstBuffer { token, at } => self.on_first_buffer(token, at),
            AudioEvent::Failed { token, error } => {
                if self.player.preload.is_some_and(|p| p.token == token) {
                    self.player.preload = None;
                } else if self.player.token == Some(token) {
                    let title = self.player.track.as_ref().map(|t| t.title.clone());
                    self.player.state = PlayState::Stopped;
                    self.player.token = None;
                    self.error(format!(
                        "cannot play “{}”: {error}",
                        title.unwrap_or_default()
                    ));
                }
            }
        }
    }

    /// A cached file that started playing failed its hash check (and is gone): play the item
    /// again from a fresh download, if it is still the one wanted.
    pub(super) fn on_cached_copy_damaged(&mut self, hash: &str, title: &str) {
        self.info(format!(
            "the cached copy of “{title}” was damaged: fetching it again"
        ));
        let preloaded = self
            .player
            .preload
            .and_then(|p| self.queue.get(p.item))
            .is_some_and(|i| i.track.hash == hash);
        if preloaded {
            self.cancel_preload();
        }
        let current = self
            .player
            .item
            .filter(|key| self.queue.get(*key).is_some_and(|i| i.track.hash == hash));
        if let Some(key) = current {
            self.play_item(key);
        }
    }

    /// The gapless hand-over: the preloaded item is now the one playing.
    fn take_over_preload(&mut self, preload: Preload, duration: Option<Duration>) {
        let Some(item) = self.queue.get(preload.item).cloned() else {
            return;
        };
        self.queue.set_current(item.key);
        let cached = self.cache.as_ref().map(|c| c.contains(&item.track.hash));
        self.player = Player {
            state: PlayState::Playing,
            token: Some(preload.token),
            item: Some(item.key),
            duration: duration
                .filter(|d| !d.is_zero())
                .unwrap_or(Duration::from_millis(item.track.duration_ms)),
            track: Some(item.track),
            volume: self.player.volume,
            cached,
            ..Player::default()
        };
        if let Some(index) = self.queue.index_of(item.key) {
            self.queue_selected = index;
        }
        self.dirty = true;
    }

    fn on_position(&mut self, position: Duration) {
        let player = &mut self.player;
        let before = player.position.as_secs();
        if position > player.last_position
            && position - player.last_position < Duration::from_secs(2)
        {
            player.listened += position - player.last_position;
        }
        player.last_position = position;
        player.position = position;
        if position.as_secs() != before {
            self.dirty = true;
        }
        let Some(track) = self.player.track.clone() else {
            return;
        };
        let threshold = PLAY_THRESHOLD.min(self.player.duration / 2);
        if !self.player.reported && self.player.listened >= threshold {
            self.player.reported = true;
            if let TrackId::Song(song) = track.id {
                let played_ms = self.player.listened.as_millis() as u64;
                self.net(NetRequest::RecordPlay { song, played_ms });
            }
        }
        if track.is_episode() && position.abs_diff(self.player.last_saved) >= SAVE_EVERY {
            self.save_episode_position();
        }
        let remaining = self.player.duration.saturating_sub(position);
        if self.player.preload.is_none()
            && self.player.state == PlayState::Playing
            && remaining <= PRELOAD_BEFORE_END
        {
            self.start_preload();
        }
    }

    fn start_preload(&mut self) {
        let Some(next) = self.queue.peek_next(true) else {
            return;
        };
        let Some(item) = self.queue.get(next).cloned() else {
            return;
        };
        if item.resume_ms.is_some_and(|ms| ms > 0) {
            return; // it starts mid-way: no seamless hand-over
        }
        let token = self.token();
        self.player.preload = Some(Preload {
            token,
            item: next,
            sent: false,
        });
        self.net(NetRequest::Prepare {
            token,
            track: item.track,
            preload: true,
        });
    }
}
