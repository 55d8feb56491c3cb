//! What an ingest run says about each file (`--report`, JSON lines) and the summary at its end.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use cadenza_api::IngestWarning;
use serde::Serialize;

use crate::ui;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Uploaded and added to the catalog.
    Ingested,
    /// The server already had these bytes.
    Skipped,
    Failed,
    /// Not audio and not named like audio.
    Ignored,
    /// Dry run: would be uploaded.
    WouldIngest,
}

/// One line of the report: a file and what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileReport {
    pub path: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub song_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<ReportTags>,
    /// Tags the file lacked, filled with fallbacks (title from the file name, "Unknown Artist").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_tags: Vec<String>,
    /// What is wrong with an accepted file (a damaged tag item, a truncated MP3, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<IngestWarning>,
}

/// The tags and format as the catalog has them (or, in a dry run, would have them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportTags {
    pub title: String,
    /// Every artist, joined as the catalog shows them.
    pub artist: String,
    pub artists: Vec<String>,
    pub album: String,
    /// Whom the album is filed under, when the file names someone (dry runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub album_artist: Option<String>,
    pub genre: Option<String>,
    pub genres: Vec<String>,
    pub track: Option<u32>,
    pub disc: Option<u32>,
    pub year: Option<i32>,
    pub codec: String,
    pub duration_ms: u64,
}

impl FileReport {
    pub fn new(path: &Path, status: Status, size: u64) -> Self {
        FileReport {
            path: path.display().to_string(),
            status,
            reason: None,
            size,
            hash: None,
            song_id: None,
            tags: None,
            missing_tags: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub fn failed(path: &Path, size: u64, reason: impl Into<String>) -> Self {
        FileReport {
            reason: Some(reason.into()),
            ..FileReport::new(path, Status::Failed, size)
        }
    }
}

/// Writes the report as it goes, one flushed line per file, so a killed run keeps
/// the lines of everything it finished.
pub struct ReportWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl ReportWriter {
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path)
            .with_context(|| format!("cannot create the report file {}", path.display()))?;
        Ok(ReportWriter {
            out: BufWriter::new(file),
            path: path.to_path_buf(),
        })
    }

    pub fn write(&mut self, line: &FileReport) -> Result<()> {
        serde_json::to_writer(&mut self.out, line)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush())
            .with_context(|| format!("cannot write the report file {}", self.path.display()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A failed file and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub path: String,
    pub reason: String,
}

/// A file whose missing tags were filled with fallbacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingTags {
    pub path: String,
    pub tags: Vec<String>,
}

/// An accepted file with something to fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileWarnings {
    pub path: String,
    pub warnings: Vec<IngestWarning>,
}

/// Totals of a run; also its `--json` output.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub dry_run: bool,
    /// Stopped by Ctrl-C before every file was done.
    pub interrupted: bool,
    pub ingested: u64,
    /// Already on the server.
    pub skipped: u64,
    pub failed: u64,
    pub ignored: u64,
    pub would_ingest: u64,
    /// Bytes uploaded (or, in a dry run, that would be).
    pub bytes: u64,
    pub elapsed_secs: f64,
    pub files_per_sec: f64,
    pub mb_per_sec: f64,
    pub failures: Vec<Failure>,
    pub missing_tags: Vec<MissingTags>,
    /// Files accepted (or, in a dry run, that would be) with problems to fix.
    pub warnings: Vec<FileWarnings>,
    /// Manifest entries that matched no file (a typo in the path?).
    pub manifest_unmatched: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
}

impl Summary {
    pub fn record(&mut self, line: &FileReport) {
        match line.status {
            Status::Ingested => {
                self.ingested += 1;
                self.bytes += line.size;
            }
            Status::Skipped => self.skipped += 1,
            Status::Ignored => self.ignored += 1,
            Status::WouldIngest => {
                self.would_ingest += 1;
                self.bytes += line.size;
            }
            Status::Failed => {
                self.failed += 1;
                self.failures.push(Failure {
                    path: line.path.clone(),
                    reason: line.reason.clone().unwrap_or_default(),
                });
            }
        }
        if !line.missing_tags.is_empty() && line.status != Status::Failed {
            self.missing_tags.push(MissingTags {
                path: line.path.clone(),
                tags: line.missing_tags.clone(),
            });
        }
        if !line.warnings.is_empty() {
            self.warnings.push(FileWarnings {
                path: line.path.clone(),
                warnings: line.warnings.clone(),
            });
        }
    }

    /// Files looked at (ignored ones aside).
    pub fn files_done(&self) -> u64 {
        self.ingested + self.skipped + self.failed + self.would_ingest
    }

    pub fn finish(&mut self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        self.elapsed_secs = round2(secs);
        if secs > 0.0 {
            self.files_per_sec = round2(self.files_done() as f64 / secs);
            self.mb_per_sec = round2(self.bytes as f64 / 1e6 / secs);
        }
    }

