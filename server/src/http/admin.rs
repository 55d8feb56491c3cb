//! Admin routes (role admin): uploads, deleting songs, users, stats, replication.
//! Adding and deleting go through [`crate::library`], which owns their order and clean-up.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cadenza_api::{
    ArtistStorage, CreatePodcast, CreateUser, EpisodeMeta, PodcastId, ReplicationEvent,
    ReplicationReport, ReplicationRequest, Role, SetPassword, SetRole, SongId, Stats, TagOverrides,
    User, UserId,
};
use cadenza_catalog::Catalog;
use cadenza_store::{BlobInfo, StoreError};
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use warp::filters::BoxedFilter;
use warp::http::header::CONTENT_TYPE;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

use super::route::api_route;
use super::{
    body, ctx, json, no_content, ok_json, read_json, read_json_or_default, respond, unix_now,
    ApiError, ApiResult, BodyStream, Ctx,
};
use crate::app::App;
use crate::auth::{check_password_strength, check_username, hash_password};
use crate::library;

/// Days of plays the hot list in `/admin/stats` covers.
const STATS_HOT_DAYS: i64 = 7;
const STATS_HOT_LIMIT: u32 = 10;
/// Least time between two progress lines of a replication check.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    let upload_song = api_route!("admin" / "songs")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, cx, body| respond(route, upload_song(cx, body)));
    let delete_song = api_route!("admin" / "songs" / {id: SongId})
        .and(warp::delete())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, delete_song(cx, id)));
    let blob = api_route!("admin" / "blobs" / {hash: String})
        .and(warp::get())
        .and(ctx(app))
        .then(|route, hash, cx| respond(route, blob_status(cx, hash)));
    let users = api_route!("admin" / "users")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx| respond(route, list_users(cx)));
    let create_user = api_route!("admin" / "users")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, cx, body| respond(route, create_user(cx, body)));
    let set_role = api_route!("admin" / "users" / {id: UserId})
        .and(warp::patch())
        .and(ctx(app))
        .and(body())
        .then(|route, id, cx, body| respond(route, set_role(cx, id, body)));
    let delete_user = api_route!("admin" / "users" / {id: UserId})
        .and(warp::delete())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, delete_user(cx, id)));
    let password = api_route!("admin" / "users" / {id: UserId} / "password")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, id, cx, body| respond(route, reset_password(cx, id, body)));
    let stats = api_route!("admin" / "stats")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx| respond(route, stats(cx)));
    let replication = api_route!("admin" / "replication")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, cx, body| respond(route, replication(cx, body)));
    let drain = api_route!("admin" / "volumes" / {name: String} / "drain")
        .and(warp::post())
        .and(ctx(app))
        .then(|route, name, cx| respond(route, drain_volume(cx, name)));
    let create_podcast = api_route!("admin" / "podcasts")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, cx, body| respond(route, create_podcast(cx, body)));
    let upload_episode = api_route!("admin" / "podcasts" / {id: PodcastId} / "episodes")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, id, cx, body| respond(route, upload_episode(cx, id, body)));
    upload_song
        .or(delete_song)
        .unify()
        .or(blob)
        .unify()
        .or(users)
        .unify()
        .or(create_user)
        .unify()
        .or(set_role)
        .unify()
        .or(delete_user)
        .unify()
        .or(password)
        .unify()
        .or(stats)
        .unify()
        .or(replication)
        .unify()
        .or(drain)
        .unify()
        .or(create_podcast)
        .unify()
        .or(upload_episode)
        .unify()
        .boxed()
}

