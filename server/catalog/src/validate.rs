//! The checks every backend makes before it writes: what a user, song, playlist, podcast,
//! episode or play report must look like, each failure naming the field.

use crate::text::{check_hash, optional, required, MAX_NAME_CHARS};
use crate::{not_found, to_i64, CatalogError, CatalogResult, NewEpisode, NewSong};
use cadenza_api::{artist_credit, CreatePodcast, RecordPlay, UserId};

const MAX_USERNAME_CHARS: usize = 64;
const MAX_PLAYLIST_NAME_CHARS: usize = 200;
const MAX_PLAYLIST_COMMENT_CHARS: usize = 2_000;
/// Keeps one playlist (and its detail response) a sane size.
pub(crate) const MAX_PLAYLIST_TRACKS: usize = 10_000;
const MAX_DESCRIPTION_CHARS: usize = 20_000;
const MAX_URL_CHARS: usize = 2_000;
const MAX_GUID_CHARS: usize = 2_000;

/// A new account's username, trimmed, and a check of its password hash.
pub(crate) fn new_user(username: &str, password_hash: &str) -> CatalogResult<String> {
    let username = required("username", username, MAX_USERNAME_CHARS)?;
    if username.chars().any(char::is_control) {
        return Err(CatalogError::Invalid(
            "username contains control characters".into(),
        ));
    }
    self::password_hash(password_hash)?;
    Ok(username)
}

pub(crate) fn password_hash(hash: &str) -> CatalogResult<()> {
    if hash.is_empty() {
        return Err(CatalogError::Invalid("password hash is empty".into()));
    }
    Ok(())
}

pub(crate) fn token_hash(hash: &str) -> CatalogResult<()> {
    if hash.is_empty() {
        return Err(CatalogError::Invalid("token hash is empty".into()));
    }
    Ok(())
}

/// Validated text fields of a song.
pub(crate) struct Tags {
    pub(crate) title: String,
    pub(crate) artist: String,
    /// Blank names dropped.
    pub(crate) other_artists: Vec<String>,
    pub(crate) album_artist: Option<String>,
    pub(crate) album: String,
    pub(crate) genre: Option<String>,
    /// Blank names dropped; empty without a first genre.
    pub(crate) other_genres: Vec<String>,
}

impl Tags {
    pub(crate) fn search_text(&self) -> (String, Option<String>) {
        let artists: Vec<&String> = std::iter::once(&self.artist)
            .chain(&self.other_artists)
            .collect();
        let genres: Vec<&String> = self.genre.iter().chain(&self.other_genres).collect();
        credit_text(&artists, &genres)
    }
}

/// The text a song's full-text row holds for its artists and for its genres (every one
/// of each, so it is found under any), the genres `None` when it has none.
pub(crate) fn credit_text<A: AsRef<str>, G: AsRef<str>>(
    artists: &[A],
    genres: &[G],
) -> (String, Option<String>) {
    (
        artist_credit(artists),
        (!genres.is_empty()).then(|| artist_credit(genres)),
    )
}

/// Every name of `names` that is not blank, checked like `what`.
fn all_optional(what: &str, names: &[String]) -> CatalogResult<Vec<String>> {
    let checked = names
        .iter()
        .map(|name| optional(what, Some(name), MAX_NAME_CHARS));
    checked.filter_map(Result::transpose).collect()
}

pub(crate) fn tags(song: &NewSong) -> CatalogResult<Tags> {
    let genre = optional("genre", song.genre.as_deref(), MAX_NAME_CHARS)?;
    let tags = Tags {
        title: required("song title", &song.title, MAX_NAME_CHARS)?,
        artist: required("artist name", &song.artist, MAX_NAME_CHARS)?,
        other_artists: all_optional("artist name", &song.other_artists)?,
        album_artist: optional("album artist", song.album_artist.as_deref(), MAX_NAME_CHARS)?,
        album: required("album title", &song.album, MAX_NAME_CHARS)?,
        other_genres: if genre.is_some() {
            all_optional("genre", &song.other_genres)?
        } else {
            Vec::new()
        },
        genre,
    };
    required("codec", &song.codec, 64)?;
    required("content type", &song.content_type, 255)?;
    check_hash("song hash", &song.hash)?;
    if let Some(cover) = &song.cover {
        check_hash("cover hash", &cover.hash)?;
        required("cover content type", &cover.content_type, 255)?;
    }
    Ok(tags)
}

/// A playlist name, trimmed.
pub(crate) fn playlist_name(name: &str) -> CatalogResult<String> {
    required("playlist name", name, MAX_PLAYLIST_NAME_CHARS)
}

