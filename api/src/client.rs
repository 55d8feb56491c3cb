use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, RANGE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use crate::error::{ClientError, Result};
use crate::types::*;
use crate::API_PREFIX;

/// A typed client for one Cadenza server. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

/// A byte range to ask for when streaming: `start..=end`, or `start..` when `end` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: Option<u64>,
}

impl ByteRange {
    fn header_value(self) -> String {
        match self.end {
            Some(end) => format!("bytes={}-{}", self.start, end),
            None => format!("bytes={}-", self.start),
        }
    }
}

/// An audio response whose body has not been read yet.
#[derive(Debug)]
pub struct AudioStream {
    /// 200 for the whole file, 206 for a range.
    pub status: u16,
    pub content_type: Option<String>,
    /// Bytes in this response's body.
    pub content_length: Option<u64>,
    /// Size of the whole file (from `Content-Range` on a 206, else `Content-Length`).
    pub total_size: Option<u64>,
    /// Offset of the first byte of the body within the file.
    pub offset: u64,
    pub etag: Option<String>,
    response: Response,
}

impl AudioStream {
    /// The next chunk of the body, or `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        self.response
            .chunk()
            .await
            .map_err(|e| ClientError::Protocol(format!("audio stream broke off: {e}")))
    }

    /// The body as a stream of chunks.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes>> {
        self.response.bytes_stream().map(|chunk| {
            chunk.map_err(|e| ClientError::Protocol(format!("audio stream broke off: {e}")))
        })
    }

    /// The whole body in memory (small files and tests only).
    pub async fn bytes(self) -> Result<Bytes> {
        self.response
            .bytes()
            .await
            .map_err(|e| ClientError::Protocol(format!("audio stream broke off: {e}")))
    }
}

