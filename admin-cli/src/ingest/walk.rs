//! Finding the files to ingest: the paths given, and everything below the folders given.
//!
//! The walk streams what it finds to a callback, so a huge tree is never held in memory.
//! Inside folders, hidden entries (`.DS_Store`, `._song.mp3`, `.git/`) are skipped and
//! symlinked folders are not followed (they can loop); files named explicitly are
//! always taken.

use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Something the walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Walked {
    File {
        path: PathBuf,
        size: u64,
        /// Named on the command line rather than found in a folder.
        explicit: bool,
    },
    /// A path that could not be read; it is reported as a failure and the walk goes on.
    Unreadable { path: PathBuf, reason: String },
}

/// Walks `roots` in order (folders depth-first, entries sorted by name), calling `found`
/// for each file until it answers `Break`.
pub fn walk(roots: &[PathBuf], mut found: impl FnMut(Walked) -> ControlFlow<()>) {
    for root in roots {
        let flow = match fs::metadata(root) {
            Ok(meta) if meta.is_dir() => walk_dir(root, &mut found),
            Ok(meta) => found(Walked::File {
                path: root.clone(),
                size: meta.len(),
                explicit: true,
            }),
            Err(e) => found(Walked::Unreadable {
                path: root.clone(),
                reason: io_reason(&e),
            }),
        };
        if flow.is_break() {
            return;
        }
    }
}

fn walk_dir(dir: &Path, found: &mut impl FnMut(Walked) -> ControlFlow<()>) -> ControlFlow<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            return found(Walked::Unreadable {
                path: dir.to_path_buf(),
                reason: format!("cannot list the folder: {}", io_reason(&e)),
            })
        }
    };
    let mut names: Vec<_> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
        .collect();
    names.sort_by_key(|entry| entry.file_name());
    for entry in names {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            found(Walked::Unreadable {
                path,
                reason: "cannot tell whether it is a file or a folder".into(),
            })?;
            continue;
        };
        if kind.is_dir() {
            walk_dir(&path, found)?;
            continue;
        }
        // Follows a symlink to a file; a symlink to a folder is left alone.
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => found(Walked::File {
                path,
                size: meta.len(),
                explicit: false,
            })?,
            Ok(_) => {}
            Err(e) => found(Walked::Unreadable {
                path,
                reason: io_reason(&e),
            })?,
        }
    }
    ControlFlow::Continue(())
}

/// An I/O error as a short reason: "permission denied", "no such file or folder".
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::NotFound => "no such file or folder".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(roots: &[PathBuf]) -> Vec<Walked> {
        let mut all = Vec::new();
        walk(roots, |w| {
            all.push(w);
            ControlFlow::Continue(())
        });
        all
    }

    fn file_names(found: &[Walked], base: &Path) -> Vec<String> {
        found
            .iter()
            .filter_map(|w| match w {
                Walked::File { path, .. } => {
                    Some(path.strip_prefix(base).unwrap().display().to_string())
                }
                Walked::Unreadable { .. } => None,
            })
            .collect()
    }

    #[test]
    fn folders_are_walked_recursively_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/deeper")).unwrap();
        fs::create_dir_all(root.join("a")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::write(root.join("b/deeper/z.flac"), b"12345").unwrap();
        fs::write(root.join("b/y.mp3"), b"").unwrap();
        fs::write(root.join("a/x.ogg"), b"1").unwrap();
        fs::write(root.join("._x.mp3"), b"apple double").unwrap();
        fs::write(root.join(".git/config"), b"").unwrap();
        fs::write(root.join("ü 🎵.wav"), b"1").unwrap();
        let found = collect(&[root.to_path_buf()]);
        assert_eq!(
            file_names(&found, root),
            vec!["a/x.ogg", "b/deeper/z.flac", "b/y.mp3", "ü 🎵.wav"]
        );
        assert!(found.contains(&Walked::File {
            path: root.join("b/deeper/z.flac"),
            size: 5,
            explicit: false
        }));
    }

    #[test]
    fn explicit_files_and_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let hidden = dir.path().join(".hidden.mp3");
        fs::write(&hidden, b"abc").unwrap();
        let missing = dir.path().join("nope");
        let found = collect(&[hidden.clone(), missing.clone()]);
        assert_eq!(
            found,
            vec![
                Walked::File {
                    path: hidden,
                    size: 3,
                    explicit: true
                },
                Walked::Unreadable {
                    path: missing,
                    reason: "no such file or folder".into()
                }
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_folders_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("music")).unwrap();
        fs::write(root.join("music/a.mp3"), b"1").unwrap();
        std::os::unix::fs::symlink(root, root.join("music/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("music/a.mp3"), root.join("music/link.mp3")).unwrap();
        let found = collect(&[root.join("music")]);
        assert_eq!(
            file_names(&found, &root.join("music")),
            vec!["a.mp3", "link.mp3"]
        );
    }

    #[test]
    fn the_walk_stops_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["1", "2", "3"] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        let mut seen = 0;
        walk(&[dir.path().to_path_buf()], |_| {
            seen += 1;
            if seen == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(seen, 2);
    }
}