fn created_or_ok(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// Counts an upload's outcome in the metrics.
fn count_upload<T>(app: &App, result: &Result<T, ApiError>, created: impl Fn(&T) -> bool) {
    match result {
        Ok(value) => app.metrics.upload_done(if created(value) {
            "created"
        } else {
            "duplicate"
        }),
        Err(e) => app.metrics.upload_failed(e.code),
    }
}

/// A refused upload is read to its end (up to this much, for up to [`DRAIN_TIME`]) before
/// the error is sent. A client still sending would otherwise hit a connection reset when
/// the server closes with unread bytes, and never see the 413/415 that says why.
const DRAIN_MAX: u64 = 32 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(10);

async fn discard_rest(body: &mut BodyStream, declared: Option<u64>) {
    if declared.is_some_and(|len| len > DRAIN_MAX) {
        return; // not worth reading; this client will see the connection close
    }
    let drain = async {
        let mut read = 0u64;
        while let Some(Ok(chunk)) = body.next().await {
            read += chunk.len() as u64;
            if read > DRAIN_MAX {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
}

async fn upload_song(cx: Ctx, mut body: BodyStream) -> ApiResult<Response> {
    let result = ingest_song(&cx, &mut body).await;
    if result.is_err() {
        discard_rest(&mut body, cx.content_length()).await;
    }
    result
}

async fn ingest_song(cx: &Ctx, body: &mut BodyStream) -> ApiResult<Response> {
    let admin = cx.admin().await?;
    let overrides: TagOverrides = cx.query()?;
    let result = library::ingest_song(&cx.app, body, cx.content_length(), overrides)
        .await
        .map_err(ApiError::from);
    count_upload(&cx.app, &result, |u| u.created);
    let uploaded = result?;
    tracing::info!(
        admin = %admin.username,
        song = uploaded.song.id,
        created = uploaded.created,
        "uploaded {} - {}",
        uploaded.song.artist,
        uploaded.song.title
    );
    Ok(json(created_or_ok(uploaded.created), &uploaded))
}

async fn upload_episode(cx: Ctx, podcast: PodcastId, mut body: BodyStream) -> ApiResult<Response> {
    let result = ingest_episode(&cx, podcast, &mut body).await;
    if result.is_err() {
        discard_rest(&mut body, cx.content_length()).await;
    }
    result
}

async fn ingest_episode(
    cx: &Ctx,
    podcast: PodcastId,
    body: &mut BodyStream,
) -> ApiResult<Response> {
    let admin = cx.admin().await?;
    let meta: EpisodeMeta = cx.query()?;
    // Before reading the body: no point storing audio for a podcast that is not there.
    cx.db(move |c| c.podcast(podcast, admin.id)).await?;
    let result = library::ingest_episode(&cx.app, podcast, body, cx.content_length(), meta)
        .await
        .map_err(ApiError::from);
    count_upload(&cx.app, &result, |u| u.created);
    let uploaded = result?;
    Ok(json(created_or_ok(uploaded.created), &uploaded))
}

async fn delete_song(cx: Ctx, id: SongId) -> ApiResult<Response> {
    let admin = cx.admin().await?;
    library::delete_song(&cx.app, id).await?;
    tracing::info!(admin = %admin.username, song = id, "deleted a song");
    no_content()
}

async fn blob_status(cx: Ctx, hash: String) -> ApiResult<Response> {
    cx.admin().await?;
    let hash = hash.to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(
            "a blob hash is 64 hexadecimal characters (a SHA-256)",
        ));
    }
    let mut status = cx.db(move |c| c.blob_status(&hash)).await?;
    status.max_upload_bytes = Some(cx.app.config.max_upload_bytes);
    ok_json(&status)
}

async fn list_users(cx: Ctx) -> ApiResult<Response> {
    cx.admin().await?;
    ok_json(&cx.db(|c| c.users()).await?)
}

/// Hashes a password on the blocking pool, within the hashing limit.
async fn hash_new_password(cx: &Ctx, password: String) -> ApiResult<String> {
    check_password_strength(&password).map_err(ApiError::bad_request)?;
    let _permit = cx
        .app
        .password_hashing
        .acquire()
        .await
        .map_err(|e| ApiError::internal("waiting to hash a password", &e))?;
    Ok(tokio::task::spawn_blocking(move || hash_password(&password)).await??)
}

async fn create_user(cx: Ctx, body: BodyStream) -> ApiResult<Response> {
    cx.admin().await?;
    let CreateUser {
        username,
        password,
        role,
    } = read_json(body).await?;
    check_username(&username).map_err(ApiError::bad_request)?;
    let hash = hash_new_password(&cx, password).await?;
    let user = cx
        .db(move |c| c.create_user(&username, &hash, role))
        .await?;
    Ok(json(StatusCode::CREATED, &user))
}

/// Refuses a change that would leave no admin at all (nobody could manage the server).
fn keeps_an_admin(catalog: &dyn Catalog, changed: UserId) -> Result<(), ApiError> {
    let users = catalog.users()?;
    let target = users
        .iter()
        .find(|u| u.id == changed)
        .ok_or_else(|| ApiError::not_found(format!("no user with id {changed}")))?;
    let admins = users.iter().filter(|u| u.role == Role::Admin).count();
    if target.role == Role::Admin && admins <= 1 {
        return Err(ApiError::conflict(
            "this is the last admin account; make another user admin first",
        ));
    }
    Ok(())
}

async fn set_role(cx: Ctx, id: UserId, body: BodyStream) -> ApiResult<Response> {
    cx.admin().await?;
    let SetRole { role } = read_json(body).await?;
    let user: User = cx
        .db(move |c| {
            if role != Role::Admin {
                keeps_an_admin(c, id)?;
            }
            c.set_role(id, role).map_err(ApiError::from)
        })
        .await?;
    cx.app.tokens.revoke_user(id);
    ok_json(&user)
}

async fn delete_user(cx: Ctx, id: UserId) -> ApiResult<Response> {
    cx.admin().await?;
    cx.db(move |c| {
        keeps_an_admin(c, id)?;
        c.delete_user(id).map_err(ApiError::from)
    })
    .await?;
    cx.app.tokens.revoke_user(id);
    no_content()
}

async fn reset_password(cx: Ctx, id: UserId, body: BodyStream) -> ApiResult<Response> {
    cx.admin().await?;
    let SetPassword { password } = read_json(body).await?;
    cx.db(move |c| c.user(id)).await?;
    let hash = hash_new_password(&cx, password).await?;
    cx.db(move |c| c.set_password_hash(id, &hash)).await?;
    cx.app.tokens.revoke_user(id);
    no_content()
}

async fn stats(cx: Ctx) -> ApiResult<Response> {
    cx.admin().await?;
    let now = unix_now();
    let catalog = cx.db(move |c| c.stats(now)).await?;
    let hot = cx
        .db(move |c| c.hot(now - STATS_HOT_DAYS * 86_400, STATS_HOT_LIMIT))
        .await?;
    let volumes = cx.app.store.volume_stats().await;
    let stats = Stats {
        songs: catalog.songs,
        albums: catalog.albums,
        artists: catalog.artists,
        genres: catalog.genres,
        users: catalog.users,
        playlists: catalog.playlists,
        podcasts: catalog.podcasts,
        episodes: catalog.episodes,
        plays: catalog.plays,
        blobs: catalog.blobs,
        logical_bytes: catalog.logical_bytes,
        stored_bytes: volumes.iter().map(|v| v.bytes).sum(),
        replication_factor: cx.app.store.replication_factor() as u32,
        volumes,
        avg_song_bytes: catalog.avg_song_bytes,
        catalog_bytes: catalog.catalog_bytes,
        song_metadata_bytes: catalog.song_metadata_bytes,
        user_metadata_bytes: catalog.user_metadata_bytes,
        plays_per_user_per_day: catalog.plays_per_user_per_day,
        recent_plays: catalog.recent_plays,
        play_window_days: catalog.play_window_days,
        largest_artists: catalog
            .largest_artists
            .into_iter()
            .map(|(artist, bytes)| ArtistStorage { artist, bytes })
            .collect(),
        hot,
        server: Some(cx.app.instance().to_string()),
        edge: cx.app.edge_stats().await,
    };
    ok_json(&stats)
}

async fn create_podcast(cx: Ctx, body: BodyStream) -> ApiResult<Response> {
    cx.admin().await?;
    let new: CreatePodcast = read_json(body).await?;
    if new.title.trim().is_empty() {
        return Err(ApiError::bad_request("a podcast needs a title"));
    }
    let now = unix_now();
    let (podcast, created) = cx.db(move |c| c.create_podcast(&new, now)).await?;
    Ok(json(created_or_ok(created), &podcast))
}

/// `POST /admin/replication`: NDJSON, progress lines while the check runs, then the report.
///
/// The check runs in its own task and sends events through a channel, so the server keeps
/// no state between requests. If the client goes away, the task is aborted (repairs are
/// per-blob atomic, so stopping between blobs is safe).
async fn replication(cx: Ctx, body: BodyStream) -> ApiResult<Response> {
    cx.admin().await?;
    let request: ReplicationRequest = read_json_or_default(body).await?;
    let blobs = catalog_blobs(&cx).await?;
    tracing::info!(
        deep = request.deep,
        repair = request.repair,
        blobs = blobs.len(),
        "replication check started"
    );
    let store = cx.app.store.clone();
    report_stream(move |progress| async move { store.replication(blobs, request, progress).await })
        .await
}

/// `POST /admin/volumes/{name}/drain`: moves every blob off the volume (see
/// `BlobStore::drain`); NDJSON like the replication check, whose report it ends with.
async fn drain_volume(cx: Ctx, name: String) -> ApiResult<Response> {
    cx.admin().await?;
    cx.app
        .store
        .begin_drain(&name)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let blobs = catalog_blobs(&cx).await?;
    tracing::info!(volume = %name, blobs = blobs.len(), "draining a volume");
    let store = cx.app.store.clone();
    report_stream(move |progress| async move { store.drain(&name, blobs, progress).await }).await
}

/// Every blob the catalog uses.
async fn catalog_blobs(cx: &Ctx) -> ApiResult<Vec<BlobInfo>> {
    Ok(cx
        .db(|c| c.blob_refs())
        .await?
        .into_iter()
        .map(|r| BlobInfo {
            hash: r.hash,
            size: r.size,
            used_by: r.used_by,
        })
        .collect())
}

type Progress = Box<dyn FnMut(u64, u64) + Send>;

/// Runs a check-like `job` in its own task and answers with its NDJSON events: progress
/// lines, then the report.
///
/// The server keeps no state between requests. If the client goes away, the task is
/// aborted (repairs are per-blob atomic, so stopping between blobs is safe).
async fn report_stream<F, Fut>(job: F) -> ApiResult<Response>
where
    F: FnOnce(Progress) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<ReplicationReport, StoreError>> + Send,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<Result<ReplicationEvent, ApiError>>();
    let task = tokio::spawn(async move {
        let progress_tx = tx.clone();
        let mut last: Option<Instant> = None;
        let progress = move |checked: u64, total: u64| {
            let due = last.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
            if due || checked == total {
                last = Some(Instant::now());
                let _ = progress_tx.send(Ok(ReplicationEvent::Progress { checked, total }));
            }
        };
        let event = match job(Box::new(progress)).await {
            Ok(report) => {
                tracing::info!(
                    healthy = report.healthy,
                    problems = report.problems.len(),
                    repaired = report.repaired.len(),
                    "replication check finished"
                );
                Ok(ReplicationEvent::Report(Box::new(report)))
            }
            Err(e) => Err(ApiError::from(e)),
        };
        let _ = tx.send(event);
    });
    // Wait for the first event, so a check that fails at once gets a proper error status.
    let first = match rx.recv().await {
        Some(Ok(event)) => event,
        Some(Err(e)) => return Err(e),
        None => {
            return Err(ApiError::internal(
                "running the replication check",
                &"no result",
            ))
        }
    };
    let lines = EventLines {
        first: Some(first),
        rx,
        task: AbortOnDrop(task),
    };
    let mut response = warp::reply::stream(lines).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(response)
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The NDJSON body: one JSON object per line.
struct EventLines {
    first: Option<ReplicationEvent>,
    rx: mpsc::UnboundedReceiver<Result<ReplicationEvent, ApiError>>,
    task: AbortOnDrop,
}

fn line(event: &ReplicationEvent) -> Bytes {
    let mut bytes = serde_json::to_vec(event).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

impl Stream for EventLines {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let _ = &this.task;
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(line(&first))));
        }
        match this.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(event))) => Poll::Ready(Some(Ok(line(&event)))),
            // Headers are out, so the failure travels as the stream's last line.
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Ok(line(&ReplicationEvent::Error {
                message: e.message,
            })))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
