//! Adding and deleting songs, with the artists, albums and genres they hang from.

use super::error::{not_found, to_i64, Context};
use super::text::{fts_text, name_key};
use crate::validate::tags;
use crate::{CatalogResult, NewSong};
use cadenza_api::SongId;
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;

/// What inserting one song did.
pub(crate) enum Inserted {
    Created(SongId),
    /// A song with the same hash was already there.
    Existing(SongId),
}

/// Ids of artists, albums and genres already resolved in this transaction, so a bulk
/// insert looks each name up once.
#[derive(Default)]
pub(crate) struct Names {
    artists: HashMap<String, i64>,
    albums: HashMap<(i64, String), i64>,
    genres: HashMap<String, i64>,
}

/// Whether the full-text row is written now or left for a later rebuild.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Indexing {
    Now,
    Deferred,
}

/// The first song stored with these bytes (songs may share a blob; uploads never add a
/// second one, see [`insert_song`]).
pub(crate) fn song_id_by_hash(conn: &Connection, hash: &str) -> CatalogResult<Option<SongId>> {
    conn.prepare_cached("SELECT id FROM songs WHERE hash = ?1 ORDER BY id LIMIT 1")
        .and_then(|mut s| s.query_row([hash], |r| r.get(0)).optional())
        .ctx("looking up a song by hash")
}

/// What a `songs` row holds besides the song's own fields: its checked title and sizes, and
/// the ids its artist, album and genre resolved to.
pub(crate) struct SongRow<'a> {
    pub(crate) title: &'a str,
    pub(crate) artist_id: i64,
    pub(crate) album_id: i64,
    pub(crate) genre_id: Option<i64>,
    pub(crate) duration_ms: i64,
    pub(crate) size: i64,
}

/// Inserts the `songs` row (uploads and fresh loads alike); returns its id.
pub(crate) fn insert_song_row(
    conn: &Connection,
    song: &NewSong,
    row: &SongRow,
    now: i64,
) -> CatalogResult<i64> {
    conn.prepare_cached(
        "INSERT INTO songs (title, artist_id, album_id, track, disc, genre_id, year, duration_ms, \
         codec, content_type, bitrate, sample_rate, channels, size, hash, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )
    .and_then(|mut s| {
        s.execute(rusqlite::params![
            row.title,
            row.artist_id,
            row.album_id,
            song.track,
            song.disc,
            row.genre_id,
            song.year,
            row.duration_ms,
            song.codec.trim(),
            song.content_type.trim(),
            song.bitrate_kbps,
            song.sample_rate,
            song.channels,
            row.size,
            song.hash,
            now,
        ])
    })
    .ctx("inserting a song")?;
    Ok(conn.last_insert_rowid())
}

/// Inserts one song unless its hash is known; creates its artist, album and genre as
/// needed and gives the album this song's year, genre and cover when it has none yet.
pub(crate) fn insert_song(
    conn: &Connection,
    song: &NewSong,
    now: i64,
    names: &mut Names,
    indexing: Indexing,
) -> CatalogResult<Inserted> {
    let tags = tags(song)?;
    if let Some(id) = song_id_by_hash(conn, &song.hash)? {
        return Ok(Inserted::Existing(id));
    }
    let duration_ms = to_i64("duration", song.duration_ms)?;
    let size = to_i64("size", song.size)?;
    let cover_size = song
        .cover
        .as_ref()
        .map(|c| to_i64("cover size", c.size))
        .transpose()?;

    let artist_id = names.artist(conn, &tags.artist)?;
    let album_artist = tags.album_artist.as_deref().unwrap_or(&tags.artist);
    let album_artist_id = names.artist(conn, album_artist)?;
    let album_id = names.album(conn, album_artist_id, &tags.album, album_artist, now)?;
    let genre_id = tags
        .genre
        .as_deref()
        .map(|g| names.genre(conn, g))
        .transpose()?;

    let id = insert_song_row(
        conn,
        song,
        &SongRow {
            title: &tags.title,
            artist_id,
            album_id,
            genre_id,
            duration_ms,
            size,
        },
        now,
    )?;

    fill_album(conn, album_id, song, genre_id, cover_size)?;

    if indexing == Indexing::Now {
        index_song(
            conn,
            id,
            &tags.title,
            &tags.artist,
            &tags.album,
            tags.genre.as_deref(),
        )?;
    }
    Ok(Inserted::Created(id))
}

/// Gives the album the song's year, genre and cover where it has none yet.
pub(crate) fn fill_album(
    conn: &Connection,
    album_id: i64,
    song: &NewSong,
    genre_id: Option<i64>,
    cover_size: Option<i64>,
) -> CatalogResult<()> {
    if song.year.is_none() && genre_id.is_none() && song.cover.is_none() {
        return Ok(());
    }
    let cover = song.cover.as_ref();
    // SET expressions all see the row as it was, so the CASEs test the old cover.
    conn.prepare_cached(
        "UPDATE albums SET year = coalesce(year, ?2), genre_id = coalesce(genre_id, ?3), \
         cover_size = CASE WHEN cover_hash IS NULL THEN ?5 ELSE cover_size END, \
         cover_content_type = CASE WHEN cover_hash IS NULL THEN ?6 ELSE cover_content_type END, \
         cover_hash = coalesce(cover_hash, ?4) WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(rusqlite::params![
            album_id,
            song.year,
            genre_id,
            cover.map(|c| &c.hash),
            cover_size,
            cover.map(|c| c.content_type.trim()),
        ])
    })
    .ctx("filling in album details")?;
    Ok(())
}

