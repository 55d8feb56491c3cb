//! The saved login: server URL and token in `<config dir>/cadenza/token`, readable by the user
//! only, so the player never asks again until the token expires.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub server: String,
    pub token: String,
    #[serde(default)]
    pub username: String,
}

impl Session {
    pub fn default_path() -> Option<PathBuf> {
        dirs::config_dir().map(|d| d.join("cadenza").join("token"))
    }

    /// The saved session, if there is a readable one.
    pub fn load(path: &Path) -> Option<Session> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Saves with mode 0600 (the token is a password for the server).
    pub fn save(&self, path: &Path) -> io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let text = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        let tmp = path.with_extension("tmp");
        write_private(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, path)
    }

    pub fn forget(path: &Path) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_sessions_are_private_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cadenza").join("token");
        let session = Session {
            server: "http://127.0.0.1:4533".into(),
            token: "secret".into(),
            username: "ada".into(),
        };
        session.save(&path).unwrap();
        assert_eq!(Session::load(&path), Some(session));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        Session::forget(&path);
        assert_eq!(Session::load(&path), None);
    }
}
