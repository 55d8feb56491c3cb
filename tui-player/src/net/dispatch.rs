//! The network thread's loop: each request handled in turn, its calls spawned so none waits
//! for another, writes tracked so a quit can wait for them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cadenza_api::{Client, ClientError, PageRequest, SearchType, UpdatePlaylist};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::download;
use super::fetch::fetch;
use super::login::login;
use super::plays::Plays;
use super::prepare::prepare;
use super::types::{NetError, NetErrorKind, NetEvent, NetRequest};
use crate::cache::Cache;

/// Where events go: the app's callback.
pub(super) type Sink = Arc<dyn Fn(NetEvent) + Send + Sync>;

pub(super) type Downloads = Arc<Mutex<HashMap<String, Arc<download::Download>>>>;

pub(super) struct Net {
    client: Option<Client>,
    /// The client of the moment, for the play reports' retry loop.
    clients: watch::Sender<Option<Client>>,
    cache: Arc<Cache>,
    events: Sink,
    downloads: Downloads,
    /// Writes the user would miss if they were dropped at quit.
    writes: JoinSet<()>,
    plays: Arc<Plays>,
}

impl Net {
    pub(super) fn new(
        client: Option<Client>,
        clients: watch::Sender<Option<Client>>,
        cache: Arc<Cache>,
        events: Sink,
        plays: Arc<Plays>,
    ) -> Net {
        Net {
            client,
            clients,
            cache,
            events,
            downloads: Downloads::default(),
            writes: JoinSet::new(),
            plays,
        }
    }
}

pub(super) fn not_logged_in() -> NetError {
    NetError {
        kind: NetErrorKind::Unauthorized,
        message: "not logged in".into(),
    }
}

impl Net {
    pub(super) async fn run(mut self, mut rx: mpsc::UnboundedReceiver<NetRequest>) {
        while let Some(request) = rx.recv().await {
            while self.writes.try_join_next().is_some() {}
            self.handle(request).await;
        }
    }

    fn emit(&self, event: NetEvent) {
        (self.events)(event);
    }

    async fn handle(&mut self, request: NetRequest) {
        let events = self.events.clone();
        let emit = move |e| events(e);
        match request {
            NetRequest::UseSession(session) => {
                self.client = Client::new(&session.server)
                    .ok()
                    .map(|c| c.with_token(session.token));
                self.clients.send_replace(self.client.clone());
                // Logged in again: plays kept meanwhile can go.
                if let Some(client) = self.client.clone() {
                    let plays = self.plays.clone();
                    self.writes
                        .spawn(async move { plays.send_waiting(&client, &emit).await });
                }
            }
            NetRequest::RecordPlay { song, played_ms } => {
                let Some(client) = self.client.clone() else {
                    self.emit(NetEvent::Failed {
                        what: "record the play".into(),
                        error: not_logged_in(),
                    });
                    return;
                };
                let plays = self.plays.clone();
                self.writes.spawn(async move {
                    plays.report(&client, song, played_ms, &emit).await;
                });
            }
            NetRequest::Connect => {
                let Some(client) = self.client.clone() else {
                    self.emit(NetEvent::Failed {
                        what: "connect".into(),
                        error: not_logged_in(),
                    });
                    return;
                };
                let plays = self.plays.clone();
                self.writes.spawn(async move {
                    match client.me().await {
                        Ok(user) => {
                            emit(NetEvent::Connected(user));
                            // The server answers: plays kept while it did not can go.
                            plays.send_waiting(&client, &emit).await;
                        }
                        Err(e) => emit(NetEvent::Failed {
                            what: "connect".into(),
                            error: e.into(),
                        }),
                    }
                });
            }
            NetRequest::Flush(timeout, done) => {
                let mut writes = std::mem::take(&mut self.writes);
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(timeout, async {
                        while writes.join_next().await.is_some() {}
                    })
                    .await;
                    let _ = done.send(());
                });
            }
            NetRequest::Login {
                server,
                username,
                password,
            } => {
                tokio::spawn(async move {
                    let event = match login(&server, &username, &password).await {
                        Ok((session, user)) => NetEvent::LoggedIn { session, user },
                        Err(message) => NetEvent::LoginFailed(message),
                    };
                    emit(event);
                });
            }
            NetRequest::Prepare {
                token,
                track,
                preload,
            } => {
                let client = self.client.clone();
                let cache = self.cache.clone();
                let downloads = self.downloads.clone();
                tokio::spawn(async move {
                    let result = prepare(client, cache, downloads, &track, preload, &emit).await;
                    emit(NetEvent::Prepared {
                        token,
                        preload,
                        result,
                    });
                });
            }
            request => {
                let Some(client) = self.client.clone() else {
                    self.emit(NetEvent::Failed {
                        what: "talk to the server".into(),
                        error: not_logged_in(),
                    });
                    return;
                };
                let is_write = matches!(
                    request,
                    NetRequest::SavePosition { .. }
                        | NetRequest::CreatePlaylist { .. }
                        | NetRequest::RenamePlaylist { .. }
                        | NetRequest::DeletePlaylist { .. }
                        | NetRequest::AddToPlaylist { .. }
                        | NetRequest::RemoveFromPlaylist { .. }
                        | NetRequest::MoveInPlaylist { .. }
                );
                let task = async move { call(&client, request, &emit).await };
                if is_write {
                    self.writes.spawn(task);
                } else {
                    tokio::spawn(task);
                }
            }
        }
    }
}

