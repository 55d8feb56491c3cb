//! `--manifest`: tag overrides for catalogs whose files carry bad tags.
//!
//! CSV with a header row, or JSON lines; `path` is required and relative paths are
//! taken from the manifest's folder. Every other column is optional and overrides
//! the file's own tag.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use cadenza_media::Tags;
use thiserror::Error;

const COLUMNS: &str = "path, title, artist, album, genre, track, disc, year";

#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("cannot read the manifest {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("the manifest's header has no `path` column; the columns are {COLUMNS}")]
    NoPathColumn,
}

fn at(line: usize, message: impl Into<String>) -> ManifestError {
    ManifestError::Line {
        line,
        message: message.into(),
    }
}

/// Overrides by file, with the line each came from.
#[derive(Debug, Default)]
pub struct Manifest {
    entries: HashMap<PathBuf, Entry>,
}

#[derive(Debug)]
struct Entry {
    /// The tags the manifest sets; unset fields keep the file's own.
    overrides: Tags,
    /// As written in the manifest, for messages.
    written: String,
    used: bool,
}

impl Manifest {
    /// Reads a manifest file; the format follows the extension (`.csv`, `.jsonl`,
    /// `.ndjson`, `.json`), else the content (a line starting with `{` is JSON).
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let json = match extension.as_deref() {
            Some("csv") => false,
            Some("jsonl" | "ndjson" | "json") => true,
            _ => text.trim_start().starts_with('{'),
        };
        if json {
            Manifest::parse_json_lines(&text, &base)
        } else {
            Manifest::parse_csv(&text, &base)
        }
    }

    pub fn parse_csv(text: &str, base: &Path) -> Result<Manifest, ManifestError> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| at(1, format!("cannot read the header row: {e}")))?
            .iter()
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>();
        for header in &headers {
            check_column(header, 1)?;
        }
        if !headers.iter().any(|h| h == "path") {
            return Err(ManifestError::NoPathColumn);
        }
        let mut manifest = Manifest::default();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line() as usize);
                at(line, format!("not valid CSV: {e}"))
            })?;
            let line = record.position().map_or(0, |p| p.line() as usize);
            if record.iter().all(str::is_empty) {
                continue;
            }
            let fields = headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.as_str(), Some(v.to_string())));
            manifest.add(fields, line, base)?;
        }
        Ok(manifest)
    }

    pub fn parse_json_lines(text: &str, base: &Path) -> Result<Manifest, ManifestError> {
        let mut manifest = Manifest::default();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(raw)
                .map_err(|e| at(line, format!("not a JSON object: {e}")))?;
            let mut fields = Vec::with_capacity(object.len());
            for (key, value) in &object {
                check_column(key, line)?;
                let value = match value {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    other => {
                        return Err(at(
                            line,
                            format!("`{key}` must be a string or a number, not {other}"),
                        ))
                    }
                };
                fields.push((key.as_str(), value));
            }
            manifest.add(fields.into_iter(), line, base)?;
        }
        Ok(manifest)
    }

    fn add<'a>(
        &mut self,
        fields: impl Iterator<Item = (&'a str, Option<String>)>,
        line: usize,
        base: &Path,
    ) -> Result<(), ManifestError> {
        let mut written = None;
        let mut o = Tags::default();
        for (key, value) in fields {
            let Some(value) = value
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
            else {
                continue;
            };
            match key {
                "path" => written = Some(value),
                "title" => o.title = Some(value),
                "artist" => o.artist = Some(value),
                "album" => o.album = Some(value),
                "genre" => o.genre = Some(value),
                "track" => o.track = Some(parse_number(&value, "track", line)?),
                "disc" => o.disc = Some(parse_number(&value, "disc", line)?),
                "year" => o.year = Some(parse_year(&value, line)?),
                other => check_column(other, line)?,
            }
        }
        let written = written.ok_or_else(|| at(line, "the `path` is missing"))?;
        let key = lookup_key(&base.join(&written));
        if let Some(previous) = self.entries.get(&key) {
            return Err(at(
                line,
                format!(
                    "`{written}` is already listed (as `{}`); list each file once",
                    previous.written
                ),
            ));
        }
        self.entries.insert(
            key,
            Entry {
                overrides: o,
                written,
                used: false,
            },
        );
        Ok(())
    }

    /// The overrides for a file found by the walk, marking its entry as used.
    pub fn take(&mut self, file: &Path) -> Option<Tags> {
        let entry = self.entries.get_mut(&lookup_key(file))?;
        entry.used = true;
        Some(entry.overrides.clone())
    }

    /// Entries that matched no ingested file (probably a typo in the path), as written.
    pub fn unused(&self) -> Vec<String> {
        let mut unused: Vec<String> = self
            .entries
            .values()
            .filter(|e| !e.used)
            .map(|e| e.written.clone())
            .collect();
        unused.sort();
        unused
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

fn check_column(name: &str, line: usize) -> Result<(), ManifestError> {
    match name {
        "path" | "title" | "artist" | "album" | "genre" | "track" | "disc" | "year" => Ok(()),
        other => Err(at(
            line,
            format!("unknown column `{other}`; the columns are {COLUMNS}"),
        )),
    }
}

/// `3` or `3/12` (number of total) → 3.
fn parse_number(value: &str, what: &str, line: usize) -> Result<u32, ManifestError> {
    let number = value.split('/').next().unwrap_or(value).trim();
    number
        .parse()
        .map_err(|_| at(line, format!("the {what} `{value}` is not a whole number")))
}

/// `1997`, or a date starting with the year (`1997-05-01`) → 1997.
fn parse_year(value: &str, line: usize) -> Result<i32, ManifestError> {
    let year = value.split('-').next().unwrap_or(value).trim();
    match year.parse::<i32>() {
        Ok(y) if (1..=9999).contains(&y) => Ok(y),
        _ => Err(at(
            line,
            format!("the year `{value}` is not a year like 1997"),
        )),
    }
}

/// The same key for the manifest's path and the walked path of the same file:
/// the canonical path when the file exists, else the lexically cleaned absolute path.
fn lookup_key(path: &Path) -> PathBuf {
    if let Ok(canonical) = std::fs::canonicalize(path) {
        return canonical;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut clean = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "/music";

    #[test]
    fn csv_overrides_are_read_by_column_name() {
        let text = "Path, Title ,artist,track,year\n\
                    a/one.mp3,\"Hello, World\",Björk,3/12,1997-05-01\n\
                    \n\
                    two.flac,,,,\n";
        let mut m = Manifest::parse_csv(text, Path::new(BASE)).unwrap();
        assert_eq!(m.len(), 2);
        let one = m.take(Path::new("/music/a/one.mp3")).unwrap();
        assert_eq!(one.title.as_deref(), Some("Hello, World"));
        assert_eq!(one.artist.as_deref(), Some("Björk"));
        assert_eq!(one.track, Some(3));
        assert_eq!(one.year, Some(1997));
        assert_eq!(one.album, None);
        // An empty cell overrides nothing.
        assert_eq!(
            m.take(Path::new("/music/./two.flac")).unwrap(),
            Tags::default()
        );
        assert!(m.unused().is_empty());
    }

    #[test]
    fn json_lines_take_strings_numbers_and_nulls() {
        let text = r#"{"path": "x/a.ogg", "title": "A", "track": 2, "year": "2001", "genre": null}

{"path": "/abs/b.opus", "disc": 2}"#;
        let mut m = Manifest::parse_json_lines(text, Path::new(BASE)).unwrap();
        let a = m.take(Path::new("/music/x/a.ogg")).unwrap();
        assert_eq!(
            (a.title.as_deref(), a.track, a.year),
            (Some("A"), Some(2), Some(2001))
        );
        assert_eq!(a.genre, None);
        assert_eq!(m.unused(), vec!["/abs/b.opus".to_string()]);
        assert_eq!(m.take(Path::new("/abs/b.opus")).unwrap().disc, Some(2));
    }

    #[test]
    fn mistakes_name_the_line() {
        let err = Manifest::parse_csv("path,titel\na.mp3,x\n", Path::new(BASE)).unwrap_err();
        assert!(err.to_string().contains("unknown column `titel`"), "{err}");

        let err = Manifest::parse_csv("path,track\na.mp3,x\nb.mp3,4\n", Path::new(BASE))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("whole number"),
            "{err}"
        );

        let err = Manifest::parse_csv("title\nx\n", Path::new(BASE)).unwrap_err();
        assert!(matches!(err, ManifestError::NoPathColumn));

        let err = Manifest::parse_json_lines("{\"title\": \"x\"}\n", Path::new(BASE))
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1") && err.contains("`path`"), "{err}");

        let err = Manifest::parse_json_lines("{}\nnot json\n", Path::new(BASE))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("manifest line 1"), "{err}");

        let err = Manifest::parse_json_lines(r#"{"path": "a", "year": [1]}"#, Path::new(BASE))
            .unwrap_err()
            .to_string();
        assert!(err.contains("string or a number"), "{err}");

        let err = Manifest::parse_csv("path,year\na,0\n", Path::new(BASE))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a year"), "{err}");
    }

    #[test]
    fn a_file_listed_twice_is_refused() {
        let err = Manifest::parse_csv("path\na.mp3\n./a.mp3\n", Path::new(BASE))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 3") && err.contains("already listed"),
            "{err}"
        );
    }

    #[test]
    fn ragged_csv_rows_are_refused() {
        let err = Manifest::parse_csv("path,title\na.mp3,x,y\n", Path::new(BASE))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not valid CSV"), "{err}");
    }

    #[test]
    fn the_format_follows_the_extension_or_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let song = dir.path().join("song.mp3");
        std::fs::write(&song, b"x").unwrap();
        let csv = dir.path().join("fixes.csv");
        std::fs::write(&csv, "path,title\nsong.mp3,From CSV\n").unwrap();
        let jsonl = dir.path().join("fixes.txt");
        std::fs::write(
            &jsonl,
            "{\"path\": \"song.mp3\", \"title\": \"From JSON\"}\n",
        )
        .unwrap();
        let mut m = Manifest::load(&csv).unwrap();
        assert_eq!(m.take(&song).unwrap().title.as_deref(), Some("From CSV"));
        let mut m = Manifest::load(&jsonl).unwrap();
        assert_eq!(m.take(&song).unwrap().title.as_deref(), Some("From JSON"));
        let err = Manifest::load(&dir.path().join("missing.csv")).unwrap_err();
        assert!(
            err.to_string().contains("cannot read the manifest"),
            "{err}"
        );
    }
}
