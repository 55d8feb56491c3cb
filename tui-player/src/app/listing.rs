//! What the network fetched, as a screen's rows: the app decides how catalog data is shown.
//!
//! [`ScreenKind`] and [`Listing`] share most of their variants on purpose: a screen kind names
//! a view (some, like Search and Cached, the app fills itself), a listing names what the
//! server can be asked for, and the network never learns about views.

use cadenza_api::{Page, Playlist};

use super::screen::{Row, ScreenKind};
use crate::net::{Fetched, Listing};

impl ScreenKind {
    /// What to fetch for this view; `None` for the views the app fills itself.
    pub fn listing(&self) -> Option<Listing> {
        Some(match self {
            ScreenKind::Search | ScreenKind::Cached => return None,
            ScreenKind::Artists => Listing::Artists,
            ScreenKind::Albums => Listing::Albums,
            ScreenKind::Genres => Listing::Genres,
            ScreenKind::Genre(name) => Listing::Genre(name.clone()),
            ScreenKind::Playlists => Listing::Playlists,
            ScreenKind::Playlist(id) => Listing::Playlist(*id),
            ScreenKind::Podcasts => Listing::Podcasts,
            ScreenKind::Podcast(id) => Listing::Podcast(*id),
            ScreenKind::Hot => Listing::Hot,
            ScreenKind::Artist(id) => Listing::Artist(*id),
            ScreenKind::Album(id) => Listing::Album(*id),
        })
    }
}

/// Rows for a screen, with what else the answer tells about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub rows: Vec<Row>,
    pub total: Option<u64>,
    pub title: Option<String>,
    pub playlist: Option<Playlist>,
}

impl Loaded {
    fn plain(rows: Vec<Row>, total: Option<u64>) -> Loaded {
        Loaded {
            rows,
            total,
            title: None,
            playlist: None,
        }
    }
}

impl From<Fetched> for Loaded {
    fn from(fetched: Fetched) -> Loaded {
        fn page<T>(p: Page<T>, row: impl Fn(T) -> Row) -> Loaded {
            Loaded::plain(p.items.into_iter().map(row).collect(), Some(p.total))
        }
        match fetched {
            Fetched::Artists(p) => page(p, Row::Artist),
            Fetched::Albums(p) => page(p, Row::Album),
            Fetched::Playlists(p) => page(p, Row::Playlist),
            Fetched::Podcasts(p) => page(p, Row::Podcast),
            Fetched::GenreSongs(p) => page(p, Row::Song),
            Fetched::Genres(genres) => {
                Loaded::plain(genres.into_iter().map(Row::Genre).collect(), None)
            }
            Fetched::Hot(hot) => Loaded::plain(
                hot.into_iter()
                    .map(|h| Row::Hot {
                        song: h.song,
                        plays: h.plays,
                    })
                    .collect(),
                None,
            ),
            Fetched::Artist(detail) => {
                let mut rows = Vec::new();
                if !detail.top_songs.is_empty() {
                    rows.push(Row::Header("Top songs".into()));
                    rows.extend(detail.top_songs.into_iter().map(Row::Song));
                }
                if !detail.albums.is_empty() {
                    rows.push(Row::Header("Albums".into()));
                    rows.extend(detail.albums.into_iter().map(Row::Album));
                }
                Loaded {
                    title: Some(detail.artist.name),
                    ..Loaded::plain(rows, None)
                }
            }
            Fetched::Album(detail) => {
                let album = detail.album;
                let year = album.year.map(|y| format!(" ({y})")).unwrap_or_default();
                Loaded {
                    title: Some(format!("{} — {}{year}", album.title, album.artist)),
                    ..Loaded::plain(detail.tracks.into_iter().map(Row::Song).collect(), None)
                }
            }
            Fetched::Playlist(detail) => Loaded {
                rows: detail.tracks.into_iter().map(Row::Song).collect(),
                total: None,
                title: Some(detail.playlist.name.clone()),
                playlist: Some(detail.playlist),
            },
            Fetched::Podcast(detail) => {
                let podcast = detail.podcast.title;
                let rows = detail
                    .episodes
                    .into_iter()
                    .map(|episode| Row::Episode {
                        episode,
                        podcast: podcast.clone(),
                    })
                    .collect();
                Loaded {
                    title: Some(podcast),
                    ..Loaded::plain(rows, None)
                }
            }
        }
    }
}
