//! The ingest display: one overall bar (files and bytes, rate, ETA) and a line per upload.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::report::{FileReport, Status};
use crate::ui;

/// Shared by the walk, every upload and the result loop; cheap to clone.
#[derive(Clone)]
pub struct Progress {
    multi: MultiProgress,
    overall: ProgressBar,
    counts: Arc<Counts>,
    visible: bool,
}

#[derive(Default)]
struct Counts {
    found: AtomicU64,
    done: AtomicU64,
    failed: AtomicU64,
}

impl Progress {
    pub fn new() -> Self {
        let multi = ui::multi_progress();
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template(
                "{bar:30.cyan/blue} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} · {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress {
            multi,
            overall,
            counts: Arc::default(),
            visible: ui::stderr_is_terminal(),
        }
    }

    /// The walk found a file of `size` bytes.
    pub fn found(&self, size: u64) {
        self.counts.found.fetch_add(1, Ordering::Relaxed);
        self.overall.inc_length(size);
        self.refresh();
    }

    /// A line for one upload; its bytes also move the overall bar.
    pub fn upload(&self, name: &str, size: u64) -> UploadProgress {
        let bar = self.multi.add(ProgressBar::new(size));
        bar.set_style(ui::bytes_style());
        bar.set_message(name.to_string());
        UploadProgress {
            bar,
            multi: self.multi.clone(),
            overall: self.overall.clone(),
            sent: Arc::default(),
        }
    }

    /// A file is finished: its remaining bytes count as done.
    pub fn finished(&self, line: &FileReport, bytes_already_counted: u64) {
        self.overall
            .inc(line.size.saturating_sub(bytes_already_counted));
        self.counts.done.fetch_add(1, Ordering::Relaxed);
        if line.status == Status::Failed {
            self.counts.failed.fetch_add(1, Ordering::Relaxed);
            self.println(&format!(
                "failed: {}: {}",
                line.path,
                line.reason.as_deref().unwrap_or("")
            ));
        }
        self.refresh();
    }

    /// A message above the bars (or on plain stderr when there are no bars).
    pub fn println(&self, message: &str) {
        if self.visible {
            self.multi.println(message).ok();
        } else {
            eprintln!("{message}");
        }
    }

    pub fn clear(&self) {
        self.overall.finish_and_clear();
        self.multi.clear().ok();
    }

    fn refresh(&self) {
        let found = self.counts.found.load(Ordering::Relaxed);
        let done = self.counts.done.load(Ordering::Relaxed);
        let failed = self.counts.failed.load(Ordering::Relaxed);
        self.overall
            .set_message(format!("{done}/{found} files, {failed} failed"));
    }
}

/// The line of one upload in progress; removed when dropped.
pub struct UploadProgress {
    bar: ProgressBar,
    multi: MultiProgress,
    overall: ProgressBar,
    sent: Arc<AtomicU64>,
}

impl UploadProgress {
    /// Counts `n` more bytes sent; callable from the body stream.
    pub fn counter(&self) -> impl Fn(u64) + Send + Sync + 'static {
        let bar = self.bar.clone();
        let overall = self.overall.clone();
        let sent = self.sent.clone();
        move |n| {
            bar.inc(n);
            overall.inc(n);
            sent.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Bytes sent so far (they already moved the overall bar).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for UploadProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        self.multi.remove(&self.bar);
    }
}