/// Adds a song's full-text row (under its negated id, see `search::song_rowid`).
pub(crate) fn index_song(
    conn: &Connection,
    id: SongId,
    title: &str,
    artist: &str,
    album: &str,
    genre: Option<&str>,
) -> CatalogResult<()> {
    conn.prepare_cached(
        "INSERT INTO songs_fts (rowid, title, artist, album, genre) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute((
            super::search::song_rowid(id),
            fts_text(title),
            fts_text(artist),
            fts_text(album),
            genre.map(fts_text),
        ))
    })
    .ctx("indexing a song for search")?;
    Ok(())
}

impl Names {
    pub(crate) fn artist(&mut self, conn: &Connection, name: &str) -> CatalogResult<i64> {
        let key = name_key(name);
        if let Some(&id) = self.artists.get(&key) {
            return Ok(id);
        }
        let found: Option<i64> = conn
            .prepare_cached("SELECT id FROM artists WHERE name_key = ?1")
            .and_then(|mut s| s.query_row([&key], |r| r.get(0)).optional())
            .ctx("looking up an artist")?;
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached("INSERT INTO artists (name, name_key) VALUES (?1, ?2)")
                    .and_then(|mut s| s.execute((name, &key)))
                    .ctx("creating an artist")?;
                let id = conn.last_insert_rowid();
                conn.prepare_cached("INSERT INTO artists_fts (rowid, name) VALUES (?1, ?2)")
                    .and_then(|mut s| s.execute((id, fts_text(name))))
                    .ctx("indexing an artist for search")?;
                id
            }
        };
        self.artists.insert(key, id);
        Ok(id)
    }

    fn album(
        &mut self,
        conn: &Connection,
        artist_id: i64,
        title: &str,
        artist_name: &str,
        now: i64,
    ) -> CatalogResult<i64> {
        let key = (artist_id, name_key(title));
        if let Some(&id) = self.albums.get(&key) {
            return Ok(id);
        }
        let found: Option<i64> = conn
            .prepare_cached("SELECT id FROM albums WHERE artist_id = ?1 AND title_key = ?2")
            .and_then(|mut s| s.query_row((artist_id, &key.1), |r| r.get(0)).optional())
            .ctx("looking up an album")?;
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached(
                    "INSERT INTO albums (title, title_key, artist_id, created_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut s| s.execute((title, &key.1, artist_id, now)))
                .ctx("creating an album")?;
                let id = conn.last_insert_rowid();
                conn.prepare_cached(
                    "INSERT INTO albums_fts (rowid, title, artist) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut s| s.execute((id, fts_text(title), fts_text(artist_name))))
                .ctx("indexing an album for search")?;
                id
            }
        };
        self.albums.insert(key, id);
        Ok(id)
    }

    fn genre(&mut self, conn: &Connection, name: &str) -> CatalogResult<i64> {
        let key = name_key(name);
        if let Some(&id) = self.genres.get(&key) {
            return Ok(id);
        }
        let found: Option<i64> = conn
            .prepare_cached("SELECT id FROM genres WHERE name_key = ?1")
            .and_then(|mut s| s.query_row([&key], |r| r.get(0)).optional())
            .ctx("looking up a genre")?;
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached("INSERT INTO genres (name, name_key) VALUES (?1, ?2)")
                    .and_then(|mut s| s.execute((name, &key)))
                    .ctx("creating a genre")?;
                conn.last_insert_rowid()
            }
        };
        self.genres.insert(key, id);
        Ok(id)
    }
}

