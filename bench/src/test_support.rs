//! Songs for the tests' small catalogs.

use cadenza_catalog::NewSong;

/// Song `n` (its hash), on one of two albums.
pub fn song(n: u32, title: &str, artist: &str, genre: Option<&str>) -> NewSong {
    NewSong {
        title: title.into(),
        artist: artist.into(),
        album_artist: None,
        album: format!("Album {}", n % 2),
        track: Some(n),
        disc: None,
        genre: genre.map(String::from),
        year: Some(2000),
        duration_ms: 1000,
        codec: "mp3".into(),
        content_type: "audio/mpeg".into(),
        bitrate_kbps: None,
        sample_rate: None,
        channels: None,
        size: 10,
        hash: format!("{n:064x}"),
        cover: None,
    }
}
