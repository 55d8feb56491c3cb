//! Wire types of the HTTP API under `/api/v1`, shared by the server and every client.
//!
//! Timestamps are Unix seconds (UTC). Durations are milliseconds. Sizes are bytes.
//! Ids are database row ids; content hashes are lowercase hex SHA-256.

use serde::{Deserialize, Serialize};

pub type UserId = i64;
pub type SongId = i64;
pub type AlbumId = i64;
pub type ArtistId = i64;
pub type PlaylistId = i64;
pub type PodcastId = i64;
pub type EpisodeId = i64;

/// The body of every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `unsupported_media_type`.
    pub code: String,
    /// One human sentence that names the problem and what to do.
    pub message: String,
}

/// A page of results. `total` counts every match, not just this page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub limit: u32,
    pub offset: u32,
    /// `true` when counting stopped early and there are at least `total` matches (search
    /// counts at most 10,000 per group: an exact count of a one-letter prefix over a million
    /// songs costs more than the search). Show such a total as "10,000+". Listings other
    /// than search always count exactly and leave this `false`; absent means `false`.
    #[serde(default)]
    pub total_is_lower_bound: bool,
}

/// `limit`/`offset` query parameters of every listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    pub limit: u32,
    pub offset: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: 50,
            offset: 0,
        }
    }
}

// ---------------------------------------------------------------- auth & users

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Listener,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Listener => "listener",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "listener" => Ok(Role::Listener),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role `{other}`: use `listener` or `admin`")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub created_at: i64,
}

/// `POST /auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Bearer token for the `Authorization` header.
    pub token: String,
    pub expires_at: i64,
    pub user: User,
}

/// `POST /admin/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUser {
    pub username: String,
    pub password: String,
    pub role: Role,
}

/// `PATCH /admin/users/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRole {
    pub role: Role,
}

/// `POST /admin/users/{id}/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPassword {
    pub password: String,
}

// ---------------------------------------------------------------- catalog

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Song {
    pub id: SongId,
    pub title: String,
    pub artist: String,
    pub artist_id: ArtistId,
    pub album: String,
    pub album_id: AlbumId,
    pub track: Option<u32>,
    pub disc: Option<u32>,
    pub genre: Option<String>,
    pub year: Option<i32>,
    pub duration_ms: u64,
    /// Codec / container name: `mp3`, `flac`, `vorbis`, `opus`, `aac`, `wav`.
    pub codec: String,
    /// MIME type the stream is served with, e.g. `audio/mpeg`.
    pub content_type: String,
    pub bitrate_kbps: Option<u32>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u8>,
    pub size: u64,
    /// Lowercase hex SHA-256 of the audio bytes; also the stream's ETag.
    pub hash: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Album {
    pub id: AlbumId,
    pub title: String,
    pub artist: String,
    pub artist_id: ArtistId,
    pub year: Option<i32>,
    pub genre: Option<String>,
    pub song_count: u32,
    pub duration_ms: u64,
    pub has_cover: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlbumDetail {
    pub album: Album,
    /// Ordered by disc, then track number, then title.
    pub tracks: Vec<Song>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artist {
    pub id: ArtistId,
    pub name: String,
    pub album_count: u32,
    pub song_count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtistDetail {
    pub artist: Artist,
    pub albums: Vec<Album>,
    /// Most played first (all-time plays, then title).
    pub top_songs: Vec<Song>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genre {
    pub name: String,
    pub song_count: u32,
    pub album_count: u32,
}

/// One line of the hot chart: a song and its plays within the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotEntry {
    pub song: Song,
    pub plays: u64,
}

/// `POST /plays`. Only `song_id` is required, so clients older than `play_id` and
/// `played_at` keep working (their resends may count twice, as before).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPlay {
    pub song_id: SongId,
    /// How much of the song was heard, if known.
    #[serde(default)]
    pub played_ms: Option<u64>,
    /// A random id the client makes once per play and keeps when it sends the report again
    /// (e.g. 32 hex characters). The server records each id once per user: a report whose
    /// id it already has is a no-op that still succeeds, so a resend after a lost reply
    /// never counts twice (the same id with a different song is a 409). It must be
    /// [`PLAY_ID_MIN_LEN`](Self::PLAY_ID_MIN_LEN) to [`PLAY_ID_MAX_LEN`](Self::PLAY_ID_MAX_LEN)
    /// ASCII letters, digits, `-` or `_`; anything else is a 400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub play_id: Option<String>,
    /// When the play was heard (Unix seconds); absent means now. The server files the play
    /// under this time (the hot chart, the user's stored plays), so a report sent late counts
    /// on the day it was heard.
    /// It refuses (400, nothing recorded) a time more than
    /// [`MAX_AHEAD_SECS`](Self::MAX_AHEAD_SECS) ahead of its clock or more than
    /// [`MAX_AGE_SECS`](Self::MAX_AGE_SECS) behind it: it does not guess a better time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub played_at: Option<i64>,
}

impl RecordPlay {
    /// Shortest `play_id` accepted: shorter ones would collide between a user's devices.
    pub const PLAY_ID_MIN_LEN: usize = 8;
    /// Longest `play_id` accepted.
    pub const PLAY_ID_MAX_LEN: usize = 64;
    /// How far `played_at` may lie ahead of the server's clock (clients' clocks drift).
    pub const MAX_AHEAD_SECS: i64 = 5 * 60;
    /// How old a `played_at` may be: plays kept longer than this are refused.
    pub const MAX_AGE_SECS: i64 = 30 * 86_400;

    /// A report of `song_id` heard now, without an id (resends may count twice).
    pub fn now(song_id: SongId, played_ms: Option<u64>) -> RecordPlay {
        RecordPlay {
            song_id,
            played_ms,
            play_id: None,
            played_at: None,
        }
    }
}

// ---------------------------------------------------------------- playlists

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Playlist {
    pub id: PlaylistId,
    pub name: String,
    pub owner_id: UserId,
    pub owner: String,
    pub public: bool,
    pub song_count: u32,
    pub duration_ms: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaylistDetail {
    pub playlist: Playlist,
    /// In playlist order; position `i` is `tracks[i]`.
    pub tracks: Vec<Song>,
}

/// `POST /playlists`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePlaylist {
    pub name: String,
    #[serde(default)]
    pub public: bool,
}

/// `PATCH /playlists/{id}`: rename and/or change visibility.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatePlaylist {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
}

/// `POST /playlists/{id}/tracks`: insert songs at `position` (append when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddTracks {
    pub song_ids: Vec<SongId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
}

/// `POST /playlists/{id}/move`: move the track at `from` so it ends up at `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveTrack {
    pub from: u32,
    pub to: u32,
}