/// A playlist comment, trimmed (empty clears it).
pub(crate) fn playlist_comment(comment: &str) -> CatalogResult<&str> {
    let comment = comment.trim();
    if comment.contains('\0') {
        return Err(CatalogError::Invalid(
            "a playlist comment contains a NUL character".into(),
        ));
    }
    if comment.chars().count() > MAX_PLAYLIST_COMMENT_CHARS {
        return Err(CatalogError::Invalid(format!(
            "a playlist comment is at most {MAX_PLAYLIST_COMMENT_CHARS} characters"
        )));
    }
    Ok(comment)
}

const MAX_CREDENTIAL_NAME_CHARS: usize = 100;
/// Enough for every client and device a listener owns; stops a script from filling the table.
const MAX_CREDENTIALS_PER_USER: u64 = 100;

/// A new app password or API key: its trimmed name. `held` is how many the user has.
pub(crate) fn credential(
    user: UserId,
    name: &str,
    secret: &str,
    held: u64,
) -> CatalogResult<String> {
    let name = required("credential name", name, MAX_CREDENTIAL_NAME_CHARS)?;
    if secret.is_empty() {
        return Err(CatalogError::Invalid("credential secret is empty".into()));
    }
    if held >= MAX_CREDENTIALS_PER_USER {
        return Err(CatalogError::Invalid(format!(
            "user {user} already has {held} app passwords and API keys; revoke unused ones first"
        )));
    }
    Ok(name)
}

/// An entry stays "now playing" this long after its song should have ended (pauses).
pub(crate) const NOW_PLAYING_GRACE_SECS: i64 = 300;
const MAX_CLIENT_CHARS: usize = 200;

/// The name of the client a listener plays on, as stored: trimmed, cut to a sane length,
/// without NUL characters (PostgreSQL text cannot hold them).
pub(crate) fn client_name(client: &str) -> String {
    let name: String = client
        .trim()
        .chars()
        .filter(|&c| c != '\0')
        .take(MAX_CLIENT_CHARS)
        .collect();
    if name.is_empty() {
        "unknown client".into()
    } else {
        name
    }
}

/// A saved play queue is bounded like a playlist: it is a playlist nobody named.
pub(crate) fn queue_length(songs: usize) -> CatalogResult<()> {
    if songs > MAX_PLAYLIST_TRACKS {
        return Err(CatalogError::Invalid(format!(
            "a play queue holds at most {MAX_PLAYLIST_TRACKS} songs, not {songs}"
        )));
    }
    Ok(())
}

/// A rating is 1 to 5 stars, or none.
pub(crate) fn rating(rating: Option<u8>) -> CatalogResult<()> {
    match rating {
        Some(r) if !(1..=5).contains(&r) => Err(CatalogError::Invalid(format!(
            "a rating is 1 to 5 (or none), not {r}"
        ))),
        _ => Ok(()),
    }
}

/// Why a feed could not be read, as stored: cut to a description's length, without NULs.
pub(crate) fn refresh_error(error: &str) -> String {
    error
        .chars()
        .filter(|&c| c != '\0')
        .take(MAX_DESCRIPTION_CHARS)
        .collect()
}

/// Validated fields of a new podcast.
pub(crate) struct PodcastFields {
    pub(crate) title: String,
    pub(crate) author: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) feed_url: Option<String>,
}

pub(crate) fn podcast(new: &CreatePodcast) -> CatalogResult<PodcastFields> {
    Ok(PodcastFields {
        title: required("podcast title", &new.title, MAX_NAME_CHARS)?,
        author: optional("podcast author", new.author.as_deref(), MAX_NAME_CHARS)?,
        description: optional(
            "podcast description",
            new.description.as_deref(),
            MAX_DESCRIPTION_CHARS,
        )?,
        feed_url: optional("feed URL", new.feed_url.as_deref(), MAX_URL_CHARS)?,
    })
}

/// Validated fields of a new episode.
pub(crate) struct EpisodeFields {
    pub(crate) guid: String,
    pub(crate) title: String,
    pub(crate) description: Option<String>,
    pub(crate) duration_ms: i64,
    pub(crate) size: i64,
}

