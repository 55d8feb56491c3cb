//! Song credits: a song may credit several artists and genres. The first of each stays on
//! the `songs` row (`artist_id`, `genre_id`); the others are rows of `song_artists` and
//! `song_genres`, the same tables in every backend.

/// A list a song credits several entries of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credits {
    /// `song_artists`, after `songs.artist_id`.
    Artists,
    /// `song_genres`, after `songs.genre_id`.
    Genres,
}

impl Credits {
    /// The credit table and its entry column.
    pub(crate) fn table(self) -> (&'static str, &'static str) {
        match self {
            Credits::Artists => ("song_artists", "artist_id"),
            Credits::Genres => ("song_genres", "genre_id"),
        }
    }
}

/// The entries a song credits after its `first`, in credit order, each once: names that
/// resolved to an entry already credited drop. The entry at index `i` is stored at
/// position `i + 1`.
pub(crate) fn others(first: i64, others: &[i64]) -> Vec<i64> {
    let mut credited: Vec<i64> = Vec::with_capacity(others.len());
    for &id in others {
        if id != first && !credited.contains(&id) {
            credited.push(id);
        }
    }
    credited
}

/// The albums of artist `$artist` (a placeholder or column): filed under them or with a
/// song crediting them.
macro_rules! artist_albums {
    ($artist:literal) => {
        concat!(
            "SELECT id FROM albums WHERE artist_id = ",
            $artist,
            " UNION SELECT album_id FROM songs WHERE artist_id = ",
            $artist,
            " UNION SELECT s.album_id FROM song_artists sa JOIN songs s ON s.id = sa.song_id \
             WHERE sa.artist_id = ",
            $artist
        )
    };
}
pub(crate) use artist_albums;

#[cfg(test)]
mod tests {
    #[test]
    fn repeated_and_first_entries_are_credited_once() {
        assert_eq!(super::others(1, &[2, 1, 3, 2]), [2, 3]);
        assert!(super::others(1, &[]).is_empty());
    }
}
