//! `ingest`: walk, inspect, hash, skip what the server has, upload the rest in parallel.
//!
//! The walk runs on its own thread and feeds a bounded channel; at most `--jobs` files
//! are inspected or uploaded at once, each streamed from disk in 64 KiB chunks, so
//! memory stays flat however large the library. Ctrl-C drops the in-flight uploads:
//! their connections close mid-body and the server discards what it staged.

mod inspect;
mod manifest;
mod progress;
mod report;
mod walk;

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use cadenza_api::{Client, ClientError, Song, TagOverrides};
use cadenza_media::{Probe, ResolvedTags, Tags};
use futures::{StreamExt, TryStreamExt};
use tokio::sync::mpsc;
use tokio_util::io::ReaderStream;

use crate::cli::IngestArgs;
use crate::connect;
use crate::errors::{is_connection_failure, ConnectError, Outcome};
use crate::say;
use crate::ui;
use inspect::Inspection;
use manifest::Manifest;
use progress::Progress;
use report::{FileReport, ReportTags, ReportWriter, Status, Summary};
use walk::Walked;

/// Upload chunk size: big enough for throughput, small enough to keep memory flat.
const CHUNK_BYTES: usize = 64 * 1024;

pub async fn run(server: Option<&str>, args: &IngestArgs, json: bool) -> Result<Outcome> {
    let mut manifest = match &args.manifest {
        Some(path) => Manifest::load(path)?,
        None => Manifest::default(),
    };
    let client = if args.dry_run {
        dry_run_client(server).await?
    } else {
        Some(connect::admin(server).await?)
    };
    let mut report = args
        .report
        .as_deref()
        .map(ReportWriter::create)
        .transpose()?;
    let progress = Progress::new();
    let job = Arc::new(Job {
        client,
        dry_run: args.dry_run,
        progress: progress.clone(),
    });

    let started = Instant::now();
    let (found_tx, mut found_rx) = mpsc::channel::<Walked>(256);
    let roots = args.paths.clone();
    let walk_progress = progress.clone();
    let walker = tokio::task::spawn_blocking(move || {
        walk::walk(&roots, |walked| {
            if let Walked::File { size, .. } = &walked {
                walk_progress.found(*size);
            }
            // The receiver is gone when the run was interrupted: stop walking.
            match found_tx.blocking_send(walked) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            }
        })
    });

    let mut summary = Summary {
        dry_run: args.dry_run,
        ..Summary::default()
    };
    let mut fatal = None;
    {
        let results = futures::stream::poll_fn(move |cx| found_rx.poll_recv(cx))
            .map(|walked| {
                let overrides = match &walked {
                    Walked::File { path, .. } => manifest.take(path).unwrap_or_default(),
                    Walked::Unreadable { .. } => Tags::default(),
                };
                let job = job.clone();
                async move { job.file(walked, overrides).await }
            })
            .buffer_unordered(usize::from(args.jobs));
        let mut results = std::pin::pin!(results);
        let mut interrupted = std::pin::pin!(ui::interrupted());
        loop {
            let done = tokio::select! {
                biased;
                () = &mut interrupted => {
                    summary.interrupted = true;
                    break;
                }
                done = results.next() => done,
            };
            match done {
                None => break,
                Some(Done::File(line)) => {
                    summary.record(&line);
                    if let Some(report) = &mut report {
                        report.write(&line)?;
                    }
                }
                Some(Done::Fatal(err)) => {
                    fatal = Some(err);
                    break;
                }
            }
        }
        // Leaving this block drops the stream: the uploads still in flight are
        // abandoned and the walk stops.
    }
    progress.clear();
    let finished = !summary.interrupted && fatal.is_none();
    if finished {
        walker.await.ok();
        summary.manifest_unmatched = manifest.unused();
    }

    summary.finish(started.elapsed());
    summary.report = report.as_ref().map(|r| r.path().display().to_string());
    if json {
        ui::print_json(&summary)?;
    } else {
        say!("{}", summary.render().trim_end());
    }
    if let Some(err) = fatal {
        let hint = "files already uploaded are skipped when the same command runs again";
        return Err(anyhow::Error::new(err).context(format!("the ingest stopped; {hint}")));
    }
    Ok(if summary.interrupted {
        Outcome::Interrupted
    } else {
        Outcome::from_failures(summary.failed as usize)
    })
}