pub(crate) fn episode(new: &NewEpisode) -> CatalogResult<EpisodeFields> {
    let fields = EpisodeFields {
        guid: required("episode guid", &new.guid, MAX_GUID_CHARS)?,
        title: required("episode title", &new.title, MAX_NAME_CHARS)?,
        description: optional(
            "episode description",
            new.description.as_deref(),
            MAX_DESCRIPTION_CHARS,
        )?,
        duration_ms: to_i64("duration", new.duration_ms)?,
        size: to_i64("size", new.size)?,
    };
    required("codec", &new.codec, 64)?;
    required("content type", &new.content_type, 255)?;
    check_hash("episode hash", &new.hash)?;
    Ok(fields)
}

/// A client's play id (see [`RecordPlay::PLAY_ID_MIN_LEN`]).
pub(crate) fn play_id(id: &str) -> CatalogResult<()> {
    let (min, max) = (RecordPlay::PLAY_ID_MIN_LEN, RecordPlay::PLAY_ID_MAX_LEN);
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if (min..=max).contains(&id.len()) && id.chars().all(allowed) {
        return Ok(());
    }
    // Echo a short id back; a long one would only flood the message.
    let got = if id.len() <= max {
        format!("{id:?}")
    } else {
        format!("{} bytes", id.len())
    };
    Err(CatalogError::Invalid(format!(
        "play_id must be {min} to {max} ASCII letters, digits, '-' or '_' (one random id \
         per play, e.g. 32 hex characters), got {got}"
    )))
}

/// When a reported play is filed: `played_at` if it lies within the accepted window
/// around `now`, else `now` without one.
pub(crate) fn played_at(play: &RecordPlay, now: i64) -> CatalogResult<i64> {
    let Some(at) = play.played_at else {
        return Ok(now);
    };
    let ahead = at.saturating_sub(now);
    if ahead > RecordPlay::MAX_AHEAD_SECS {
        return Err(CatalogError::Invalid(format!(
            "played_at {at} is {ahead} s ahead of the server's clock (at most {} s is \
             accepted); check the client's clock",
            RecordPlay::MAX_AHEAD_SECS
        )));
    }
    let age = now.saturating_sub(at);
    if age > RecordPlay::MAX_AGE_SECS {
        return Err(CatalogError::Invalid(format!(
            "played_at {at} is {} days before the server's clock; plays older than {} days \
             are not accepted",
            age / 86_400,
            RecordPlay::MAX_AGE_SECS / 86_400
        )));
    }
    Ok(at)
}

/// The error of a play that reuses a `play_id` the user reported for another song.
pub(crate) fn play_id_reused(play_id: &str, earlier: i64, song: i64) -> CatalogError {
    CatalogError::Conflict(format!(
        "play_id {play_id} was already reported for song {earlier}, not song {song}; make a \
         new id for every play"
    ))
}

/// A playlist position past the end: `len` tracks, `at` asked for.
pub(crate) fn check_position(id: i64, position: u32, len: u64) -> CatalogResult<()> {
    if u64::from(position) < len {
        Ok(())
    } else if len == 0 {
        Err(CatalogError::Invalid(format!(
            "position {position} is out of range: playlist {id} is empty"
        )))
    } else {
        Err(CatalogError::Invalid(format!(
            "position {position} is out of range: playlist {id} has {len} tracks (0..={})",
            len - 1
        )))
    }
}

/// Where tracks added at `position` (append when `None`) go in a playlist of `len`, and
/// whether `adding` more fit.
pub(crate) fn insert_position(
    id: i64,
    position: Option<u32>,
    len: u64,
    adding: usize,
) -> CatalogResult<u64> {
    let at = match position {
        None => len,
        Some(p) if u64::from(p) <= len => u64::from(p),
        Some(p) => {
            return Err(CatalogError::Invalid(format!(
            "position {p} is out of range: playlist {id} has {len} tracks, so insert at 0..={len}"
        )))
        }
    };
    if len as usize + adding > MAX_PLAYLIST_TRACKS {
        return Err(CatalogError::Invalid(format!(
            "playlist {id} would have {} tracks; the limit is {MAX_PLAYLIST_TRACKS}",
            len as usize + adding
        )));
    }
    Ok(at)
}

/// Who may change a playlist: its owner. Others get `Forbidden` when it is public (they
/// may see it) and `NotFound` otherwise (a private playlist does not exist for them).
pub(crate) fn owner_check(id: i64, viewer: i64, found: Option<(i64, bool)>) -> CatalogResult<()> {
    match found {
        Some((owner, _)) if owner == viewer => Ok(()),
        Some((_, true)) => Err(CatalogError::Forbidden(format!(
            "playlist {id} belongs to another user; only its owner can change it"
        ))),
        _ => Err(not_found("playlist", id)),
    }
}
