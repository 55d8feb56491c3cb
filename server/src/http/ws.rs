//! `GET /songs/{id}/ws`: a song's audio over a WebSocket, for clients that prefer one
//! long-lived connection to many range requests.
//!
//! Auth: `Authorization: Bearer` or `?token=` (browsers cannot set WebSocket headers).
//! `?offset=N` starts at byte N (default 0).
//!
//! Server → client:
//! - text `{"type":"start","offset":N,"size":S,"content_type":"audio/mpeg","etag":"\"…\""}`
//!   whenever bytes from offset N follow (at the start and after every seek);
//! - binary messages of at most [`CHUNK`] bytes, in order;
//! - text `{"type":"end","offset":S}` when the file has been sent (the socket stays open
//!   for further seeks);
//! - text `{"type":"error","message":"…"}` for a message it cannot follow (the stream goes on),
//!   or before closing when reading fails.
//!
//! Client → server: text `{"seek": N}` restarts from byte N.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use cadenza_api::SongId;
use cadenza_catalog::BlobRef;
use cadenza_store::BlobBody;
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use warp::filters::ws::{Message, WebSocket, Ws};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

use super::range::etag_for;
use super::route::api_route;
use super::{ctx, respond, ApiError, ApiResult, Ctx};
use crate::app::App;
use crate::blob_cache::BlobKey;
use crate::metrics::StreamGuard;

/// Largest binary message.
pub const CHUNK: usize = 64 * 1024;

pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    api_route!("songs" / {id: SongId} / "ws")
        .and(warp::get())
        .and(warp::ws())
        .and(ctx(app))
        .then(|route, id, ws, cx| respond(route, open(cx, id, ws)))
        .boxed()
}

#[derive(Deserialize)]
struct WsQuery {
    offset: Option<u64>,
}

async fn open(cx: Ctx, id: SongId, ws: Ws) -> ApiResult<Response> {
    let q: WsQuery = cx.query()?;
    let blob = cx.streaming_blob(BlobKey::Song(id)).await?;
    let offset = q.offset.unwrap_or(0);
    if offset >= blob.size {
        return Err(ApiError::unsatisfiable(blob.size));
    }
    let app = Arc::clone(&cx.app);
    let ticket = app.sessions.enter().ok_or_else(|| {
        ApiError::unavailable("the server is shutting down; connect again shortly")
    })?;
    Ok(ws
        .on_upgrade(move |socket| async move {
            let guard = app.metrics.websocket_started();
            if let Err(e) = Session::new(app, blob, socket, guard).run(offset).await {
                tracing::debug!("WebSocket stream ended: {e}");
            }
            drop(ticket);
        })
        .into_response())
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Event<'a> {
    Start {
        offset: u64,
        size: u64,
        content_type: &'a str,
        etag: &'a str,
    },
    End {
        offset: u64,
    },
    Error {
        message: String,
    },
}

#[derive(Deserialize)]
struct Command {
    seek: u64,
}

struct Session {
    app: Arc<App>,
    blob: Arc<BlobRef>,
    etag: String,
    socket: WebSocket,
    guard: StreamGuard,
}

impl Session {
    fn new(app: Arc<App>, blob: Arc<BlobRef>, socket: WebSocket, guard: StreamGuard) -> Self {
        let etag = etag_for(&blob.hash);
        Self {
            app,
            blob,
            etag,
            socket,
            guard,
        }
    }

    async fn run(mut self, offset: u64) -> Result<(), warp::Error> {
        let Some(first) = self.start(offset).await? else {
            return Ok(());
        };
        let mut body = Some(first);
        let mut pending = BytesMut::new();
        let shutdown = self.app.shutdown.clone();
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => {
                    let _ = self.socket.send(Message::close_with(1001u16, "server shutting down")).await;
                    return Ok(());
                }
                message = self.socket.next() => {
                    let Some(message) = message else { return Ok(()) };
                    let message = message?;
                    if message.is_close() {
                        return Ok(());
                    }
                    let Ok(text) = message.to_str() else { continue }; // pings, pongs, binary
                    match serde_json::from_str::<Command>(text) {
                        Ok(Command { seek }) if seek < self.blob.size => {
                            pending.clear();
                            match self.start(seek).await? {
                                Some(next) => body = Some(next),
                                None => return Ok(()),
                            }
                        }
                        Ok(Command { seek }) => {
                            self.event(&Event::Error {
                                message: format!("cannot seek to byte {seek}: the file has {} bytes", self.blob.size),
                            }).await?;
                        }
                        Err(_) => {
                            self.event(&Event::Error {
                                message: "unknown message; send {\"seek\": <byte offset>}".into(),
                            }).await?;
                        }
                    }
                }
                chunk = next_chunk(&mut body), if body.is_some() => match chunk {
                    Some(Ok(bytes)) => {
                        pending.extend_from_slice(&bytes);
                        while pending.len() >= CHUNK {
                            let out = pending.split_to(CHUNK).freeze();
                            self.send_audio(out).await?;
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!("WebSocket stream of {} failed: {e}", self.blob.used_by);
                        self.event(&Event::Error { message: format!("reading the audio failed: {e}") }).await?;
                        let _ = self.socket.send(Message::close_with(1011u16, "read failed")).await;
                        return Ok(());
                    }
                    None => {
                        body = None;
                        if !pending.is_empty() {
                            let out = pending.split().freeze();
                            self.send_audio(out).await?;
                        }
                        self.event(&Event::End { offset: self.blob.size }).await?;
                    }
                },
            }
        }
    }

    /// Opens a read from `offset` and announces it; `None` (after telling the client and
    /// closing) when the blob cannot be read.
    async fn start(&mut self, offset: u64) -> Result<Option<BlobBody>, warp::Error> {
        let body = self
            .app
            .store
            .read(
                &self.blob.hash,
                self.blob.size,
                Some(offset..self.blob.size),
            )
            .await;
        match body {
            Ok(body) => {
                let event = Event::Start {
                    offset,
                    size: self.blob.size,
                    content_type: &self.blob.content_type,
                    etag: &self.etag,
                };
                let text = serde_json::to_string(&event).unwrap_or_default();
                self.socket.send(Message::text(text)).await?;
                Ok(Some(body))
            }
            Err(e) => {
                tracing::error!("cannot read {} for a WebSocket: {e}", self.blob.used_by);
                let message = format!("the audio cannot be read right now: {e}");
                let _ = self.event(&Event::Error { message }).await;
                let _ = self
                    .socket
                    .send(Message::close_with(1011u16, "read failed"))
                    .await;
                Ok(None)
            }
        }
    }

    async fn send_audio(&mut self, bytes: Bytes) -> Result<(), warp::Error> {
        let len = bytes.len() as u64;
        self.socket.send(Message::binary(bytes)).await?;
        self.guard.sent(len);
        Ok(())
    }

    async fn event(&mut self, event: &Event<'_>) -> Result<(), warp::Error> {
        let text = serde_json::to_string(event).unwrap_or_default();
        self.socket.send(Message::text(text)).await
    }
}

async fn next_chunk(
    body: &mut Option<BlobBody>,
) -> Option<Result<Bytes, cadenza_store::StoreError>> {
    match body {
        Some(body) => body.next().await,
        None => std::future::pending().await,
    }
}
