//! From a [`Config`] to a running [`App`]: folders, catalog, volumes, the share-link secret,
//! and the first admin account.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use cadenza_api::Role;
use cadenza_catalog::{Catalog, CatalogError, SqliteCatalog};
use cadenza_store::{BlobStore, S3Settings, StoreConfig, VolumeConfig};
use rand::RngCore;

use crate::app::App;
use crate::auth::{hash_password, random_password};
use crate::config::{Config, Place};

/// Name of the account created on first start.
pub const FIRST_ADMIN: &str = "admin";

pub async fn build_app(config: Config) -> Result<Arc<App>> {
    for dir in [&config.data_dir, &config.staging_dir()] {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }
    // S3 credentials are settled before anything is created or contacted.
    let env = |key: &str| std::env::var(key).ok();
    let planned = config
        .volumes
        .iter()
        .map(|v| match &v.place {
            Place::Dir(path) => Ok(Planned::Dir(path.clone())),
            Place::S3(spec) => spec
                .settings(&v.name, &env)
                .map(Planned::S3)
                .map_err(anyhow::Error::msg),
        })
        .collect::<Result<Vec<_>>>()?;
    for (volume, plan) in config.volumes.iter().zip(&planned) {
        if let Planned::Dir(path) = plan {
            fs::create_dir_all(path).with_context(|| {
                format!(
                    "cannot create the folder of volume `{}` at {}",
                    volume.name,
                    path.display()
                )
            })?;
        }
    }
    let share_key = share_key(&config)?;

    let catalog_path = config.catalog_path();
    let catalog = tokio::task::spawn_blocking(move || SqliteCatalog::open(&catalog_path))
        .await?
        .with_context(|| {
            format!(
                "cannot open the catalog at {}",
                config.catalog_path().display()
            )
        })?;
    let catalog: Arc<dyn Catalog> = Arc::new(catalog);

    let volumes = config
        .volumes
        .iter()
        .zip(planned)
        .map(|(v, plan)| match plan {
            Planned::Dir(path) => VolumeConfig::local_dir(&v.name, &path)
                .with_context(|| format!("cannot open volume `{}` at {}", v.name, path.display())),
            Planned::S3(settings) => Ok(VolumeConfig::s3(&v.name, &settings)?),
        })
        .collect::<Result<Vec<_>>>()?;
    let store = BlobStore::new(StoreConfig {
        volumes,
        replication: config.replication,
        staging_dir: config.staging_dir(),
        cache_bytes: config.cache_bytes,
        write_quorum: cadenza_store::majority(config.replication),
        stale_upload_age: cadenza_store::STALE_UPLOAD_AGE,
    })
    .context("cannot set up the blob store")?;
    store.check_buckets().await?;

    let admin_password = config.admin_password.clone();
    let bootstrap_catalog = Arc::clone(&catalog);
    let created = tokio::task::spawn_blocking(move || {
        bootstrap_admin(bootstrap_catalog.as_ref(), admin_password.as_deref())
    })
    .await??;
    match created {
        Some(FirstAdmin::Generated(password)) => announce_password(&password),
        Some(FirstAdmin::Configured) => tracing::info!(
            "created the first account `{FIRST_ADMIN}` with the configured admin_password"
        ),
        None => {}
    }

    let dummy_hash = tokio::task::spawn_blocking(|| hash_password(&random_password())).await??;
    let feeds = crate::podcasts::Feeds::new()?;
    Ok(Arc::new(App::new(
        config, catalog, store, &share_key, dummy_hash, feeds,
    )))
}

/// A configured volume on its way to the store.
enum Planned {
    Dir(std::path::PathBuf),
    S3(S3Settings),
}

#[derive(Debug, PartialEq, Eq)]
pub enum FirstAdmin {
    Configured,
    Generated(String),
}

/// Creates the `admin` account when there are no users at all.
pub fn bootstrap_admin(
    catalog: &dyn Catalog,
    configured: Option<&str>,
) -> Result<Option<FirstAdmin>> {
    if catalog.user_count()? > 0 {
        return Ok(None);
    }
    let (password, outcome) = match configured {
        Some(password) => (password.to_string(), FirstAdmin::Configured),
        None => {
            let password = random_password();
            (password.clone(), FirstAdmin::Generated(password))
        }
    };
    let hash = hash_password(&password)?;
    match catalog.create_user(FIRST_ADMIN, &hash, Role::Admin) {
        Ok(_) => Ok(Some(outcome)),
        // Another server copy on the same catalog created it first.
        Err(CatalogError::Conflict(_)) => Ok(None),
        Err(e) => Err(e).context("cannot create the first admin account"),
    }
}

