//! Looking at one file locally before any upload: is it audio (by content), what do its
//! tags and duration say, and what is its SHA-256.
//!
//! Blocking: run it on a blocking thread.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use cadenza_media::Probe;
use sha2::{Digest, Sha256};

use super::walk::io_reason;

/// What the local look found.
#[derive(Debug)]
pub enum Inspection {
    /// Not audio and not named like audio (a cover image, a text file): left alone.
    Ignored {
        reason: String,
    },
    /// Meant to be audio but unusable: reported as a failure.
    Failed {
        reason: String,
    },
    Audio {
        probe: Box<Probe>,
        hash: String,
    },
}

/// Inspects `path`. Files named on the command line (`explicit`) and files named like
/// audio fail when they are not usable audio, with the media library's reason; any
/// other file that is not audio by content is ignored.
pub fn inspect(path: &Path, explicit: bool) -> Inspection {
    let head = match read_head(path) {
        Ok(head) => head,
        Err(e) => {
            return Inspection::Failed {
                reason: format!("cannot read it: {}", io_reason(&e)),
            }
        }
    };
    let expected = explicit || named_like_audio(path);
    if !expected && cadenza_media::sniff(&head).is_none() {
        let reason = if head.is_empty() {
            "an empty file"
        } else {
            "not audio"
        };
        return Inspection::Ignored {
            reason: reason.into(),
        };
    }
    let probe = match cadenza_media::probe_file(path) {
        Ok(probe) => probe,
        Err(e) => {
            return Inspection::Failed {
                reason: e.to_string(),
            }
        }
    };
    match sha256_file(path) {
        Ok(hash) => Inspection::Audio {
            probe: Box::new(probe),
            hash,
        },
        Err(e) => Inspection::Failed {
            reason: format!("cannot read it: {}", io_reason(&e)),
        },
    }
}

fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(cadenza_media::SNIFF_LEN);
    File::open(path)?
        .take(cadenza_media::SNIFF_LEN as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// Lowercase hex SHA-256 of a file, read in 64 KiB chunks.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Extensions of audio formats, supported or not: such a file that cannot be ingested
/// is a failure worth reporting, not a stray file to ignore. (Audio recognised by its
/// content fails too, whatever its name.)
const AUDIO_EXTENSIONS: &[&str] = &[
    "mp3", "mp2", "mp1", "flac", "ogg", "oga", "opus", "spx", "m4a", "m4b", "m4p", "mp4", "aac",
    "wav", "wave", "w64", "aif", "aiff", "aifc", "caf", "alac", "ape", "wv", "wma", "mpc", "mp+",
    "mpp", "dsf", "dff", "ac3", "eac3", "ec3", "tak", "ofr", "ofs", "tta", "mka", "webm", "amr",
    "au", "snd", "mid", "midi",
];

fn named_like_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_the_known_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Larger than one buffer.
        std::fs::write(&path, vec![7u8; 200_000]).unwrap();
        let mut hasher = Sha256::new();
        hasher.update(vec![7u8; 200_000]);
        assert_eq!(sha256_file(&path).unwrap(), hex::encode(hasher.finalize()));
    }

    #[test]
    fn audio_names_are_recognised_case_insensitively() {
        assert!(named_like_audio(Path::new("a/B.MP3")));
        assert!(named_like_audio(Path::new("x.wma")));
        assert!(!named_like_audio(Path::new("cover.jpg")));
        assert!(!named_like_audio(Path::new("README")));
    }

    #[test]
    fn stray_files_are_ignored_but_fake_audio_fails() {
        let dir = tempfile::tempdir().unwrap();
        let notes = dir.path().join("notes.txt");
        std::fs::write(&notes, "liner notes").unwrap();
        assert!(matches!(inspect(&notes, false), Inspection::Ignored { .. }));
        assert!(matches!(inspect(&notes, true), Inspection::Failed { .. }));
        let fake = dir.path().join("song.mp3");
        std::fs::write(&fake, "just text").unwrap();
        match inspect(&fake, false) {
            Inspection::Failed { reason } => {
                assert!(reason.contains("not an audio file"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        let empty = dir.path().join("empty.flac");
        std::fs::write(&empty, "").unwrap();
        match inspect(&empty, false) {
            Inspection::Failed { reason } => assert!(reason.contains("empty"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_fixture_is_classified_like_the_manifest_says() {
        let manifest = cadenza_fixtures::load_manifest().unwrap();
        for file in &manifest.files {
            let found = inspect(&file.absolute_path(), false);
            if file.accept() {
                assert!(
                    matches!(found, Inspection::Audio { .. }),
                    "{}: {found:?}",
                    file.path()
                );
            } else {
                assert!(
                    matches!(found, Inspection::Failed { .. }),
                    "{}: {found:?}",
                    file.path()
                );
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_files_fail_with_the_reason() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.mp3");
        std::fs::write(&path, b"ID3").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        if File::open(&path).is_ok() {
            // Running as root: permissions do not apply, nothing to test.
            return;
        }
        match inspect(&path, false) {
            Inspection::Failed { reason } => {
                assert!(reason.contains("permission denied"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