// ---------------------------------------------------------------- podcasts

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Podcast {
    pub id: PodcastId,
    pub title: String,
    pub author: Option<String>,
    pub description: Option<String>,
    /// The RSS feed it was imported from; unique when present.
    pub feed_url: Option<String>,
    pub episode_count: u32,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    pub id: EpisodeId,
    pub podcast_id: PodcastId,
    /// The feed's `<guid>` (or enclosure URL): unique within a podcast.
    pub guid: String,
    pub title: String,
    pub description: Option<String>,
    pub published_at: Option<i64>,
    pub duration_ms: u64,
    pub codec: String,
    pub content_type: String,
    pub size: u64,
    pub hash: String,
    /// The calling user's saved resume position, if any.
    pub position_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodcastDetail {
    pub podcast: Podcast,
    /// Newest first.
    pub episodes: Vec<Episode>,
}

/// `POST /admin/podcasts`: returns the existing podcast when `feed_url` is already known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePodcast {
    pub title: String,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub feed_url: Option<String>,
}

/// Query of `POST /admin/podcasts/{id}/episodes` (the body is the audio).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpisodeMeta {
    pub guid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<i64>,
}

/// `PUT /episodes/{id}/position` body and `GET` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumePosition {
    pub position_ms: u64,
}

// ---------------------------------------------------------------- search

/// Which groups `GET /search?type=` returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchType {
    #[default]
    All,
    Song,
    Artist,
    Album,
    Playlist,
    Podcast,
}

/// Results grouped by kind; a group not asked for is an empty page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub query: String,
    pub songs: Page<Song>,
    pub artists: Page<Artist>,
    pub albums: Page<Album>,
    pub playlists: Page<Playlist>,
    pub podcasts: Page<Podcast>,
}

// ---------------------------------------------------------------- sharing

/// `POST /songs/{id}/share` body (optional).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRequest {
    /// Lifetime of the link; the server caps it and picks a default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareLink {
    /// Absolute URL that streams without a token until `expires_at`.
    pub url: String,
    /// The same, relative to the server root (for clients behind a proxy).
    pub path: String,
    pub expires_at: i64,
}

// ---------------------------------------------------------------- uploads (admin)

