//! The OpenSubsonic API driven by a real Subsonic client library from PyPI (py-sonic,
//! import `libsonic`), with every JSON answer checked against the OpenSubsonic schema
//! (`tests/subsonic/pysonic_check.py`). `scripts/setup.sh` installs both in a venv under
//! `target/pyenv`; the test is skipped, saying so, only where there is no Python.

use std::path::{Path, PathBuf};
use std::process::Command;

use cadenza_api::{CredentialKind, TagOverrides};
use cadenza_tests::Server;

/// The venv's Python, or `None` (with the reason printed) where the machine has no Python.
fn venv_python() -> Option<PathBuf> {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: python3 is not installed, so the py-sonic client cannot run");
        return None;
    }
    let target = cadenza_tests::profile_dir()
        .parent()
        .expect("target/<profile> has a parent")
        .to_path_buf();
    let python = target.join("pyenv").join("bin").join("python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh, which installs py-sonic and jsonschema there",
        python.display()
    );
    Some(python)
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("subsonic")
        .join("pysonic_check.py")
}

#[tokio::test]
async fn py_sonic_drives_the_server_and_every_answer_matches_the_schema() {
    let Some(python) = venv_python() else { return };
    let server = Server::start();
    let admin = server.admin().await;
    let manifest = cadenza_fixtures::load_manifest().expect("fixture manifest");
    for file in manifest
        .good_files()
        .filter(|g| !g.path.starts_with("audio/podcast/"))
        .take(6)
    {
        let path = file.absolute_path();
        let overrides = TagOverrides {
            filename: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            ..TagOverrides::default()
        };
        admin
            .upload_song_file(&path, &overrides)
            .await
            .unwrap_or_else(|e| panic!("upload {}: {e}", file.path));
    }
    let password = admin
        .create_my_credential(CredentialKind::AppPassword, "py-sonic")
        .await
        .expect("make an app password")
        .secret;
    let key = admin
        .create_my_credential(CredentialKind::ApiKey, "schema check")
        .await
        .expect("make an API key")
        .secret;

    let url = server.url.trim_end_matches('/');
    let (base, port) = url.rsplit_once(':').expect("URL with a port");
    let output = Command::new(&python)
        .arg(script())
        .args([base, port, "admin", &password, &key])
        .output()
        .expect("run the py-sonic check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the py-sonic check failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(stdout.contains("checks passed"), "{stdout}");

    // py-sonic sent the same scrobble (same song and time) twice: one play.
    assert_eq!(admin.stats().await.expect("stats").plays, 1);
    // Both credentials were used, and that is on record.
    let used = admin.my_credentials().await.expect("list credentials");
    assert_eq!(used.len(), 2);
    assert!(used.iter().all(|c| c.last_used_at.is_some()), "{used:?}");
}
