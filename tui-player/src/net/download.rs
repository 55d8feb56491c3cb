//! Progressive download of one track into the cache: HTTP range requests written into
//! `<hash>.part` as they arrive, jumping to wherever a reader waits (a seek ahead), then the
//! whole file is verified against its hash and moved into the cache.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use cadenza_api::{AudioStream, ByteRange, Client};

use super::{Downloads, NetError, NetEvent};
use crate::cache::progressive::Progressive;
use crate::cache::{hash_file, Cache};
use crate::track::{Track, TrackId};

/// A download in progress, shared by everyone who wants the track.
pub struct Download {
    pub progressive: Arc<Progressive>,
    error: Mutex<Option<NetError>>,
}

impl Download {
    /// Why it failed, if it did.
    pub fn error(&self) -> Option<NetError> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn fail(&self, error: NetError) {
        self.progressive.fail(error.message.clone());
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
    }
}

/// A reader waiting this far past the download position restarts the request there.
const JUMP_WINDOW: u64 = 256 * 1024;
/// Retries of a range after the connection broke.
const RETRIES: u32 = 3;

/// Starts downloading `track` (or joins the download already running).
pub fn start(
    client: Client,
    cache: Arc<Cache>,
    downloads: Downloads,
    track: Track,
    emit: impl Fn(NetEvent) + Send + Sync + 'static,
) -> std::io::Result<Arc<Download>> {
    let mut active = downloads.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(existing) = active.get(&track.hash) {
        if existing.error().is_none() {
            return Ok(existing.clone());
        }
    }
    let progressive = Progressive::create(&cache.part_path_of(&track.hash), track.size)?;
    let download = Arc::new(Download {
        progressive,
        error: Mutex::new(None),
    });
    active.insert(track.hash.clone(), download.clone());
    drop(active);
    let task = download.clone();
    tokio::spawn(async move {
        if let Err(error) = run(&client, &cache, &track, &task, &emit).await {
            task.fail(error);
            let _ = std::fs::remove_file(task.progressive.part_path());
        }
        downloads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&track.hash);
    });
    Ok(download)
}

async fn open_range(
    client: &Client,
    track: &Track,
    range: ByteRange,
) -> Result<AudioStream, NetError> {
    let result = match track.id {
        TrackId::Song(id) => client.stream_song(id, Some(range)).await,
        TrackId::Episode(id) => client.stream_episode(id, Some(range)).await,
    };
    result.map_err(|e| {
        let mut error = NetError::from(e);
        if error.kind == super::NetErrorKind::NotFound {
            error.message = format!("“{}” is no longer on the server", track.title);
        }
        error
    })
}

async fn run(
    client: &Client,
    cache: &Cache,
    track: &Track,
    download: &Download,
    emit: &(impl Fn(NetEvent) + Send + Sync),
) -> Result<(), NetError> {
    let progressive = &download.progressive;
    let total = progressive.total();
    let local = |e: std::io::Error| NetError::other(format!("cannot write to the cache: {e}"));
    let mut file = OpenOptions::new()
        .write(true)
        .open(progressive.part_path())
        .map_err(local)?;
    let mut cursor = 0;
    let mut failures = 0;
    let mut reported = 0;
    while let Some((start, end)) = progressive.next_range(cursor) {
        if progressive.is_cancelled() {
            return Err(NetError::other("download cancelled"));
        }
        let range = ByteRange {
            start,
            end: Some(end - 1),
        };
        let mut stream = open_range(client, track, range).await?;
        let mut pos = stream.offset;
        let broke = loop {
            match stream.chunk().await {
                Ok(Some(chunk)) => {
                    let len = (chunk.len() as u64).min(total.saturating_sub(pos));
                    file.seek(SeekFrom::Start(pos)).map_err(local)?;
                    file.write_all(&chunk[..len as usize]).map_err(local)?;
                    progressive.mark(pos, len);
                    pos += len;
                    let downloaded = progressive.downloaded();
                    // A note every 5% is plenty for the status bar.
                    if downloaded * 20 / total.max(1) != reported * 20 / total.max(1) {
                        reported = downloaded;
                        emit(NetEvent::Download {
                            hash: track.hash.clone(),
                            downloaded,
                            total,
                        });
                    }
                    if pos >= end || progressive.wants_elsewhere(pos, JUMP_WINDOW) {
                        break false;
                    }
                }
                Ok(None) => break false,
                Err(_) => break true,
            }
        };
        if broke || pos == start {
            failures += 1;
            if failures > RETRIES {
                return Err(NetError::other(format!(
                    "the download of “{}” kept breaking off",
                    track.title
                )));
            }
        } else {
            failures = 0;
        }
        cursor = pos;
    }
    drop(file);
    let part = progressive.part_path().to_owned();
    let check = part.clone();
    let actual = tokio::task::spawn_blocking(move || hash_file(&check))
        .await
        .map_err(|e| NetError::other(e.to_string()))?
        .map_err(local)?;
    if actual != track.hash {
        return Err(NetError::other(format!(
            "the download of “{}” does not match its checksum; try again",
            track.title
        )));
    }
    let path = cache.insert(track, &part, &[]).map_err(local)?;
    progressive.finish(path);
    emit(NetEvent::Download {
        hash: track.hash.clone(),
        downloaded: total,
        total,
    });
    Ok(())
}
