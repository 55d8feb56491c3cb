//! The warp routes, one file per area. Handlers parse the request, call the services in
//! [`App`], and map errors; nothing here knows SQL or volumes.
//!
//! Every route is `path + method` filters (so warp itself answers 404 and 405), then a
//! [`Ctx`] with the request's headers and query, then an async handler returning
//! `ApiResult<Response>`. A route's path is written once, in [`route::api_route!`], which
//! gives both the filter and the template; [`respond`] turns errors into JSON and tags the
//! response with that template, which the outer wrapper in [`routes`] uses for metrics.

pub mod admin;
pub mod auth;
pub mod browse;
pub mod cdn;
pub mod credentials;
pub mod errors;
pub mod feeds;
pub mod ops;
pub mod playlists;
pub mod podcasts;
pub mod range;
pub mod route;
pub mod search;
pub mod share;
pub mod stream;
pub mod ws;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use cadenza_api::{PageRequest, User};
use cadenza_catalog::BlobRef;
use futures::{Stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use warp::filters::BoxedFilter;
use warp::http::header::{AUTHORIZATION, CONTENT_LENGTH};
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::App;
use crate::auth::{bearer_token, require_admin, AuthError};
use crate::blob_cache::BlobKey;
use crate::metrics::{method_label, UNMATCHED};
use crate::token_cache::TokenKey;
use crate::ttl_cache::Generation;
pub use errors::{ApiError, ApiResult};

/// The response header naming the server copy that answered (see `--instance`).
pub const SERVER_HEADER: &str = "x-cadenza-server";

/// Largest JSON request body accepted (uploads stream separately).
pub const MAX_JSON_BODY: u64 = 1 << 20;
/// Largest page a listing returns; larger `limit`s are capped (the page says so).
pub const MAX_PAGE: u32 = 500;

/// The route template a response came from, for metrics (made by [`route::route!`] from the
/// route's path, set on the response by [`respond`]).
#[derive(Debug, Clone, Copy)]
pub struct RouteLabel(pub &'static str);

/// A request body as a stream of chunks, not yet read.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, warp::Error>> + Send>>;

/// What every handler gets besides its path parameters.
#[derive(Clone)]
pub struct Ctx {
    pub app: Arc<App>,
    pub method: Method,
    pub headers: HeaderMap,
    pub query: String,
    pub remote: Option<SocketAddr>,
}

impl Ctx {
    pub fn header(&self, name: impl warp::http::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The query string parsed into `T`; a bad one is a 400 naming the problem.
    pub fn query<T: DeserializeOwned>(&self) -> ApiResult<T> {
        serde_urlencoded::from_str(&self.query)
            .map_err(|e| ApiError::bad_request(format!("bad query string: {e}")))
    }

    /// `limit`/`offset` from the query, defaulted and capped.
    pub fn page(&self) -> ApiResult<PageRequest> {
        #[derive(Deserialize)]
        struct PageQuery {
            limit: Option<u32>,
            offset: Option<u32>,
        }
        let q: PageQuery = self.query()?;
        let default = PageRequest::default();
        Ok(PageRequest {
            limit: q.limit.unwrap_or(default.limit).min(MAX_PAGE),
            offset: q.offset.unwrap_or(0),
        })
    }

    /// The request's declared body size, if it sent one.
    pub fn content_length(&self) -> Option<u64> {
        self.header(CONTENT_LENGTH)?.trim().parse().ok()
    }

    /// Runs a catalog call on the blocking pool (rusqlite is synchronous).
    pub async fn db<T, E, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&dyn cadenza_catalog::Catalog) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let catalog = Arc::clone(&self.app.catalog);
        tokio::task::spawn_blocking(move || f(catalog.as_ref()))
            .await?
            .map_err(Into::into)
    }

    /// The bearer token from `Authorization`, or (when `allow_query`) from `?token=` for
    /// clients that cannot set headers (browser WebSockets and `<audio src>`). Only
    /// streaming routes allow the query: a token in a URL can leak through logs and history.
    fn token(&self, allow_query: bool) -> Result<String, AuthError> {
        if let Some(header) = self.header(AUTHORIZATION) {
            return bearer_token(header)
                .map(str::to_string)
                .ok_or(AuthError::MissingToken);
        }
        #[derive(Deserialize)]
        struct TokenQuery {
            token: Option<String>,
        }
        allow_query
            .then(|| self.query::<TokenQuery>().ok()?.token)
            .flatten()
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::MissingToken)
    }

    /// The logged-in user (`Authorization: Bearer`), or 401.
    pub async fn user(&self) -> ApiResult<User> {
        let token = TokenKey::of(&self.token(false)?);
        if let Some(user) = self.app.tokens.get(&token) {
            return Ok(User::clone(&user));
        }
        let seen = self.app.tokens.generation();
        let (now, ahead) = (unix_now(), self.token_cache_secs());
        let checked = self
            .db(move |c| crate::auth::authenticate_ahead(c, &token.hex(), now, ahead))
            .await?;
        Ok(User::clone(&self.remember_token(token, checked, seen)))
    }

    /// Checks the caller's token (header or `?token=`) and finds what `key` streams. Both
    /// answers come from memory when they can (the hot path: a player makes one request per
    /// range); whatever is missing comes from the catalog in one trip to the blocking pool.
    pub async fn streaming_blob(&self, key: BlobKey) -> ApiResult<Arc<BlobRef>> {
        let token = TokenKey::of(&self.token(true)?);
        let known_user = self.app.tokens.get(&token).is_some();
        let known_blob = self.app.blobs.get(&key);
        if let (true, Some(blob)) = (known_user, &known_blob) {
            return Ok(Arc::clone(blob));
        }
        let (token_seen, blob_seen) = (self.app.tokens.generation(), self.app.blobs.generation());
        let (now, ahead) = (unix_now(), self.token_cache_secs());
        let (checked, blob, fresh) = self
            .db(move |c| {
                let checked = match known_user {
                    true => None,
                    false => Some(crate::auth::authenticate_ahead(
                        c,
                        &token.hex(),
                        now,
                        ahead,
                    )?),
                };
                let (blob, fresh) = match known_blob {
                    Some(blob) => (blob, false),
                    None => (Arc::new(key.lookup(c).map_err(ApiError::from)?), true),
                };
                Ok::<_, ApiError>((checked, blob, fresh))
            })
            .await?;
        if let Some(checked) = checked {
            self.remember_token(token, checked, token_seen);
        }
        if fresh {
            self.app.blobs.insert(key, Arc::clone(&blob), blob_seen);
        }
        Ok(blob)
    }

    /// What `key` streams, from memory or the catalog, with no token check (share links
    /// carry their own signature).
    pub async fn blob(&self, key: BlobKey) -> ApiResult<Arc<BlobRef>> {
        if let Some(blob) = self.app.blobs.get(&key) {
            return Ok(blob);
        }
        let seen = self.app.blobs.generation();
        let blob = Arc::new(self.db(move |c| key.lookup(c)).await?);
        self.app.blobs.insert(key, Arc::clone(&blob), seen);
        Ok(blob)
    }

    /// Checks the caller's token (header or `?token=`) and runs `f` in the same trip to the
    /// blocking pool (streaming routes whose answer is not cached, e.g. covers).
    pub async fn db_as_streaming_user<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&dyn cadenza_catalog::Catalog) -> Result<T, cadenza_catalog::CatalogError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        let token = TokenKey::of(&self.token(true)?);
        if self.app.tokens.get(&token).is_some() {
            return self.db(f).await;
        }
        let seen = self.app.tokens.generation();
        let (now, ahead) = (unix_now(), self.token_cache_secs());
        let (checked, value) = self
            .db(move |c| {
                let checked = crate::auth::authenticate_ahead(c, &token.hex(), now, ahead)?;
                Ok::<_, ApiError>((checked, f(c)?))
            })
            .await?;
        self.remember_token(token, checked, seen);
        Ok(value)
    }

    /// How far ahead a token must stay valid to be cached: the cache's TTL, rounded up
    /// (the catalog counts whole seconds).
    fn token_cache_secs(&self) -> i64 {
        let ttl = self.app.tokens.ttl();
        i64::try_from(ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)).unwrap_or(i64::MAX)
    }

    /// Caches a checked token if it outlives the cache's TTL; returns its user.
    fn remember_token(
        &self,
        token: TokenKey,
        (user, cacheable): (User, bool),
        seen: Generation,
    ) -> Arc<User> {
        let user = Arc::new(user);
        if cacheable {
            self.app.tokens.insert(token, Arc::clone(&user), seen);
        }
        user
    }

    /// The logged-in user if they are an admin; 401 or 403 otherwise.
    pub async fn admin(&self) -> ApiResult<User> {
        let user = self.user().await?;
        require_admin(&user)?;
        Ok(user)
    }
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Extracts the [`Ctx`]; never rejects.
pub fn ctx(app: &Arc<App>) -> impl Filter<Extract = (Ctx,), Error = Infallible> + Clone {
    let app = Arc::clone(app);
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::any()
        .map(move || Arc::clone(&app))
        .and(warp::method())
        .and(warp::header::headers_cloned())
        .and(query)
        .and(warp::addr::remote())
        .map(|app, method, headers, query, remote| Ctx {
            app,
            method,
            headers,
            query,
            remote,
        })
}

