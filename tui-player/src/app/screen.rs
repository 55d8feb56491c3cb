//! What the main pane shows: a titled list of rows (songs, albums, headers...) with a
//! selection. Every view, from search results to an album, is one of these.

use cadenza_api::{
    Album, AlbumId, Artist, ArtistId, Episode, Genre, Playlist, PlaylistId, Podcast, PodcastId,
    Song,
};

use crate::track::Track;

/// Which view a screen is, and so what to load for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScreenKind {
    Search,
    Artists,
    Albums,
    Genres,
    Genre(String),
    Playlists,
    Playlist(PlaylistId),
    Podcasts,
    Podcast(PodcastId),
    Hot,
    Artist(ArtistId),
    Album(AlbumId),
    /// Songs in the local cache (playable offline).
    Cached,
}

impl ScreenKind {
    /// Lists that come a page at a time.
    pub fn is_paged(&self) -> bool {
        matches!(
            self,
            ScreenKind::Artists
                | ScreenKind::Albums
                | ScreenKind::Genre(_)
                | ScreenKind::Playlists
                | ScreenKind::Podcasts
        )
    }
}

/// The sidebar's sections, in order.
pub const SECTIONS: &[(&str, ScreenKind)] = &[
    ("Search", ScreenKind::Search),
    ("Artists", ScreenKind::Artists),
    ("Albums", ScreenKind::Albums),
    ("Genres", ScreenKind::Genres),
    ("Playlists", ScreenKind::Playlists),
    ("Podcasts", ScreenKind::Podcasts),
    ("Hot", ScreenKind::Hot),
    ("Cached", ScreenKind::Cached),
];

#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// A group title inside a list (not selectable).
    Header(String),
    Song(Song),
    Artist(Artist),
    Album(Album),
    Playlist(Playlist),
    Podcast(Podcast),
    Episode {
        episode: Episode,
        podcast: String,
    },
    Genre(Genre),
    /// A chart line: the song and its plays.
    Hot {
        song: Song,
        plays: u64,
    },
    /// A song known only from the local cache.
    Cached(Track),
}

impl Row {
    pub fn selectable(&self) -> bool {
        !matches!(self, Row::Header(_))
    }

    /// The track this row plays, if it plays one.
    pub fn track(&self) -> Option<(Track, Option<u64>)> {
        match self {
            Row::Song(song) | Row::Hot { song, .. } => Some((Track::from_song(song), None)),
            Row::Episode { episode, podcast } => Some((
                Track::from_episode(episode, podcast),
                // Resume, unless it was heard (almost) to the end: then start over.
                episode
                    .position_ms
                    .filter(|&ms| ms + (episode.duration_ms / 10).min(5000) < episode.duration_ms),
            )),
            Row::Cached(track) => Some((track.clone(), None)),
            _ => None,
        }
    }

    /// The view Enter opens, for rows that are containers.
    pub fn opens(&self) -> Option<(ScreenKind, String)> {
        match self {
            Row::Artist(a) => Some((ScreenKind::Artist(a.id), a.name.clone())),
            Row::Album(a) => Some((ScreenKind::Album(a.id), a.title.clone())),
            Row::Playlist(p) => Some((ScreenKind::Playlist(p.id), p.name.clone())),
            Row::Podcast(p) => Some((ScreenKind::Podcast(p.id), p.title.clone())),
            Row::Genre(g) => Some((ScreenKind::Genre(g.name.clone()), g.name.clone())),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Screen {
    pub kind: ScreenKind,
    pub title: String,
    pub rows: Vec<Row>,
    pub selected: usize,
    /// First visible row (kept by the renderer so the selection stays in view).
    pub offset: usize,
    pub loading: bool,
    /// All matches on the server, for paged lists.
    pub total: Option<u64>,
    /// Why loading failed, shown in place of the rows.
    pub error: Option<String>,
    /// The playlist itself, on a playlist screen (for owner checks and renames).
    pub playlist: Option<Playlist>,
}

impl Screen {
    pub fn new(kind: ScreenKind, title: impl Into<String>) -> Self {
        Self {
            kind,
            title: title.into(),
            rows: Vec::new(),
            selected: 0,
            offset: 0,
            loading: false,
            total: None,
            error: None,
            playlist: None,
        }
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.selected).filter(|r| r.selectable())
    }

    /// Replaces the rows, keeping the selection in range and off headers.
    pub fn set_rows(&mut self, rows: Vec<Row>) {
        self.rows = rows;
        self.error = None;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.snap(1);
    }

    /// Moves the selection by `delta` rows, skipping headers, clamped to the list.
    pub fn move_by(&mut self, delta: isize) {
        if self.rows.is_empty() {
            return;
        }
        let last = self.rows.len() as isize - 1;
        let target = (self.selected as isize + delta).clamp(0, last) as usize;
        self.selected = target;
        self.snap(if delta < 0 { -1 } else { 1 });
        if !self.rows[self.selected].selectable() {
            // At an edge with a header: look the other way.
            self.snap(if delta < 0 { 1 } else { -1 });
        }
    }

    pub fn select(&mut self, index: usize) {
        if index < self.rows.len() {
            self.selected = index;
            self.snap(1);
        }
    }

    /// Steps off a header in `direction` if the selection is on one.
    fn snap(&mut self, direction: isize) {
        let mut i = self.selected as isize;
        while let Some(row) = self.rows.get(i as usize) {
            if row.selectable() {
                self.selected = i as usize;
                return;
            }
            i += direction;
            if i < 0 {
                break;
            }
        }
    }

    /// Every playable row with the index the selected row has among them.
    pub fn playable(&self) -> (Vec<(Track, Option<u64>)>, Option<usize>) {
        let mut tracks = Vec::new();
        let mut start = None;
        for (i, row) in self.rows.iter().enumerate() {
            if let Some(track) = row.track() {
                if i == self.selected {
                    start = Some(tracks.len());
                }
                tracks.push(track);
            }
        }
        (tracks, start)
    }

    /// Whether more rows can be fetched for this paged list.
    pub fn wants_more(&self) -> bool {
        self.kind.is_paged()
            && !self.loading
            && self.total.is_some_and(|t| (self.rows.len() as u64) < t)
            && self.selected + 10 >= self.rows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genre(name: &str) -> Row {
        Row::Genre(Genre {
            name: name.into(),
            song_count: 1,
            album_count: 1,
        })
    }

    #[test]
    fn selection_skips_headers() {
        let mut s = Screen::new(ScreenKind::Search, "Search");
        s.set_rows(vec![
            Row::Header("A".into()),
            genre("x"),
            Row::Header("B".into()),
            genre("y"),
        ]);
        assert_eq!(s.selected, 1, "starts on the first selectable row");
        s.move_by(1);
        assert_eq!(s.selected, 3);
        s.move_by(1);
        assert_eq!(s.selected, 3);
        s.move_by(-1);
        assert_eq!(s.selected, 1);
        s.move_by(-1);
        assert_eq!(s.selected, 1, "never lands on the top header");
        s.move_by(100);
        assert_eq!(s.selected, 3);
    }

    #[test]
    fn empty_screens_are_harmless() {
        let mut s = Screen::new(ScreenKind::Albums, "Albums");
        s.move_by(5);
        s.move_by(-5);
        assert_eq!(s.selected_row(), None);
        assert_eq!(s.playable(), (vec![], None));
    }
}