impl Client {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:4533`), without a token.
    pub fn new(base_url: &str) -> Result<Self> {
        let invalid = |reason: String| ClientError::InvalidUrl {
            url: base_url.to_string(),
            reason,
        };
        let mut base = Url::parse(base_url.trim()).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https".into()));
        }
        if base.host_str().is_none() {
            return Err(invalid("it has no host".into()));
        }
        // A base without a trailing slash would make `join` drop its last path segment.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("cadenza/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Protocol(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            token: None,
        })
    }

    /// The same client, sending `token` as a bearer token.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The server's base URL, with a trailing slash.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Absolute URL of an API route such as `/songs/3/stream`.
    pub fn api_url(&self, route: &str) -> Result<Url> {
        self.root_url(&format!("{API_PREFIX}{route}"))
    }

    /// Absolute URL of a path at the server's root (e.g. `/healthz` or a share link's `path`).
    pub fn root_url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ClientError::InvalidUrl {
                url: path.to_string(),
                reason: e.to_string(),
            })
    }

    // ------------------------------------------------------------ auth

    /// Logs in and keeps the returned token for later calls.
    pub async fn login(&mut self, username: &str, password: &str) -> Result<LoginResponse> {
        let body = LoginRequest {
            username: username.to_string(),
            password: password.to_string(),
        };
        let login: LoginResponse = self.send_json(Method::POST, "/auth/login", &body).await?;
        self.token = Some(login.token.clone());
        Ok(login)
    }

    /// Revokes the current token on the server.
    pub async fn logout(&mut self) -> Result<()> {
        self.send_empty(self.request(Method::POST, "/auth/logout")?)
            .await?;
        self.token = None;
        Ok(())
    }

    pub async fn me(&self) -> Result<User> {
        self.get("/me").await
    }

    // ------------------------------------------------------------ browse

    pub async fn song(&self, id: SongId) -> Result<Song> {
        self.get(&format!("/songs/{id}")).await
    }

    pub async fn songs(&self, page: PageRequest) -> Result<Page<Song>> {
        self.get_query("/songs", &page).await
    }

    pub async fn albums(&self, page: PageRequest) -> Result<Page<Album>> {
        self.get_query("/albums", &page).await
    }

    pub async fn album(&self, id: AlbumId) -> Result<AlbumDetail> {
        self.get(&format!("/albums/{id}")).await
    }

    /// The album's cover image bytes and content type.
    pub async fn album_cover(&self, id: AlbumId) -> Result<(Bytes, String)> {
        let response = self
            .execute(self.request(Method::GET, &format!("/albums/{id}/cover"))?)
            .await?;
        let content_type = header_str(response.headers(), CONTENT_TYPE)
            .unwrap_or_else(|| "application/octet-stream".into());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Protocol(format!("cover download broke off: {e}")))?;
        Ok((bytes, content_type))
    }

    pub async fn artists(&self, page: PageRequest) -> Result<Page<Artist>> {
        self.get_query("/artists", &page).await
    }

    pub async fn artist(&self, id: ArtistId) -> Result<ArtistDetail> {
        self.get(&format!("/artists/{id}")).await
    }

    pub async fn genres(&self) -> Result<Vec<Genre>> {
        self.get("/genres").await
    }

    pub async fn genre_songs(&self, genre: &str, page: PageRequest) -> Result<Page<Song>> {
        let route = format!("/genres/{}/songs", encode_segment(genre));
        self.get_query(&route, &page).await
    }

    /// Most played songs over the last `days` days.
    pub async fn hot(&self, days: u32, limit: u32) -> Result<Vec<HotEntry>> {
        #[derive(Serialize)]
        struct Query {
            days: u32,
            limit: u32,
        }
        self.get_query("/hot", &Query { days, limit }).await
    }

    pub async fn search(
        &self,
        query: &str,
        kind: SearchType,
        page: PageRequest,
    ) -> Result<SearchResults> {
        #[derive(Serialize)]
        struct Query<'a> {
            q: &'a str,
            #[serde(rename = "type")]
            kind: SearchType,
            limit: u32,
            offset: u32,
        }
        let q = Query {
            q: query,
            kind,
            limit: page.limit,
            offset: page.offset,
        };
        self.get_query("/search", &q).await
    }

    // ------------------------------------------------------------ streaming

    /// Streams a song's audio, optionally only a byte range of it.
    pub async fn stream_song(&self, id: SongId, range: Option<ByteRange>) -> Result<AudioStream> {
        self.stream(&format!("/songs/{id}/stream"), range).await
    }

    pub async fn stream_episode(
        &self,
        id: EpisodeId,
        range: Option<ByteRange>,
    ) -> Result<AudioStream> {
        self.stream(&format!("/episodes/{id}/stream"), range).await
    }

    /// A signed link that streams the song without a token until it expires.
    pub async fn share_song(&self, id: SongId, ttl_secs: Option<u64>) -> Result<ShareLink> {
        self.send_json(
            Method::POST,
            &format!("/songs/{id}/share"),
            &ShareRequest { ttl_secs },
        )
        .await
    }

    async fn stream(&self, route: &str, range: Option<ByteRange>) -> Result<AudioStream> {
        let mut request = self.request(Method::GET, route)?;
        if let Some(range) = range {
            request = request.header(RANGE, range.header_value());
        }
        let response = self.execute(request).await?;
        let headers = response.headers();
        let content_length = header_str(headers, CONTENT_LENGTH).and_then(|v| v.parse().ok());
        let (offset, total_size) = match header_str(headers, CONTENT_RANGE) {
            Some(value) => parse_content_range(&value).ok_or_else(|| {
                ClientError::Protocol(format!("bad Content-Range header `{value}`"))
            })?,
            None => (0, content_length),
        };
        Ok(AudioStream {
            status: response.status().as_u16(),
            content_type: header_str(headers, CONTENT_TYPE),
            content_length,
            total_size,
            offset,
            etag: header_str(headers, ETAG),
            response,
        })
    }

    // ------------------------------------------------------------ playlists

    /// The caller's playlists and everyone's public ones.
    pub async fn playlists(&self, page: PageRequest) -> Result<Page<Playlist>> {
        self.get_query("/playlists", &page).await
    }

    pub async fn playlist(&self, id: PlaylistId) -> Result<PlaylistDetail> {
        self.get(&format!("/playlists/{id}")).await
    }

    pub async fn create_playlist(&self, name: &str, public: bool) -> Result<Playlist> {
        let body = CreatePlaylist {
            name: name.to_string(),
            public,
        };
        self.send_json(Method::POST, "/playlists", &body).await
    }

    pub async fn update_playlist(
        &self,
        id: PlaylistId,
        update: &UpdatePlaylist,
    ) -> Result<Playlist> {
        self.send_json(Method::PATCH, &format!("/playlists/{id}"), update)
            .await
    }

    pub async fn delete_playlist(&self, id: PlaylistId) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/playlists/{id}"))?)
            .await
    }

    pub async fn add_to_playlist(
        &self,
        id: PlaylistId,
        song_ids: &[SongId],
        position: Option<u32>,
    ) -> Result<PlaylistDetail> {
        let body = AddTracks {
            song_ids: song_ids.to_vec(),
            position,
        };
        self.send_json(Method::POST, &format!("/playlists/{id}/tracks"), &body)
            .await
    }

    pub async fn remove_from_playlist(
        &self,
        id: PlaylistId,
        position: u32,
    ) -> Result<PlaylistDetail> {
        let route = format!("/playlists/{id}/tracks/{position}");
        self.parse(self.execute(self.request(Method::DELETE, &route)?).await?)
            .await
    }

    pub async fn move_in_playlist(
        &self,
        id: PlaylistId,
        from: u32,
        to: u32,
    ) -> Result<PlaylistDetail> {
        self.send_json(
            Method::POST,
            &format!("/playlists/{id}/move"),
            &MoveTrack { from, to },
        )
        .await
    }

    // ------------------------------------------------------------ plays & podcasts

    /// Reports a play heard now, without a `play_id` (see [`report_play`](Self::report_play)).
    pub async fn record_play(&self, song_id: SongId, played_ms: Option<u64>) -> Result<()> {
        self.report_play(&RecordPlay::now(song_id, played_ms)).await
    }

    /// Reports a play; with a `play_id`, sending the same report again is safe.
    pub async fn report_play(&self, play: &RecordPlay) -> Result<()> {
        let request = self.request(Method::POST, "/plays")?.json(play);
        self.send_empty(request).await
    }

    pub async fn podcasts(&self, page: PageRequest) -> Result<Page<Podcast>> {
        self.get_query("/podcasts", &page).await
    }

    pub async fn podcast(&self, id: PodcastId) -> Result<PodcastDetail> {
        self.get(&format!("/podcasts/{id}")).await
    }

    pub async fn episode_position(&self, id: EpisodeId) -> Result<ResumePosition> {
        self.get(&format!("/episodes/{id}/position")).await
    }

    pub async fn set_episode_position(&self, id: EpisodeId, position_ms: u64) -> Result<()> {
        let request = self
            .request(Method::PUT, &format!("/episodes/{id}/position"))?
            .json(&ResumePosition { position_ms });
        self.send_empty(request).await
    }

    // ------------------------------------------------------------ admin: content

    /// Uploads one song. `body` streams the file; `size`, when known, lets the server
    /// refuse an oversized upload before reading it.
    pub async fn upload_song(
        &self,
        body: impl Into<reqwest::Body>,
        size: Option<u64>,
        overrides: &TagOverrides,
    ) -> Result<UploadedSong> {
        let mut request = self
            .request(Method::POST, "/admin/songs")?
            .query(overrides)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(body);
        if let Some(size) = size {
            request = request.header(CONTENT_LENGTH, size);
        }
        self.parse(self.execute(request).await?).await
    }

    /// Uploads a file from disk, streaming it.
    pub async fn upload_song_file(
        &self,
        path: &Path,
        overrides: &TagOverrides,
    ) -> Result<UploadedSong> {
        let (file, size) = open_for_upload(path).await?;
        self.upload_song(file, Some(size), overrides).await
    }

    /// Whether the server already holds a blob with this SHA-256 (lowercase hex).
    pub async fn blob_status(&self, hash: &str) -> Result<BlobStatus> {
        self.get(&format!("/admin/blobs/{}", encode_segment(hash)))
            .await
    }

    pub async fn delete_song(&self, id: SongId) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/admin/songs/{id}"))?)
            .await
    }

    pub async fn create_podcast(&self, podcast: &CreatePodcast) -> Result<Podcast> {
        self.send_json(Method::POST, "/admin/podcasts", podcast)
            .await
    }

    pub async fn upload_episode(
        &self,
        podcast: PodcastId,
        body: impl Into<reqwest::Body>,
        size: Option<u64>,
        meta: &EpisodeMeta,
    ) -> Result<UploadedEpisode> {
        let mut request = self
            .request(Method::POST, &format!("/admin/podcasts/{podcast}/episodes"))?
            .query(meta)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(body);
        if let Some(size) = size {
            request = request.header(CONTENT_LENGTH, size);
        }
        self.parse(self.execute(request).await?).await
    }

    // ------------------------------------------------------------ admin: users & ops

    pub async fn users(&self) -> Result<Vec<User>> {
        self.get("/admin/users").await
    }

    pub async fn create_user(&self, username: &str, password: &str, role: Role) -> Result<User> {
        let body = CreateUser {
            username: username.to_string(),
            password: password.to_string(),
            role,
        };
        self.send_json(Method::POST, "/admin/users", &body).await
    }

    pub async fn set_role(&self, id: UserId, role: Role) -> Result<User> {
        self.send_json(
            Method::PATCH,
            &format!("/admin/users/{id}"),
            &SetRole { role },
        )
        .await
    }

    pub async fn reset_password(&self, id: UserId, password: &str) -> Result<()> {
        let request = self
            .request(Method::POST, &format!("/admin/users/{id}/password"))?
            .json(&SetPassword {
                password: password.to_string(),
            });
        self.send_empty(request).await
    }

    pub async fn delete_user(&self, id: UserId) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/admin/users/{id}"))?)
            .await
    }

    // ------------------------------------------------------------ client credentials

    /// The caller's app passwords and API keys (without their secrets).
    pub async fn my_credentials(&self) -> Result<Vec<ClientCredential>> {
        self.get("/me/credentials").await
    }

    /// Makes an app password or API key for the caller; the secret is in the answer only.
    pub async fn create_my_credential(
        &self,
        kind: CredentialKind,
        name: &str,
    ) -> Result<NewClientCredential> {
        let body = CreateCredential {
            kind,
            name: name.to_string(),
        };
        self.send_json(Method::POST, "/me/credentials", &body).await
    }

    pub async fn revoke_my_credential(&self, id: CredentialId) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/me/credentials/{id}"))?)
            .await
    }

    /// A user's app passwords and API keys (admin).
    pub async fn user_credentials(&self, user: UserId) -> Result<Vec<ClientCredential>> {
        self.get(&format!("/admin/users/{user}/credentials")).await
    }

    /// Makes an app password or API key for a user (admin).
    pub async fn create_user_credential(
        &self,
        user: UserId,
        kind: CredentialKind,
        name: &str,
    ) -> Result<NewClientCredential> {
        let body = CreateCredential {
            kind,
            name: name.to_string(),
        };
        self.send_json(
            Method::POST,
            &format!("/admin/users/{user}/credentials"),
            &body,
        )
        .await
    }

    pub async fn revoke_user_credential(&self, user: UserId, id: CredentialId) -> Result<()> {
        self.send_empty(self.request(
            Method::DELETE,
            &format!("/admin/users/{user}/credentials/{id}"),
        )?)
        .await
    }

    // ------------------------------------------------------------ podcast feeds (admin)

    /// Has the server read a feed: it creates the podcast (once per URL) and downloads the
    /// episodes it does not have. Answers when that is done.
    pub async fn add_feed(&self, feed_url: &str) -> Result<FeedRefresh> {
        let body = AddFeed {
            feed_url: feed_url.to_string(),
        };
        self.send_json(Method::POST, "/admin/podcasts/feeds", &body)
            .await
    }

    /// Has the server read every feed now; one report per podcast with a feed.
    pub async fn refresh_podcasts(&self) -> Result<Vec<FeedRefresh>> {
        self.send_json(Method::POST, "/admin/podcasts/refresh", &())
            .await
    }

    pub async fn stats(&self) -> Result<Stats> {
        self.get("/admin/stats").await
    }

    /// Runs a replication check (and repair, if asked), calling `on_progress(checked, total)`
    /// as the server reports progress.
    pub async fn replication(
        &self,
        request: ReplicationRequest,
        on_progress: impl FnMut(u64, u64),
    ) -> Result<ReplicationReport> {
        let http = self
            .request(Method::POST, "/admin/replication")?
            .json(&request);
        self.report_stream(http, on_progress).await
    }

    /// Drains volume `name`: its blobs move to their new placement, then leave it. The report
    /// is the repair's, with `drained` saying what left the volume.
    pub async fn drain_volume(
        &self,
        name: &str,
        on_progress: impl FnMut(u64, u64),
    ) -> Result<ReplicationReport> {
        let mut url = self.api_url("/admin/volumes")?;
        url.path_segments_mut()
            .map_err(|()| ClientError::Protocol("the server URL cannot take a path".into()))?
            .push(name)
            .push("drain");
        let http = self.request_to(Method::POST, url);
        self.report_stream(http, on_progress).await
    }

    /// Reads an NDJSON stream of [`ReplicationEvent`]s up to its report.
    async fn report_stream(
        &self,
        http: RequestBuilder,
        mut on_progress: impl FnMut(u64, u64),
    ) -> Result<ReplicationReport> {
        let mut response = self.execute(http).await?;
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| ClientError::Protocol(format!("replication report broke off: {e}")))?;
            let ended = chunk.is_none();
            if let Some(chunk) = chunk {
                pending.extend_from_slice(&chunk);
            } else if !pending.is_empty() {
                pending.push(b'\n');
            }
            while let Some(newline) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=newline).collect();
                let line = &line[..line.len() - 1];
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let event: ReplicationEvent = serde_json::from_slice(line)
                    .map_err(|e| ClientError::Protocol(format!("bad replication event: {e}")))?;
                match event {
                    ReplicationEvent::Progress { checked, total } => on_progress(checked, total),
                    ReplicationEvent::Report(report) => return Ok(*report),
                    ReplicationEvent::Error { message } => {
                        return Err(ClientError::Api {
                            status: 500,
                            code: "replication_failed".into(),
                            message: format!(
                                "the replication check failed on the server: {message}"
                            ),
                        })
                    }
                }
            }
            if ended {
                return Err(ClientError::Protocol(
                    "the replication stream ended without a report".into(),
                ));
            }
        }
    }

    /// `GET /healthz` answered 200.
    pub async fn health(&self) -> Result<()> {
        let url = self.root_url("/healthz")?;
        self.execute(self.http.get(url)).await.map(drop)
    }

    pub async fn readiness(&self) -> Result<Readiness> {
        let url = self.root_url("/readyz")?;
        let response = self.http.get(url.clone()).send().await;
        let response = response.map_err(|e| unreachable(&url, &e))?;
        // 503 still carries the readiness body: report it rather than an error.
        self.parse_any_status(response).await
    }

    // ------------------------------------------------------------ plumbing

    /// A request to an API route, with the token when there is one.
    pub fn request(&self, method: Method, route: &str) -> Result<RequestBuilder> {
        Ok(self.request_to(method, self.api_url(route)?))
    }

    /// A request to `url` with the token, if any.
    fn request_to(&self, method: Method, url: Url) -> RequestBuilder {
        let request = self.http.request(method, url);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn get<T: DeserializeOwned>(&self, route: &str) -> Result<T> {
        self.parse(self.execute(self.request(Method::GET, route)?).await?)
            .await
    }

    async fn get_query<T: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        route: &str,
        query: &Q,
    ) -> Result<T> {
        let request = self.request(Method::GET, route)?.query(query);
        self.parse(self.execute(request).await?).await
    }

    async fn send_json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        route: &str,
        body: &B,
    ) -> Result<T> {
        let request = self.request(method, route)?.json(body);
        self.parse(self.execute(request).await?).await
    }

    async fn send_empty(&self, request: RequestBuilder) -> Result<()> {
        self.execute(request).await.map(drop)
    }

    /// Sends the request; any non-success status becomes [`ClientError::Api`].
    async fn execute(&self, request: RequestBuilder) -> Result<Response> {
        let (http, request) = request.build_split();
        let request = request.map_err(|e| ClientError::Protocol(format!("bad request: {e}")))?;
        let url = request.url().clone();
        let response = http
            .execute(request)
            .await
            .map_err(|e| unreachable(&url, &e))?;
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        Err(api_error(response).await)
    }

    async fn parse<T: DeserializeOwned>(&self, response: Response) -> Result<T> {
        self.parse_any_status(response).await
    }

    async fn parse_any_status<T: DeserializeOwned>(&self, response: Response) -> Result<T> {
        let url = response.url().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::Protocol(format!("answer from {url} broke off: {e}")))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            ClientError::Protocol(format!(
                "cannot read the answer from {url}: {e} (is this a Cadenza server of the same version?)"
            ))
        })
    }
}

/// Opens a file for a streaming upload, with its size.
async fn open_for_upload(path: &Path) -> Result<(reqwest::Body, u64)> {
    let local = |source| ClientError::Local {
        path: path.display().to_string(),
        source,
    };
    let file = tokio::fs::File::open(path).await.map_err(local)?;
    let size = file.metadata().await.map_err(local)?.len();
    Ok((reqwest::Body::from(file), size))
}

fn unreachable(url: &Url, error: &reqwest::Error) -> ClientError {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    // reqwest's own message is generic ("error sending request"); the cause says what happened.
    while let Some(cause) = source {
        reason = cause.to_string();
        source = cause.source();
    }
    let mut server = url.clone();
    server.set_path("");
    server.set_query(None);
    ClientError::Unreachable {
        url: server.to_string(),
        reason,
    }
}

async fn api_error(response: Response) -> ClientError {
    let status = response.status();
    let bytes = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(body) => ClientError::Api {
            status: status.as_u16(),
            code: body.error.code,
            message: body.error.message,
        },
        Err(_) => ClientError::Api {
            status: status.as_u16(),
            code: status
                .canonical_reason()
                .unwrap_or("error")
                .to_lowercase()
                .replace(' ', "_"),
            message: format!(
                "the server answered {status} without an error body (is this a Cadenza server?)"
            ),
        },
    }
}

fn header_str(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `bytes START-END/TOTAL` → `(START, Some(TOTAL))`; `*` as total → `None`.
fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start.trim().parse().ok()?, total))
}

/// Percent-encodes one path segment.
fn encode_segment(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_keeps_its_path() {
        let client = Client::new("http://example.test:8080/music").unwrap();
        assert_eq!(
            client.api_url("/songs/1/stream").unwrap().as_str(),
            "http://example.test:8080/music/api/v1/songs/1/stream"
        );
        assert_eq!(
            client.root_url("/healthz").unwrap().as_str(),
            "http://example.test:8080/music/healthz"
        );
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        let err = Client::new("localhost:4533").unwrap_err();
        assert!(err.to_string().contains("not a valid server URL"), "{err}");
        let err = Client::new("ftp://host/").unwrap_err();
        assert!(err.to_string().contains("http or https"), "{err}");
    }

    #[test]
    fn content_range_is_parsed() {
        assert_eq!(
            parse_content_range("bytes 10-19/100"),
            Some((10, Some(100)))
        );
        assert_eq!(parse_content_range("bytes 0-0/*"), Some((0, None)));
        assert_eq!(parse_content_range("bytes */100"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("Hip Hop/Rap"), "Hip%20Hop%2FRap");
        assert_eq!(encode_segment("Björk"), "Bj%C3%B6rk");
    }

    #[test]
    fn range_headers() {
        let open = ByteRange {
            start: 5,
            end: None,
        };
        assert_eq!(open.header_value(), "bytes=5-");
        let closed = ByteRange {
            start: 0,
            end: Some(99),
        };
        assert_eq!(closed.header_value(), "bytes=0-99");
    }

    #[tokio::test]
    async fn refused_connection_names_the_server() {
        // Port 9 (discard) is closed on loopback here; the error must say which server failed.
        let client = Client::new("http://127.0.0.1:9").unwrap();
        let err = client.me().await.unwrap_err();
        assert!(err.is_unreachable(), "{err:?}");
        assert!(err.to_string().contains("http://127.0.0.1:9/"), "{err}");
    }
}