/// The request body as a stream (read by the handler, after it has checked the caller).
pub fn body() -> impl Filter<Extract = (BodyStream,), Error = Rejection> + Clone {
    warp::body::stream().map(boxed_body)
}

fn boxed_body<S, B>(stream: S) -> BodyStream
where
    S: Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf,
{
    Box::pin(stream.map_ok(|mut buf| buf.copy_to_bytes(buf.remaining())))
}

/// Reads a whole (small) body: at most [`MAX_JSON_BODY`] bytes.
async fn read_small_body(mut body: BodyStream) -> ApiResult<BytesMut> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("the request body broke off: {e}")))?;
        if (buf.len() + chunk.len()) as u64 > MAX_JSON_BODY {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("JSON bodies are limited to {MAX_JSON_BODY} bytes"),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the JSON body is not valid: {e}")))
}

/// A JSON body the route requires.
pub async fn read_json<T: DeserializeOwned>(body: BodyStream) -> ApiResult<T> {
    let bytes = read_small_body(body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "this route needs a JSON body; send one with Content-Type: application/json",
        ));
    }
    parse_json(&bytes)
}

/// A JSON body that may be left out (then `T::default()`).
pub async fn read_json_or_default<T: DeserializeOwned + Default>(body: BodyStream) -> ApiResult<T> {
    let bytes = read_small_body(body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_json(&bytes)
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

pub fn ok_json<T: Serialize>(value: &T) -> ApiResult<Response> {
    Ok(json(StatusCode::OK, value))
}

pub fn no_content() -> ApiResult<Response> {
    Ok(warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response())
}

/// Awaits a handler, turns its error into a JSON response, and tags the route template.
pub async fn respond(
    route: RouteLabel,
    handler: impl Future<Output = ApiResult<Response>>,
) -> Response {
    let mut response = match handler.await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    response.extensions_mut().insert(route);
    response
}

/// Every route, with JSON errors, per-route metrics and one access-log line per request.
pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    // Streaming first: range requests are most of the traffic, and warp tries routes in order.
    // Each route matches its whole path (see `route`), `/api/v1` included.
    let all = stream::routes(app)
        .or(cdn::routes(app))
        .unify()
        .or(auth::routes(app))
        .unify()
        .or(browse::routes(app))
        .unify()
        .or(search::routes(app))
        .unify()
        .or(ws::routes(app))
        .unify()
        .or(share::routes(app))
        .unify()
        .or(playlists::routes(app))
        .unify()
        .or(podcasts::routes(app))
        .unify()
        .or(admin::routes(app))
        .unify()
        .or(credentials::routes(app))
        .unify()
        .or(feeds::routes(app))
        .unify()
        .or(ops::routes(app))
        .unify()
        .or(crate::subsonic::routes(app))
        .unify()
        .recover(errors::handle_rejection)
        .unify();
    let metrics = Arc::clone(&app.metrics);
    let app = Arc::clone(app);
    warp::any()
        .map(Instant::now)
        .and(warp::method())
        .and(warp::path::full())
        .and(all)
        .map(
            move |started: Instant,
                  method: Method,
                  path: warp::path::FullPath,
                  mut response: Response| {
                let route = response
                    .extensions()
                    .get::<RouteLabel>()
                    .map_or(UNMATCHED, |r| r.0);
                let status = response.status().as_u16();
                let took = started.elapsed();
                metrics.record_request(method_label(&method), route, status, took);
                // The path only: query strings may carry tokens and share signatures.
                tracing::info!(
                    target: "cadenza_server::access",
                    "{method} {} {status} {}ms",
                    path.as_str(),
                    took.as_millis()
                );
                // Which copy answered, for people and tests looking through a load balancer.
                let name = Some(app.instance()).filter(|n| !n.is_empty());
                if let Some(Ok(name)) = name.map(warp::http::HeaderValue::from_str) {
                    response.headers_mut().insert(SERVER_HEADER, name);
                }
                response
            },
        )
        .boxed()
}