    /// The text summary for people.
    pub fn render(&self) -> String {
        const LISTED: usize = 20;
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        if self.interrupted {
            line("Interrupted: uploads in progress were abandoned (the server keeps nothing of them). Run the same command again to finish the rest.".into());
        }
        let verb = if self.dry_run {
            "Would ingest"
        } else {
            "Ingested"
        };
        let count = if self.dry_run {
            self.would_ingest
        } else {
            self.ingested
        };
        line(format!(
            "{verb} {count} {} ({}) in {:.1} s: {:.1} files/s, {:.2} MB/s.",
            ui::plural(count, "file", "files"),
            ui::bytes(self.bytes),
            self.elapsed_secs,
            self.files_per_sec,
            self.mb_per_sec,
        ));
        line(format!(
            "Skipped {} already on the server; {} failed; ignored {} {} not audio.",
            self.skipped,
            self.failed,
            self.ignored,
            ui::plural(self.ignored, "file that is", "files that are")
        ));
        if !self.failures.is_empty() {
            line(format!("Failed ({}):", self.failures.len()));
            for f in self.failures.iter().take(LISTED) {
                line(format!("  {}: {}", f.path, f.reason));
            }
            more(
                &mut line,
                self.failures.len(),
                LISTED,
                self.report.is_some(),
            );
        }
        if !self.missing_tags.is_empty() {
            line(format!(
                "Missing tags filled with fallbacks ({}):",
                self.missing_tags.len()
            ));
            for m in self.missing_tags.iter().take(LISTED) {
                line(format!("  {}: {}", m.path, m.tags.join(", ")));
            }
            more(
                &mut line,
                self.missing_tags.len(),
                LISTED,
                self.report.is_some(),
            );
        }
        if !self.warnings.is_empty() {
            line(format!(
                "Accepted with problems to fix ({}):",
                self.warnings.len()
            ));
            for file in self.warnings.iter().take(LISTED) {
                for warning in &file.warnings {
                    line(format!("  {}: {}", file.path, warning.message));
                }
            }
            more(
                &mut line,
                self.warnings.len(),
                LISTED,
                self.report.is_some(),
            );
        }
        if !self.manifest_unmatched.is_empty() {
            line(format!(
                "Manifest entries that matched no file ({}): {}",
                self.manifest_unmatched.len(),
                self.manifest_unmatched.join(", ")
            ));
        }
        if let Some(report) = &self.report {
            line(format!("Report written to {report}."));
        }
        out
    }
}

fn more(line: &mut impl FnMut(String), total: usize, listed: usize, has_report: bool) {
    if total > listed {
        let hint = if has_report {
            "see the report"
        } else {
            "use --report FILE for the full list"
        };
        line(format!("  … and {} more ({hint})", total - listed));
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingested(path: &str, size: u64, missing: &[&str]) -> FileReport {
        FileReport {
            song_id: Some(7),
            hash: Some("ab".into()),
            missing_tags: missing.iter().map(|s| s.to_string()).collect(),
            ..FileReport::new(Path::new(path), Status::Ingested, size)
        }
    }

    #[test]
    fn report_lines_are_one_json_object_each() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        let mut writer = ReportWriter::create(&path).unwrap();
        writer.write(&ingested("a/b.mp3", 10, &["artist"])).unwrap();
        writer
            .write(&FileReport::failed(
                Path::new("bad.mp3"),
                0,
                "the file is empty",
            ))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["status"], "ingested");
        assert_eq!(lines[0]["song_id"], 7);
        assert_eq!(lines[0]["missing_tags"][0], "artist");
        assert_eq!(lines[1]["status"], "failed");
        assert_eq!(lines[1]["reason"], "the file is empty");
        assert!(lines[1].get("song_id").is_none());
    }

    #[test]
    fn the_summary_counts_and_lists() {
        let mut s = Summary::default();
        s.record(&ingested("one.mp3", 1_000_000, &[]));
        s.record(&ingested("two.wav", 1_000_000, &["title", "artist"]));
        s.record(&FileReport::new(Path::new("three.ogg"), Status::Skipped, 5));
        s.record(&FileReport::new(Path::new("cover.jpg"), Status::Ignored, 5));
        s.record(&FileReport::failed(Path::new("bad.mp3"), 3, "truncated"));
        s.record(&FileReport {
            warnings: vec![IngestWarning {
                code: "tag_damaged".into(),
                message: "a damaged tag item was skipped".into(),
            }],
            ..ingested("four.mp3", 0, &[])
        });
        s.finish(Duration::from_secs(2));
        assert_eq!((s.ingested, s.skipped, s.failed, s.ignored), (3, 1, 1, 1));
        assert_eq!(s.bytes, 2_000_000);
        assert_eq!(s.files_per_sec, 2.5);
        assert_eq!(s.mb_per_sec, 1.0);
        let text = s.render();
        assert!(text.contains("Ingested 3 files"), "{text}");
        assert!(text.contains("bad.mp3: truncated"), "{text}");
        assert!(text.contains("two.wav: title, artist"), "{text}");
        assert!(
            text.contains("Accepted with problems to fix (1):\n  four.mp3: a damaged tag item"),
            "{text}"
        );
        assert_eq!(s.warnings[0].warnings[0].code, "tag_damaged");
        assert!(!text.contains("Interrupted"), "{text}");
    }

    #[test]
    fn long_lists_are_cut_with_a_pointer() {
        let mut s = Summary::default();
        for i in 0..25 {
            s.record(&FileReport::failed(
                Path::new(&format!("{i}.mp3")),
                0,
                "empty",
            ));
        }
        let text = s.render();
        assert!(text.contains("… and 5 more (use --report FILE"), "{text}");
        assert!(!text.contains("24.mp3"), "{text}");
    }
}