fn announce_password(password: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "cadenza-server: created the first account `{FIRST_ADMIN}` with the password: {password}\n\
         cadenza-server: this password is shown only once; log in and change it \
         (or set CADENZA_ADMIN_PASSWORD before the first start)"
    );
    let _ = out.flush();
}

/// The share-link signing key: configured, else generated once and kept in `<data-dir>/secret`
/// (mode 0600), so links survive restarts. Copies of the server behind one load balancer must
/// share it: configure `secret` / `CADENZA_SECRET` on all of them.
pub fn share_key(config: &Config) -> Result<Vec<u8>> {
    if let Some(secret) = &config.secret {
        return Ok(secret.as_bytes().to_vec());
    }
    let path = config.secret_path();
    match read_secret(&path)? {
        Some(key) => Ok(key),
        None => {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let key = hex::encode(bytes);
            match create_private_file(&path, format!("{key}\n").as_bytes()) {
                Ok(()) => {
                    tracing::info!("generated the share-link secret in {}", path.display());
                    Ok(key.into_bytes())
                }
                // Another process sharing the data dir wrote it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_secret(&path)?
                    .with_context(|| format!("{} vanished while starting", path.display())),
                Err(e) => Err(e)
                    .with_context(|| format!("cannot write the secret file {}", path.display())),
            }
        }
    }
}

fn read_secret(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let key = text.trim();
            if key.len() < 32 {
                bail!(
                    "the secret file {} is too short to be a key; delete it to generate a new one \
                     (share links made so far stop working)",
                    path.display()
                );
            }
            warn_if_readable_by_others(path);
            Ok(Some(key.as_bytes().to_vec()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read the secret file {}", path.display())),
    }
}

#[cfg(unix)]
fn create_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn create_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "the secret file {} can be read by other users; run `chmod 600` on it",
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
    use crate::config::Layer;

    fn config(dir: &Path, secret: Option<&str>) -> Config {
        Config::resolve(
            Layer {
                data_dir: Some(dir.to_path_buf()),
                secret: secret.map(str::to_string),
                ..Layer::default()
            },
            None,
        )
        .unwrap()
    }

    #[test]
    fn the_secret_is_generated_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), None);
        let first = share_key(&c).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(share_key(&c).unwrap(), first, "stable across restarts");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(c.secret_path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let configured = config(dir.path(), Some("configured-secret-0123456789"));
        assert_eq!(
            share_key(&configured).unwrap(),
            b"configured-secret-0123456789"
        );
    }

    #[test]
    fn a_damaged_secret_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), None);
        fs::write(c.secret_path(), "short\n").unwrap();
        let err = share_key(&c).unwrap_err().to_string();
        assert!(err.contains("delete it"), "{err}");
    }

    #[test]
    fn the_first_admin_is_created_once() {
        let catalog = SqliteCatalog::open_in_memory().unwrap();
        let first = bootstrap_admin(&catalog, None).unwrap();
        let Some(FirstAdmin::Generated(password)) = first else {
            panic!("expected a generated password, got {first:?}");
        };
        let creds = catalog.credentials(FIRST_ADMIN).unwrap().unwrap();
        assert_eq!(creds.user.role, Role::Admin);
        assert!(crate::auth::verify_password(
            &password,
            &creds.password_hash
        ));
        assert_eq!(
            bootstrap_admin(&catalog, None).unwrap(),
            None,
            "only when empty"
        );

        let configured = SqliteCatalog::open_in_memory().unwrap();
        assert_eq!(
            bootstrap_admin(&configured, Some("from the config")).unwrap(),
            Some(FirstAdmin::Configured)
        );
        let creds = configured.credentials(FIRST_ADMIN).unwrap().unwrap();
        assert!(crate::auth::verify_password(
            "from the config",
            &creds.password_hash
        ));
    }
}
