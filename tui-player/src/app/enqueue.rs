//! `a` and `A`: adding the selection to the queue (at the end, or to play next). A song or an
//! episode goes in at once; an album or a playlist row fetches its tracks first and adds them
//! all, in order, when they arrive (as spotify-player and ncspot do).

use super::listing::Loaded;
use super::queue::ItemKey;
use super::screen::Row;
use super::{App, Pane, PlayState};
use crate::net::{Fetched, Listing, NetError, NetRequest};
use crate::track::Track;

impl App {
    pub(super) fn enqueue(&mut self, next: bool) {
        let row = match self.focus {
            Pane::Main => self.screen().selected_row().cloned(),
            _ => None,
        };
        let collection = match &row {
            Some(Row::Album(a)) => Some((Listing::Album(a.id), a.title.clone())),
            Some(Row::Playlist(p)) => Some((Listing::Playlist(p.id), p.name.clone())),
            _ => None,
        };
        if let Some((listing, title)) = collection {
            self.info(format!("fetching the songs of “{title}”…"));
            self.net(NetRequest::QueueCollection {
                listing,
                title,
                next,
            });
            return;
        }
        let Some((track, resume)) = row.as_ref().and_then(Row::track) else {
            self.error("select a song, an episode, an album or a playlist to queue it");
            return;
        };
        let title = track.title.clone();
        self.add_to_queue(vec![(track, resume)], next);
        if next {
            self.info(format!("“{title}” plays next"));
        } else {
            self.info(format!("added “{title}” to the queue"));
        }
    }

    /// The tracks of an album or playlist asked for by `a`/`A` arrived.
    pub(super) fn on_collection_tracks(
        &mut self,
        title: String,
        next: bool,
        result: Result<Fetched, NetError>,
    ) {
        let rows = match result {
            Ok(fetched) => {
                self.server_answered(false);
                Loaded::from(fetched).rows
            }
            Err(error) => {
                self.on_error(&format!("fetch the songs of “{title}”"), error);
                return;
            }
        };
        let tracks: Vec<(Track, Option<u64>)> = rows.iter().filter_map(Row::track).collect();
        if tracks.is_empty() {
            self.info(format!("“{title}” has no songs to queue"));
            return;
        }
        let count = tracks.len();
        let songs = if count == 1 { "song" } else { "songs" };
        self.add_to_queue(tracks, next);
        if next {
            self.info(format!("{count} {songs} of “{title}” play next"));
        } else {
            self.info(format!("added {count} {songs} of “{title}” to the queue"));
        }
    }

    /// Adds `tracks` in their order, after the current item (`next`) or at the end; starts
    /// the queue when nothing plays and nothing is current.
    fn add_to_queue(&mut self, tracks: Vec<(Track, Option<u64>)>, next: bool) {
        if next {
            // Each lands right after the current item, so insert the last one first.
            for (track, resume) in tracks.into_iter().rev() {
                self.queue.add_next(track, resume);
            }
        } else {
            for (track, resume) in tracks {
                self.queue.add(track, resume);
            }
        }
        // What follows may have changed.
        self.cancel_preload();
        if self.player.state == PlayState::Stopped && self.queue.current().is_none() {
            let first: Option<ItemKey> = self.queue.items().first().map(|i| i.key);
            if let Some(first) = first {
                self.queue.set_current(first);
                self.play_item(first);
            }
        }
    }
}