/// A dry run checks duplicates on the server when one is configured, and works offline otherwise.
async fn dry_run_client(server: Option<&str>) -> Result<Option<Client>> {
    match connect::admin(server).await {
        Ok(client) => Ok(Some(client)),
        Err(err)
            if matches!(
                err.downcast_ref::<ConnectError>(),
                Some(ConnectError::NoServer | ConnectError::NotLoggedIn { .. })
            ) =>
        {
            eprintln!(
                "note: no server to ask, so the dry run cannot tell which files it already has"
            );
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// What one file's task ends with.
enum Done {
    File(Box<FileReport>),
    /// The server is gone or no longer accepts the token: stop the whole run.
    Fatal(ClientError),
}

/// What every file's task shares.
struct Job {
    client: Option<Client>,
    dry_run: bool,
    progress: Progress,
}

impl Job {
    async fn file(&self, walked: Walked, overrides: Tags) -> Done {
        let (path, size, explicit) = match walked {
            Walked::File {
                path,
                size,
                explicit,
            } => (path, size, explicit),
            Walked::Unreadable { path, reason } => {
                let line = FileReport::failed(&path, 0, reason);
                self.progress.finished(&line, 0);
                return Done::File(Box::new(line));
            }
        };
        let (done, counted) = self.ingest(&path, size, explicit, overrides).await;
        if let Done::File(line) = &done {
            self.progress.finished(line, counted);
        }
        done
    }

    /// Ingests one file; also returns how many of its bytes already moved the overall bar.
    async fn ingest(&self, path: &Path, size: u64, explicit: bool, overrides: Tags) -> (Done, u64) {
        let owned = path.to_path_buf();
        let inspection =
            match tokio::task::spawn_blocking(move || inspect::inspect(&owned, explicit)).await {
                Ok(inspection) => inspection,
                Err(e) => Inspection::Failed {
                    reason: format!("reading it crashed: {e}"),
                },
            };
        let (probe, hash) = match inspection {
            Inspection::Ignored { reason } => {
                let line = FileReport {
                    reason: Some(reason),
                    ..FileReport::new(path, Status::Ignored, size)
                };
                return (Done::File(Box::new(line)), 0);
            }
            Inspection::Failed { reason } => {
                return (
                    Done::File(Box::new(FileReport::failed(path, size, reason))),
                    0,
                )
            }
            Inspection::Audio { probe, hash } => (probe, hash),
        };
        let filename = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        // What the server will catalog the file under: it resolves the same way.
        let resolved = cadenza_media::resolve_tags(&probe.tags, &overrides, filename.as_deref());
        let mut line = FileReport {
            hash: Some(hash.clone()),
            tags: Some(local_tags(&resolved, &probe)),
            missing_tags: resolved.missing.iter().map(|t| t.to_string()).collect(),
            ..FileReport::new(path, Status::WouldIngest, size)
        };

        let Some(client) = &self.client else {
            return (Done::File(Box::new(line)), 0);
        };
        match client.blob_status(&hash).await {
            Ok(status) if status.song_id.is_some() => {
                line.status = Status::Skipped;
                line.song_id = status.song_id;
                line.reason = Some("already on the server".into());
                return (Done::File(Box::new(line)), 0);
            }
            Ok(status) => {
                if let Some(limit) = status.max_upload_bytes.filter(|&limit| size > limit) {
                    line.status = Status::Failed;
                    line.reason = Some(too_large(size, limit));
                    return (Done::File(Box::new(line)), 0);
                }
            }
            Err(err) => return (self.request_failed(client, line, "check", err).await, 0),
        }
        if self.dry_run {
            return (Done::File(Box::new(line)), 0);
        }

        let upload = self.progress.upload(&line.path, size);
        let body = match tokio::fs::File::open(path).await {
            Ok(file) => {
                let count = upload.counter();
                let stream = ReaderStream::with_capacity(file, CHUNK_BYTES)
                    .inspect_ok(move |chunk| count(chunk.len() as u64));
                reqwest::Body::wrap_stream(stream)
            }
            Err(e) => {
                let reason = format!("cannot read it: {}", walk::io_reason(&e));
                return (
                    Done::File(Box::new(FileReport {
                        status: Status::Failed,
                        reason: Some(reason),
                        ..line
                    })),
                    0,
                );
            }
        };
        let overrides = upload_overrides(overrides, filename);
        let result = client.upload_song(body, Some(size), &overrides).await;
        let sent = upload.sent();
        drop(upload);
        match result {
            Ok(uploaded) => {
                if uploaded.created {
                    line.status = Status::Ingested;
                } else {
                    line.status = Status::Skipped;
                    line.reason = Some("already on the server".into());
                }
                line.song_id = Some(uploaded.song.id);
                line.hash = Some(uploaded.song.hash.clone());
                line.tags = Some(catalog_tags(&uploaded.song));
                line.missing_tags = uploaded.missing_tags;
                (Done::File(Box::new(line)), sent)
            }
            Err(err) => (self.request_failed(client, line, "upload", err).await, sent),
        }
    }

    /// A request about one file failed: a failure of that file, or of the whole run when
    /// the server is gone or refuses the token.
    async fn request_failed(
        &self,
        client: &Client,
        mut line: FileReport,
        action: &str,
        err: ClientError,
    ) -> Done {
        if is_connection_failure(&err) {
            // A dropped connection may be this upload's alone (the server refusing it
            // early); only a server that no longer answers ends the run.
            if !err.is_unreachable() || client.health().await.is_err() {
                return Done::Fatal(err);
            }
        }
        line.status = Status::Failed;
        line.song_id = None;
        line.reason = Some(match err {
            ClientError::Api { message, .. } => message,
            other => format!("{action} failed: {other}"),
        });
        Done::File(Box::new(line))
    }
}

/// The manifest's tags and the file's name, as the upload's query.
fn upload_overrides(tags: Tags, filename: Option<String>) -> TagOverrides {
    TagOverrides {
        title: tags.title,
        artist: tags.artist,
        album: tags.album,
        genre: tags.genre,
        track: tags.track,
        disc: tags.disc,
        year: tags.year,
        filename,
    }
}

fn local_tags(resolved: &ResolvedTags, probe: &Probe) -> ReportTags {
    ReportTags {
        title: resolved.title.clone(),
        artist: resolved.artist.clone(),
        album: resolved.album.clone(),
        genre: resolved.genre.clone(),
        track: resolved.track,
        disc: resolved.disc,
        year: resolved.year,
        codec: probe.codec.name().to_string(),
        duration_ms: probe.duration_ms,
    }
}

fn catalog_tags(song: &Song) -> ReportTags {
    ReportTags {
        title: song.title.clone(),
        artist: song.artist.clone(),
        album: song.album.clone(),
        genre: song.genre.clone(),
        track: song.track,
        disc: song.disc,
        year: song.year,
        codec: song.codec.clone(),
        duration_ms: song.duration_ms,
    }
}

/// Why a file over the server's upload limit is not sent.
fn too_large(size: u64, limit: u64) -> String {
    format!(
        "it is {}, larger than this server accepts ({}): \
         raise the limit (cadenza-server --max-upload) or ingest a smaller encoding",
        crate::ui::bytes(size),
        crate::ui::bytes(limit)
    )
}

#[cfg(test)]
mod tests {
    use super::too_large;

    #[test]
    fn too_large_names_both_sizes_and_the_setting() {
        let reason = too_large(40 * 1024 * 1024, 32 * 1024 * 1024);
        assert!(reason.contains("40.00 MiB"), "{reason}");
        assert!(reason.contains("32.00 MiB"), "{reason}");
        assert!(reason.contains("--max-upload"), "{reason}");
    }
}
