//! The saved login: `<config dir>/cadenza/admin.toml`, readable by its owner only.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// What `login` saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedLogin {
    pub server: String,
    pub username: String,
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Where the login is saved: `$XDG_CONFIG_HOME/cadenza/admin.toml` on Linux.
pub fn login_path() -> Result<PathBuf> {
    let dir = dirs::config_dir().context(
        "cannot find a config folder for the saved login (set HOME or XDG_CONFIG_HOME), or set CADENZA_SERVER and CADENZA_TOKEN instead",
    )?;
    Ok(dir.join("cadenza").join("admin.toml"))
}

/// The saved login, or `None` when there is none.
pub fn load(path: &Path) -> Result<Option<SavedLogin>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    warn_if_readable_by_others(path);
    let saved = toml::from_str(&text).with_context(|| {
        format!(
            "{} is not a valid saved login; delete it and run `cadenza-admin login` again",
            path.display()
        )
    })?;
    Ok(Some(saved))
}

/// Saves the login atomically, readable and writable by the owner only (0600).
pub fn save(path: &Path, login: &SavedLogin) -> Result<()> {
    let dir = path
        .parent()
        .context("the login path has no parent folder")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let text = toml::to_string(login).context("cannot encode the login")?;
    // The temporary file is created 0600 before the token is written into it.
    let mut builder = tempfile::Builder::new();
    builder.prefix(".admin.toml.");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o600));
    }
    let mut file = builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Forgets the saved login; `false` when there was none.
pub fn remove(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot delete {}", path.display())),
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            eprintln!(
                "warning: {} holds a login token but is readable by others (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SavedLogin {
        SavedLogin {
            server: "http://127.0.0.1:4533/".into(),
            username: "admin".into(),
            token: "secret".into(),
            expires_at: 1_900_000_000,
        }
    }

    #[test]
    fn a_saved_login_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cadenza").join("admin.toml");
        assert_eq!(load(&path).unwrap(), None);
        save(&path, &sample()).unwrap();
        assert_eq!(load(&path).unwrap(), Some(sample()));
        assert!(remove(&path).unwrap());
        assert!(!remove(&path).unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn the_token_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.toml");
        save(&path, &sample()).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_damaged_file_says_how_to_recover() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.toml");
        fs::write(&path, "server = 3").unwrap();
        let err = format!("{:#}", load(&path).unwrap_err());
        assert!(err.contains("cadenza-admin login"), "{err}");
    }
}