/// Handles the requests that are one API call each.
async fn call(client: &Client, request: NetRequest, emit: &(impl Fn(NetEvent) + Sync)) {
    match request {
        NetRequest::Load { listing, offset } => {
            let result = fetch(client, &listing, offset)
                .await
                .map_err(NetError::from);
            emit(NetEvent::Loaded {
                listing,
                offset,
                result,
            });
        }
        NetRequest::Search { seq, query } => {
            let page = PageRequest {
                limit: 20,
                offset: 0,
            };
            let result = client
                .search(&query, SearchType::All, page)
                .await
                .map_err(NetError::from);
            emit(NetEvent::SearchResults {
                seq,
                result: result.map(Box::new),
            });
        }
        NetRequest::QueueCollection {
            listing,
            title,
            next,
        } => {
            let result = fetch(client, &listing, 0).await.map_err(NetError::from);
            emit(NetEvent::CollectionTracks {
                title,
                next,
                result,
            });
        }
        NetRequest::MyPlaylists => {
            let result = async {
                let me = client.me().await?;
                let page = client
                    .playlists(PageRequest {
                        limit: 500,
                        offset: 0,
                    })
                    .await?;
                Ok(page
                    .items
                    .into_iter()
                    .filter(|p| p.owner_id == me.id)
                    .collect())
            }
            .await
            .map_err(|e: ClientError| NetError::from(e));
            emit(NetEvent::MyPlaylists(result));
        }
        NetRequest::CreatePlaylist { name } => {
            let result = client.create_playlist(&name, false).await;
            let id = result.as_ref().map_or(0, |p| p.id);
            emit(NetEvent::PlaylistEdited {
                id,
                result: result.map(|_| None).map_err(NetError::from),
                done: format!("created playlist “{name}”"),
            });
        }
        NetRequest::RenamePlaylist { id, name } => {
            let update = UpdatePlaylist {
                name: Some(name.clone()),
                public: None,
            };
            let result = async {
                client.update_playlist(id, &update).await?;
                client.playlist(id).await
            }
            .await;
            emit(NetEvent::PlaylistEdited {
                id,
                result: result.map(Some).map_err(NetError::from),
                done: format!("renamed the playlist to “{name}”"),
            });
        }
        NetRequest::DeletePlaylist { id } => {
            let result = client.delete_playlist(id).await;
            emit(NetEvent::PlaylistEdited {
                id,
                result: result.map(|_| None).map_err(NetError::from),
                done: "deleted the playlist".into(),
            });
        }
        NetRequest::AddToPlaylist { id, songs } => {
            let result = client.add_to_playlist(id, &songs, None).await;
            let done = match &result {
                Ok(detail) => format!("added to “{}”", detail.playlist.name),
                Err(_) => String::new(),
            };
            emit(NetEvent::PlaylistEdited {
                id,
                result: result.map(Some).map_err(NetError::from),
                done,
            });
        }
        NetRequest::RemoveFromPlaylist { id, position } => {
            let result = client.remove_from_playlist(id, position).await;
            emit(NetEvent::PlaylistEdited {
                id,
                result: result.map(Some).map_err(NetError::from),
                done: "removed from the playlist".into(),
            });
        }
        NetRequest::MoveInPlaylist { id, from, to } => {
            let result = client.move_in_playlist(id, from, to).await;
            emit(NetEvent::PlaylistEdited {
                id,
                result: result.map(Some).map_err(NetError::from),
                done: String::new(),
            });
        }
        NetRequest::SavePosition {
            episode,
            position_ms,
        } => {
            if let Err(e) = client.set_episode_position(episode, position_ms).await {
                emit(NetEvent::Failed {
                    what: "save the episode position".into(),
                    error: e.into(),
                });
            }
        }
        // Handled by `Net::handle` itself.
        NetRequest::Login { .. }
        | NetRequest::UseSession(_)
        | NetRequest::Connect
        | NetRequest::RecordPlay { .. }
        | NetRequest::Prepare { .. }
        | NetRequest::Flush(..) => {}
    }
}