/// Deletes a song and whatever it leaves empty; returns the blob hashes nothing uses any more.
pub(crate) fn delete_song(conn: &Connection, id: SongId) -> CatalogResult<Vec<String>> {
    let (artist_id, album_id, genre_id, hash): (i64, i64, Option<i64>, String) = conn
        .prepare_cached("SELECT artist_id, album_id, genre_id, hash FROM songs WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()
        })
        .ctx("reading a song")?
        .ok_or_else(|| not_found("song", id))?;
    let playlists: Vec<i64> = super::rows::collect(
        conn,
        "SELECT DISTINCT playlist_id FROM playlist_tracks WHERE song_id = ?1",
        id,
        |r| r.get(0),
        "finding playlists with the song",
    )?;

    // Cascades remove its playlist entries and plays; triggers fix counters and search.
    conn.prepare_cached("DELETE FROM songs WHERE id = ?1")
        .and_then(|mut s| s.execute([id]))
        .ctx("deleting a song")?;
    for playlist in playlists {
        super::playlists::renumber(conn, playlist)?;
    }

    let mut unused = Vec::new();
    if !blob_referenced(conn, &hash)? {
        unused.push(hash);
    }
    let (album_songs, album_artist, cover): (i64, i64, Option<String>) = conn
        .prepare_cached("SELECT song_count, artist_id, cover_hash FROM albums WHERE id = ?1")
        .and_then(|mut s| s.query_row([album_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
        .ctx("reading the song's album")?;
    if album_songs == 0 {
        conn.prepare_cached("DELETE FROM albums WHERE id = ?1")
            .and_then(|mut s| s.execute([album_id]))
            .ctx("deleting an empty album")?;
        if let Some(cover) = cover {
            if !blob_referenced(conn, &cover)? && !unused.contains(&cover) {
                unused.push(cover);
            }
        }
    } else {
        refresh_album(conn, album_id)?;
    }
    for artist in [artist_id, album_artist] {
        delete_artist_if_empty(conn, artist)?;
    }
    if let Some(genre) = genre_id {
        conn.prepare_cached(
            "DELETE FROM genres WHERE id = ?1 AND song_count = 0 \
             AND NOT EXISTS (SELECT 1 FROM albums WHERE genre_id = ?1)",
        )
        .and_then(|mut s| s.execute([genre]))
        .ctx("deleting an empty genre")?;
    }
    Ok(unused)
}

/// After a deletion the album's year and genre come from its first remaining track
/// (in album order) that has one.
fn refresh_album(conn: &Connection, album_id: i64) -> CatalogResult<()> {
    conn.prepare_cached(
        "UPDATE albums SET \
         year = (SELECT year FROM songs WHERE album_id = ?1 AND year IS NOT NULL \
                 ORDER BY coalesce(disc, 1), track IS NULL, track, id LIMIT 1), \
         genre_id = (SELECT genre_id FROM songs WHERE album_id = ?1 AND genre_id IS NOT NULL \
                 ORDER BY coalesce(disc, 1), track IS NULL, track, id LIMIT 1) \
         WHERE id = ?1",
    )
    .and_then(|mut s| s.execute([album_id]))
    .ctx("updating an album's year and genre")?;
    Ok(())
}

fn delete_artist_if_empty(conn: &Connection, artist_id: i64) -> CatalogResult<()> {
    conn.prepare_cached(
        "DELETE FROM artists WHERE id = ?1 AND song_count = 0 \
         AND NOT EXISTS (SELECT 1 FROM albums WHERE artist_id = ?1)",
    )
    .and_then(|mut s| s.execute([artist_id]))
    .ctx("deleting an empty artist")?;
    Ok(())
}

/// Whether any song, episode or album cover still uses the blob.
pub(crate) fn blob_referenced(conn: &Connection, hash: &str) -> CatalogResult<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM songs WHERE hash = ?1) \
             OR EXISTS (SELECT 1 FROM episodes WHERE hash = ?1) \
             OR EXISTS (SELECT 1 FROM albums WHERE cover_hash = ?1)",
    )
    .and_then(|mut s| s.query_row([hash], |r| r.get(0)))
    .ctx("checking whether a blob is still used")
}