/// Query of `POST /admin/songs` (the body is the audio). Every field overrides the file's tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disc: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// Original file name: the title falls back to its stem when the file has no title tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// Answer of an upload: `created` is false when the bytes were already in the catalog
/// (HTTP 200 then, 201 when created).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadedSong {
    pub song: Song,
    pub created: bool,
    /// Tags that were missing and filled with fallbacks (e.g. `title`, `artist`).
    #[serde(default)]
    pub missing_tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadedEpisode {
    pub episode: Episode,
    pub created: bool,
}

/// `GET /admin/blobs/{hash}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobStatus {
    pub hash: String,
    pub exists: bool,
    pub song_id: Option<SongId>,
    pub episode_id: Option<EpisodeId>,
    /// The largest upload this server accepts, in bytes, so a client can refuse a bigger
    /// file before sending it (a server refusing a body mid-way can only reset the
    /// connection). `None` from a server that does not say.
    #[serde(default)]
    pub max_upload_bytes: Option<u64>,
}

// ---------------------------------------------------------------- stats (admin)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeStats {
    pub name: String,
    /// Where the volume lives (a directory path or an object-store URL).
    pub location: String,
    pub reachable: bool,
    pub blobs: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtistStorage {
    pub artist: Artist,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub songs: u64,
    pub albums: u64,
    pub artists: u64,
    pub genres: u64,
    pub users: u64,
    pub playlists: u64,
    pub podcasts: u64,
    pub episodes: u64,
    pub plays: u64,
    /// Distinct blobs (audio and covers).
    pub blobs: u64,
    /// Sum of distinct blob sizes, before replication.
    pub logical_bytes: u64,
    /// Bytes actually held across all volumes (about `logical_bytes × R`).
    pub stored_bytes: u64,
    pub replication_factor: u32,
    pub volumes: Vec<VolumeStats>,
    /// Measured averages, for capacity calibration.
    pub avg_song_bytes: u64,
    pub catalog_bytes: u64,
    pub song_metadata_bytes: u64,
    pub user_metadata_bytes: u64,
    pub plays_per_user_per_day: f64,
    pub largest_artists: Vec<ArtistStorage>,
    pub hot: Vec<HotEntry>,
    /// The server copy that answered (its `X-Cadenza-Server` name); absent from older servers.
    #[serde(default)]
    pub server: Option<String>,
    /// What the edge (nginx) in front of the servers logged, when the server reads its log.
    #[serde(default)]
    pub edge: Option<EdgeStats>,
}

/// Totals from the edge's access log: CDN hits and misses, and requests per server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EdgeStats {
    /// The log file read.
    pub log: String,
    /// Every request the edge logged.
    pub requests: u64,
    /// CDN requests served from the edge's cache, and their bytes.
    pub cdn_hits: u64,
    pub cdn_hit_bytes: u64,
    /// CDN requests the edge fetched from a server, and their bytes.
    pub cdn_misses: u64,
    pub cdn_miss_bytes: u64,
    /// CDN requests refused at the edge (bad or expired signature).
    pub cdn_refused: u64,
    /// Unix times (seconds, with milliseconds) of the first and last logged request.
    pub first_at: Option<f64>,
    pub last_at: Option<f64>,
    /// Requests each server behind the edge answered, by address.
    pub servers: Vec<ServerRequests>,
}

impl EdgeStats {
    /// Share of CDN bytes served from the edge's cache (`None` before any CDN request).
    pub fn byte_hit_ratio(&self) -> Option<f64> {
        let total = self.cdn_hit_bytes + self.cdn_miss_bytes;
        (total > 0).then(|| self.cdn_hit_bytes as f64 / total as f64)
    }

