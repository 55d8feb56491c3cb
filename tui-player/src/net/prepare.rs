//! Getting a track ready to play: the cached copy at once (checked meanwhile), or a download
//! that is far enough along.

use std::sync::Arc;
use std::time::Duration;

use cadenza_api::Client;

use super::dispatch::{not_logged_in, Downloads};
use super::download;
use super::types::{NetError, NetEvent};
use crate::audio::TrackInput;
use crate::cache::{Cache, Lookup};
use crate::track::Track;

/// Lowers the calling thread's CPU priority: checking a cached file's hash (CPU-bound, in
/// proportion to the file) must not delay the decoder and the output, which start at the same moment.
fn yield_to_playback() {
    // On Linux the nice value is per thread, and `who = 0` is the calling thread.
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; failure leaves the priority as is.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// How many bytes must be there before a stream starts playing (or all of a small file).
const START_BYTES: u64 = 48 * 1024;

pub(super) async fn prepare(
    client: Option<Client>,
    cache: Arc<Cache>,
    downloads: Downloads,
    track: &Track,
    preload: bool,
    emit: &(impl Fn(NetEvent) + Send + Sync + Clone + 'static),
) -> Result<(TrackInput, bool), NetError> {
    let lookup = {
        let cache = cache.clone();
        let hash = track.hash.clone();
        tokio::task::spawn_blocking(move || cache.quick_lookup(&hash))
            .await
            .map_err(|e| NetError::other(format!("cache check failed: {e}")))?
    };
    match lookup {
        Lookup::Present(path) | Lookup::Verified(path) => {
            // Play at once; the hash is checked meanwhile, and a damaged copy is fetched again.
            let (cache, hash, title, emit) = (
                cache.clone(),
                track.hash.clone(),
                track.title.clone(),
                emit.clone(),
            );
            let check = move || {
                yield_to_playback();
                if !matches!(cache.lookup(&hash), Lookup::Verified(_)) {
                    emit(NetEvent::CachedCopyDamaged { hash, title });
                }
            };
            // Its own thread, so the lowered priority stays with this one job.
            if let Err(e) = std::thread::Builder::new()
                .name("cadenza-verify".into())
                .spawn(check)
            {
                return Err(NetError::other(format!(
                    "cannot check the cached copy of “{}”: {e}",
                    track.title
                )));
            }
            return Ok((TrackInput::File(path), true));
        }
        Lookup::Corrupt => emit(NetEvent::Note(format!(
            "the cached copy of “{}” was damaged: fetching it again",
            track.title
        ))),
        Lookup::Missing => {}
    }
    let client = client.ok_or_else(not_logged_in)?;
    let download = download::start(client, cache, downloads, track.clone(), emit.clone())
        .map_err(|e| NetError::other(format!("cannot write to the cache: {e}")))?;
    let waiting = download.clone();
    // Gapless needs the whole file before the current track ends; a stream starts early.
    let ready = tokio::task::spawn_blocking(move || {
        let progressive = &waiting.progressive;
        if preload {
            progressive
                .wait_complete(Duration::from_secs(600))
                .map(TrackInput::File)
        } else {
            progressive
                .wait_for(0, START_BYTES, Duration::from_secs(30))
                .map(|()| TrackInput::Stream(progressive.clone()))
        }
    })
    .await
    .map_err(|e| NetError::other(e.to_string()))?;
    match ready {
        Ok(input) => Ok((input, preload)),
        Err(e) => Err(download.error().unwrap_or(NetError::other(e.to_string()))),
    }
}