#[cfg(test)]
mod tests {
    use crate::sqlite::testkit::{cover, hash, memory, positions, song, user};
    use crate::{Catalog, CatalogError};
    use cadenza_api::CreatePlaylist;

    #[test]
    fn inserting_the_same_bytes_twice_returns_the_first_song() {
        let cat = memory();
        let (first, created) = cat
            .insert_song(&song(1, "Jóga", "Björk", "Homogenic"), 10)
            .unwrap();
        assert!(created);
        assert_eq!(
            (
                first.title.as_str(),
                first.artist.as_str(),
                first.created_at
            ),
            ("Jóga", "Björk", 10)
        );
        let mut again = song(1, "Other title", "Other", "Other");
        again.size = 1;
        let (second, created) = cat.insert_song(&again, 20).unwrap();
        assert!(!created);
        assert_eq!(second, first);
        assert_eq!(cat.songs(Default::default()).unwrap().total, 1);
        assert_eq!(cat.song_by_hash(&hash(1)).unwrap(), Some(first));
        assert_eq!(cat.song_by_hash(&hash(2)).unwrap(), None);
    }

    #[test]
    fn songs_group_into_albums_and_artists_ignoring_case() {
        let cat = memory();
        let (a, _) = cat
            .insert_song(&song(1, "One", "The Band", "First"), 0)
            .unwrap();
        let (b, _) = cat
            .insert_song(&song(2, "Two", "THE BAND ", "first"), 0)
            .unwrap();
        let (c, _) = cat
            .insert_song(&song(3, "Three", "The Band", "Second"), 0)
            .unwrap();
        assert_eq!(a.artist_id, b.artist_id);
        assert_eq!(a.album_id, b.album_id);
        assert_eq!(b.artist, "The Band", "the first spelling is kept");
        assert_ne!(a.album_id, c.album_id);
        let artist = cat.artist(a.artist_id).unwrap().artist;
        assert_eq!((artist.song_count, artist.album_count), (3, 2));
        let album = cat.album(a.album_id).unwrap().album;
        assert_eq!((album.song_count, album.duration_ms), (2, 360_000));
    }

    #[test]
    fn compilations_are_filed_under_the_album_artist() {
        let cat = memory();
        let mut one = song(1, "Hit", "Singer A", "Now 1");
        one.album_artist = Some("Various Artists".into());
        let mut two = song(2, "Other Hit", "Singer B", "Now 1");
        two.album_artist = Some("Various Artists".into());
        let (a, _) = cat.insert_song(&one, 0).unwrap();
        let (b, _) = cat.insert_song(&two, 0).unwrap();
        assert_eq!(a.album_id, b.album_id);
        assert_ne!(a.artist_id, b.artist_id);
        let album = cat.album(a.album_id).unwrap().album;
        assert_eq!(album.artist, "Various Artists");
        // The track artist sees the album they appear on.
        let singer = cat.artist(a.artist_id).unwrap();
        assert_eq!(singer.albums.len(), 1);
        assert_eq!(singer.artist.album_count, 1);
    }