    /// Seconds between the first and the last logged request.
    pub fn span_secs(&self) -> Option<f64> {
        Some(self.last_at? - self.first_at?).filter(|s| *s > 0.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRequests {
    pub addr: String,
    pub requests: u64,
}

// ---------------------------------------------------------------- replication (admin)

/// `POST /admin/replication` body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationRequest {
    /// Re-hash every replica's bytes instead of checking existence and size only.
    #[serde(default)]
    pub deep: bool,
    /// Copy verified bytes to replicas that are missing or bad.
    #[serde(default)]
    pub repair: bool,
}

/// One line of the NDJSON stream `POST /admin/replication` answers with:
/// any number of `progress` lines, then exactly one `report` or `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ReplicationEvent {
    Progress {
        checked: u64,
        total: u64,
    },
    Report(ReplicationReport),
    /// The check failed after the response had started (the status line said 200).
    Error {
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaState {
    Ok,
    Missing,
    /// Present but with the wrong size (cheap check) or hash (deep check).
    Corrupt,
    /// Present on a volume the placement does not choose for it.
    Extra,
    /// The volume could not be read.
    Unreachable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaStatus {
    pub volume: String,
    pub state: ReplicaState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlobHealth {
    Healthy,
    UnderReplicated,
    /// No replica holds verified bytes: the blob is lost.
    Lost,
    /// On more volumes than the placement asks for.
    OverReplicated,
    /// Stored on a volume but referenced by no catalog row.
    Orphaned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobProblem {
    pub hash: String,
    pub size: u64,
    pub health: BlobHealth,
    pub replicas: Vec<ReplicaStatus>,
    /// What the catalog uses it for, e.g. `song 12: Title` or `cover of album 3`.
    pub used_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeReport {
    pub name: String,
    pub reachable: bool,
    pub ok: u64,
    pub missing: u64,
    pub corrupt: u64,
    pub extra: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairAction {
    pub hash: String,
    pub from_volume: String,
    pub to_volume: String,
    /// Why it was copied: the target replica was `missing` or `corrupt`.
    pub reason: ReplicaState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationReport {
    pub deep: bool,
    pub repair: bool,
    pub replication_factor: u32,
    pub blobs_checked: u64,
    pub healthy: u64,
    pub under_replicated: u64,
    pub corrupt_replicas: u64,
    pub missing_replicas: u64,
    pub lost: u64,
    pub over_replicated: u64,
    pub orphaned: u64,
    pub volumes: Vec<VolumeReport>,
    /// Every blob that is not healthy, as found before any repair.
    pub problems: Vec<BlobProblem>,
    /// Copies made by the repair.
    pub repaired: Vec<RepairAction>,
    /// Hashes the repair could not fix (no verified replica left).
    pub unrepairable: Vec<String>,
}

impl ReplicationReport {
    /// True when every blob was healthy when checked.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

// ---------------------------------------------------------------- ops

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    pub ready: bool,
    pub catalog: bool,
    pub volumes_reachable: u32,
    pub volumes_total: u32,
    pub quorum: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_without_the_lower_bound_flag_has_an_exact_total() {
        let old: Page<u32> =
            serde_json::from_str(r#"{"items":[1],"total":1,"limit":20,"offset":0}"#).unwrap();
        assert!(!old.total_is_lower_bound);
        let capped = Page {
            total_is_lower_bound: true,
            ..old
        };
        let json = serde_json::to_string(&capped).unwrap();
        assert!(json.contains(r#""total_is_lower_bound":true"#), "{json}");
        assert_eq!(serde_json::from_str::<Page<u32>>(&json).unwrap(), capped);
    }

    #[test]
    fn a_play_report_without_id_or_time_still_reads_and_is_sent_as_before() {
        let old: RecordPlay = serde_json::from_str(r#"{"song_id":7}"#).unwrap();
        assert_eq!(old, RecordPlay::now(7, None));
        let json = serde_json::to_string(&RecordPlay::now(7, Some(30_000))).unwrap();
        assert_eq!(json, r#"{"song_id":7,"played_ms":30000}"#);
        let full: RecordPlay = serde_json::from_str(
            r#"{"song_id":7,"played_ms":1,"play_id":"0123456789abcdef","played_at":1700000000}"#,
        )
        .unwrap();
        assert_eq!(full.play_id.as_deref(), Some("0123456789abcdef"));
        assert_eq!(full.played_at, Some(1_700_000_000));
    }

    #[test]
    fn replication_events_are_tagged_ndjson_lines() {
        let line = serde_json::to_string(&ReplicationEvent::Progress {
            checked: 3,
            total: 10,
        })
        .unwrap();
        assert_eq!(line, r#"{"type":"progress","checked":3,"total":10}"#);
        let back: ReplicationEvent = serde_json::from_str(&line).unwrap();
        assert_eq!(
            back,
            ReplicationEvent::Progress {
                checked: 3,
                total: 10
            }
        );
    }

    #[test]
    fn a_failed_check_ends_with_an_error_line() {
        let line = r#"{"type":"error","message":"volume vol2 refused a write"}"#;
        let event: ReplicationEvent = serde_json::from_str(line).unwrap();
        assert_eq!(
            event,
            ReplicationEvent::Error {
                message: "volume vol2 refused a write".into()
            }
        );
    }

    #[test]
    fn roles_parse_and_print_lowercase() {
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().unwrap_err().contains("listener"));
        assert_eq!(
            serde_json::to_string(&Role::Listener).unwrap(),
            r#""listener""#
        );
    }

    #[test]
    fn empty_overrides_serialize_to_nothing() {
        let q = serde_json::to_value(TagOverrides::default()).unwrap();
        assert_eq!(q, serde_json::json!({}));
    }
}