    #[test]
    fn the_first_cover_year_and_genre_seen_stay_with_the_album() {
        let cat = memory();
        let mut one = song(1, "A", "X", "Album");
        one.cover = Some(cover(1));
        one.year = Some(1999);
        let mut two = song(2, "B", "X", "Album");
        two.cover = Some(cover(2));
        two.year = Some(2005);
        two.genre = Some("Rock".into());
        let (a, _) = cat.insert_song(&one, 0).unwrap();
        cat.insert_song(&two, 0).unwrap();
        let album = cat.album(a.album_id).unwrap().album;
        assert_eq!(
            (album.year, album.genre.as_deref(), album.has_cover),
            (Some(1999), Some("Rock"), true)
        );
        let c = cat.album_cover(a.album_id).unwrap().unwrap();
        assert_eq!(
            (c.hash, c.size, c.content_type.as_str()),
            (cover(1).hash, cover(1).size, "image/jpeg")
        );
        assert!(matches!(
            cat.album_cover(999),
            Err(CatalogError::NotFound(_))
        ));
    }

    #[test]
    fn album_tracks_follow_disc_then_track_order() {
        let cat = memory();
        let tracks = [
            (1, "D2T1", Some(2), Some(1)),
            (2, "D1T2", Some(1), Some(2)),
            (3, "D1T1", Some(1), Some(1)),
            (4, "Untracked", None, None),
            (5, "D2T2", Some(2), Some(2)),
        ];
        let mut album_id = 0;
        for (n, title, disc, track) in tracks {
            let mut s = song(n, title, "Live Band", "Live at the Lab");
            s.disc = disc;
            s.track = track;
            album_id = cat.insert_song(&s, 0).unwrap().0.album_id;
        }
        let titles: Vec<String> = cat
            .album(album_id)
            .unwrap()
            .tracks
            .into_iter()
            .map(|s| s.title)
            .collect();
        assert_eq!(titles, ["D1T1", "D1T2", "Untracked", "D2T1", "D2T2"]);
    }

    #[test]
    fn bad_songs_are_refused_with_the_field_named() {
        let cat = memory();
        let cases = [
            (song(1, " ", "A", "B"), "song title is empty"),
            (song(1, "T", "", "B"), "artist name is empty"),
            (song(1, "T", "A", "\t"), "album title is empty"),
            (
                NewSongExt::with_hash(song(1, "T", "A", "B"), "XYZ"),
                "not a lowercase hex SHA-256",
            ),
        ];
        for (s, msg) in cases {
            let err = cat.insert_song(&s, 0).unwrap_err();
            assert!(
                matches!(&err, CatalogError::Invalid(m) if m.contains(msg)),
                "{err}"
            );
        }
        let mut huge = song(1, "T", "A", "B");
        huge.size = u64::MAX;
        assert!(matches!(
            cat.insert_song(&huge, 0),
            Err(CatalogError::Invalid(_))
        ));
        assert_eq!(cat.songs(Default::default()).unwrap().total, 0);
        assert_eq!(
            cat.artists(Default::default()).unwrap().total,
            0,
            "nothing half-written"
        );
    }

    trait NewSongExt {
        fn with_hash(self, hash: &str) -> Self;
    }
    impl NewSongExt for crate::NewSong {
        fn with_hash(mut self, hash: &str) -> Self {
            self.hash = hash.into();
            self
        }
    }

    #[test]
    fn deleting_the_last_song_cleans_up_and_returns_unused_blobs() {
        let cat = memory();
        let mut one = song(1, "Solo", "Lonely", "Only Album");
        one.cover = Some(cover(7));
        one.genre = Some("Drone".into());
        let (s, _) = cat.insert_song(&one, 0).unwrap();
        let freed = cat.delete_song(s.id).unwrap();
        assert_eq!(freed, vec![hash(1), cover(7).hash]);
        assert!(
            matches!(cat.song(s.id), Err(CatalogError::NotFound(m)) if m == format!("song {} does not exist", s.id))
        );
        assert!(matches!(
            cat.album(s.album_id),
            Err(CatalogError::NotFound(_))
        ));
        assert!(matches!(
            cat.artist(s.artist_id),
            Err(CatalogError::NotFound(_))
        ));
        assert!(cat.genres().unwrap().is_empty());
        assert!(cat
            .search("lonely", Default::default(), Default::default(), 0)
            .unwrap()
            .artists
            .items
            .is_empty());
        assert!(matches!(
            cat.delete_song(s.id),
            Err(CatalogError::NotFound(_))
        ));
    }

    #[test]
    fn shared_blobs_and_busy_albums_survive_a_deletion() {
        let cat = memory();
        let mut one = song(1, "One", "Band", "Album");
        one.cover = Some(cover(1));
        one.year = Some(2001);
        one.genre = Some("Pop".into());
        let mut two = song(2, "Two", "Band", "Album");
        two.year = Some(2003);
        two.genre = Some("Jazz".into());
        // Another album with the same cover image.
        let mut three = song(3, "Three", "Band", "Other Album");
        three.cover = Some(cover(1));
        let (a, _) = cat.insert_song(&one, 0).unwrap();
        cat.insert_song(&two, 0).unwrap();
        let (c, _) = cat.insert_song(&three, 0).unwrap();
        assert_eq!(cat.delete_song(a.id).unwrap(), vec![hash(1)]);
        let album = cat.album(a.album_id).unwrap().album;
        assert_eq!(
            (album.song_count, album.year, album.genre.as_deref()),
            (1, Some(2003), Some("Jazz"))
        );
        assert!(album.has_cover, "the album keeps its cover while it exists");
        let genres: Vec<String> = cat.genres().unwrap().into_iter().map(|g| g.name).collect();
        assert_eq!(genres, ["Jazz"], "Pop had no songs left");
        // The cover is still used by the other album until both are gone.
        let freed = cat.delete_song(c.id).unwrap();
        assert_eq!(freed, vec![hash(3)]);
        let last = cat.album(a.album_id).unwrap().tracks[0].id;
        assert_eq!(cat.delete_song(last).unwrap(), vec![hash(2), cover(1).hash]);
        assert_eq!(cat.artists(Default::default()).unwrap().total, 0);
    }

    #[test]
    fn deleting_a_song_removes_it_from_playlists_and_plays() {
        let cat = memory();
        let owner = user(&cat, "owner");
        let ids: Vec<i64> = (1..=4)
            .map(|n| {
                cat.insert_song(&song(n, &format!("S{n}"), "A", "B"), 0)
                    .unwrap()
                    .0
                    .id
            })
            .collect();
        let list = cat
            .create_playlist(
                owner,
                &CreatePlaylist {
                    name: "L".into(),
                    public: false,
                },
                0,
            )
            .unwrap();
        // S2 appears twice.
        let order = [ids[0], ids[1], ids[2], ids[1], ids[3]];
        cat.add_tracks(list.id, owner, &order, None, 0).unwrap();
        cat.record_play(owner, ids[1], None, 5).unwrap();
        cat.delete_song(ids[1]).unwrap();
        let tracks: Vec<String> = cat
            .playlist(list.id, owner)
            .unwrap()
            .tracks
            .into_iter()
            .map(|s| s.title)
            .collect();
        assert_eq!(tracks, ["S1", "S3", "S4"]);
        assert_eq!(positions(&cat, list.id), [0, 1, 2]);
        // Positions are dense again: the last one can be removed by its new index.
        let detail = cat.remove_track(list.id, owner, 2, 1).unwrap();
        assert_eq!(detail.playlist.song_count, 2);
        assert_eq!(cat.stats(10).unwrap().plays, 0);
    }

    #[test]
    fn a_deleted_newest_song_and_album_leave_their_ids_unused() {
        // Stream and cover URLs are cached as immutable under these ids, so a new upload
        // must not take over the id of a deleted one.
        let cat = memory();
        cat.insert_song(&song(1, "Kept", "A", "Kept Album"), 0)
            .unwrap();
        let mut gone = song(2, "Gone", "B", "Gone Album");
        gone.cover = Some(cover(2));
        let (gone, _) = cat.insert_song(&gone, 0).unwrap();
        cat.delete_song(gone.id).unwrap();
        let mut next = song(3, "Next", "C", "Next Album");
        next.cover = Some(cover(3));
        let (next, created) = cat.insert_song(&next, 0).unwrap();
        assert!(created);
        assert!(next.id > gone.id, "song {} reused", next.id);
        assert!(
            next.album_id > gone.album_id,
            "album {} reused",
            next.album_id
        );
        assert_eq!(
            cat.album_cover(next.album_id).unwrap().map(|b| b.hash),
            Some(cover(3).hash)
        );
        assert!(matches!(
            cat.album_cover(gone.album_id),
            Err(CatalogError::NotFound(_))
        ));
    }
}
