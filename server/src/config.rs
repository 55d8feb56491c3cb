//! Settings: a TOML file, then `CADENZA_*` environment variables, then command-line flags,
//! each layer overriding the one before (flags win), then defaults for whatever is left.
//!
//! Every source is parsed into the same [`Layer`] (all fields optional); [`Config::resolve`]
//! merges the layers, fills defaults and validates. Secrets (admin password, share-link secret)
//! come only from the file or the environment, never from flags, which `ps` would show.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use cadenza_units::{ByteSize, Span};
use clap::Parser;
use serde::Deserialize;
use thiserror::Error;

pub use crate::volumes::{Place, S3Spec, VolumeSpec};

pub const DEFAULT_MAX_UPLOAD: u64 = 1 << 30;
pub const DEFAULT_CACHE: u64 = 64 << 20;
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(30 * 86_400);
pub const DEFAULT_SHARE_TTL: Duration = Duration::from_secs(7 * 86_400);
pub const DEFAULT_SHARE_MAX_TTL: Duration = Duration::from_secs(30 * 86_400);
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
pub const DEFAULT_PODCAST_REFRESH: Duration = Duration::from_secs(3_600);
pub const DEFAULT_VOLUMES: usize = 3;
pub const DEFAULT_REPLICATION: usize = 3;
pub const DEFAULT_CDN_URL_TTL: Duration = Duration::from_secs(600);

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    ParseFile { path: PathBuf, message: String },
    #[error("environment variable {key}: {message}")]
    Env { key: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The command line. Every flag also has a `CADENZA_*` variable and a config-file key.
#[derive(Debug, Default, Clone, Parser)]
#[command(
    name = "cadenza-server",
    version,
    about = "Cadenza music server: catalog, replicated audio storage and the streaming HTTP API",
    after_help = "Settings come from a TOML file (--config), then CADENZA_* environment variables, \
then these flags; later ones win. The file keys are the flag names with `_` for `-` \
(e.g. max_upload = \"512MiB\", volumes = [\"vol1=/mnt/a\", \"vol2=/mnt/b\"]). \
To move a SQLite catalog into PostgreSQL: `cadenza-server catalog copy --from sqlite:PATH --to postgres://...`. \
A SIZE is bytes or has a unit: 512MiB, 5MB (KB = 1000 bytes, KiB = 1024). \
A DURATION is seconds or has a unit: 90, 45s, 15m, 12h, 30d, 1h30m. \
Secrets are read only from the file or the environment: admin_password / CADENZA_ADMIN_PASSWORD \
(the first admin's password) and secret / CADENZA_SECRET (share-link signing key, which must be \
the same on every copy of the server behind a load balancer) and cdn_secret / CADENZA_CDN_SECRET \
(turns on CDN mode: streams redirect to signed /cdn/blobs/HASH links; the same secret goes into \
the edge's secure_link_md5)."
)]
pub struct Cli {
    /// TOML config file [env: CADENZA_CONFIG]
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on; port 0 picks a free port [env: CADENZA_LISTEN] [default: 127.0.0.1:4533]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Folder for the catalog, staging area and default volumes [env: CADENZA_DATA_DIR]
    /// [default: the per-user data folder + /cadenza]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// A blob volume, repeatable: a directory (relative paths are inside the data dir) or
    /// NAME=s3://BUCKET/PREFIX?endpoint=URL[&region=R][&anonymous=true][&credentials_file=F]
    /// (S3 keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY otherwise)
    /// [env: CADENZA_VOLUMES, comma-separated] [default: 3 volumes in DATA_DIR/volumes]
    #[arg(long = "volume", value_name = "[NAME=]PATH|NAME=s3://…")]
    pub volumes: Vec<VolumeSpec>,

    /// Copies kept of every blob (R); at most the number of volumes [env: CADENZA_REPLICATION] [default: 3]
    #[arg(long, value_name = "R")]
    pub replication: Option<usize>,

    /// Largest accepted upload, e.g. 512MiB [env: CADENZA_MAX_UPLOAD] [default: 1GiB]
    #[arg(long, visible_alias = "max-upload-bytes", value_name = "SIZE")]
    pub max_upload: Option<ByteSize>,

    /// Memory for recently streamed small blobs; 0 turns the cache off [env: CADENZA_CACHE] [default: 64MiB]
    #[arg(long, visible_alias = "cache-bytes", value_name = "SIZE")]
    pub cache: Option<ByteSize>,

    /// Lifetime of a login token, e.g. 30d [env: CADENZA_TOKEN_TTL] [default: 30d]
    #[arg(long, value_name = "DURATION")]
    pub token_ttl: Option<Span>,

    /// Default lifetime of a share link [env: CADENZA_SHARE_TTL] [default: 7d]
    #[arg(long, value_name = "DURATION")]
    pub share_ttl: Option<Span>,

    /// Longest lifetime a share link may ask for [env: CADENZA_SHARE_MAX_TTL] [default: 30d]
    #[arg(long, value_name = "DURATION")]
    pub share_max_ttl: Option<Span>,

    /// Public base URL used in share links, e.g. https://music.example.com
    /// [env: CADENZA_PUBLIC_URL] [default: from the request's Host header]
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,

    /// Log filter, e.g. info or cadenza_server=debug [env: CADENZA_LOG_LEVEL or RUST_LOG] [default: info]
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,

    /// How long in-flight requests may run after SIGINT/SIGTERM [env: CADENZA_SHUTDOWN_GRACE] [default: 30s]
    #[arg(long, value_name = "DURATION")]
    pub shutdown_grace: Option<Span>,

    /// The catalog: postgres://USER:PASSWORD@HOST:PORT/DATABASE for PostgreSQL, or
    /// sqlite:PATH [env: CADENZA_CATALOG] [default: DATA_DIR/catalog.sqlite]. A password given
    /// here shows in `ps`: prefer the environment or the config file for it
    #[arg(long, value_name = "URL")]
    pub catalog: Option<String>,

    /// A PostgreSQL read replica of the catalog, repeatable
    /// [env: CADENZA_CATALOG_REPLICAS, comma-separated]
    #[arg(long = "catalog-replica", value_name = "URL")]
    pub catalog_replicas: Vec<String>,

    /// Replicas further behind the primary than this serve no reads
    /// [env: CADENZA_MAX_REPLICA_LAG] [default: 5s]
    #[arg(long, value_name = "DURATION")]
    pub max_replica_lag: Option<Span>,

    /// This copy's name in the X-Cadenza-Server response header and /metrics
    /// [env: CADENZA_INSTANCE] [default: HOSTNAME:PORT]
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,

    /// Lifetime of the signed CDN links streams redirect to (CDN mode only)
    /// [env: CADENZA_CDN_URL_TTL] [default: 10m]
    #[arg(long, value_name = "DURATION")]
    pub cdn_url_ttl: Option<Span>,

    /// The edge's (nginx's) access log in Cadenza's edge format, read for CDN hits and misses
    /// and requests per server in /metrics and admin stats [env: CADENZA_EDGE_LOG]
    #[arg(long, value_name = "FILE")]
    pub edge_log: Option<PathBuf>,
    /// How often the server reads every podcast feed for new episodes; 0 turns it off
    /// [env: CADENZA_PODCAST_REFRESH] [default: 1h]
    #[arg(long, value_name = "DURATION")]
    pub podcast_refresh: Option<Span>,
}

/// One source of settings; `None` means "this source does not say".
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub volumes: Option<Vec<VolumeSpec>>,
    pub replication: Option<usize>,
    #[serde(alias = "max_upload_bytes")]
    pub max_upload: Option<ByteSize>,
    #[serde(alias = "cache_bytes")]
    pub cache: Option<ByteSize>,
    pub token_ttl: Option<Span>,
    pub share_ttl: Option<Span>,
    pub share_max_ttl: Option<Span>,
    pub public_url: Option<String>,
    pub admin_password: Option<String>,
    pub secret: Option<String>,
    pub log_level: Option<String>,
    pub shutdown_grace: Option<Span>,
    pub catalog: Option<String>,
    pub catalog_replicas: Option<Vec<String>>,
    pub max_replica_lag: Option<Span>,
    pub instance: Option<String>,
    pub cdn_secret: Option<String>,
    pub cdn_url_ttl: Option<Span>,
    pub edge_log: Option<PathBuf>,
    pub podcast_refresh: Option<Span>,
}

impl Layer {
    /// `self` with every setting `over` gives replaced.
    pub fn overridden_by(self, over: Layer) -> Layer {
        Layer {
            listen: over.listen.or(self.listen),
            data_dir: over.data_dir.or(self.data_dir),
            volumes: over.volumes.or(self.volumes),
            replication: over.replication.or(self.replication),
            max_upload: over.max_upload.or(self.max_upload),
            cache: over.cache.or(self.cache),
            token_ttl: over.token_ttl.or(self.token_ttl),
            share_ttl: over.share_ttl.or(self.share_ttl),
            share_max_ttl: over.share_max_ttl.or(self.share_max_ttl),
            public_url: over.public_url.or(self.public_url),
            admin_password: over.admin_password.or(self.admin_password),
            secret: over.secret.or(self.secret),
            log_level: over.log_level.or(self.log_level),
            shutdown_grace: over.shutdown_grace.or(self.shutdown_grace),
            catalog: over.catalog.or(self.catalog),
            catalog_replicas: over.catalog_replicas.or(self.catalog_replicas),
            max_replica_lag: over.max_replica_lag.or(self.max_replica_lag),
            instance: over.instance.or(self.instance),
            cdn_secret: over.cdn_secret.or(self.cdn_secret),
            cdn_url_ttl: over.cdn_url_ttl.or(self.cdn_url_ttl),
            edge_log: over.edge_log.or(self.edge_log),
            podcast_refresh: over.podcast_refresh.or(self.podcast_refresh),
        }
    }

    pub fn from_toml(path: &Path, text: &str) -> Result<Layer, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::ParseFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The `CADENZA_*` variables among `vars` (`RUST_LOG` too, below `CADENZA_LOG_LEVEL`).
    /// Unknown `CADENZA_*` names come back as warnings: a typo should not pass silently.
    pub fn from_env(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Layer, Vec<String>), ConfigError> {
        fn parse<T: FromStr>(key: &str, value: &str) -> Result<T, ConfigError>
        where
            T::Err: fmt::Display,
        {
            value.trim().parse().map_err(|e: T::Err| ConfigError::Env {
                key: key.to_string(),
                message: format!("cannot use `{value}`: {e}"),
            })
        }
        let mut layer = Layer::default();
        let mut warnings = Vec::new();
        let mut rust_log = None;
        for (key, value) in vars {
            let v = value.as_str();
            match key.as_str() {
                "RUST_LOG" => rust_log = Some(value.clone()),
                "CADENZA_CONFIG" => {} // names the file itself; see `config_file`
                "CADENZA_LISTEN" => layer.listen = Some(parse(&key, v)?),
                "CADENZA_DATA_DIR" => layer.data_dir = Some(PathBuf::from(v)),
                "CADENZA_VOLUMES" => {
                    let specs = v
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| parse(&key, s))
                        .collect::<Result<Vec<VolumeSpec>, _>>()?;
                    layer.volumes = Some(specs);
                }
                "CADENZA_REPLICATION" => layer.replication = Some(parse(&key, v)?),
                "CADENZA_MAX_UPLOAD" | "CADENZA_MAX_UPLOAD_BYTES" => {
                    layer.max_upload = Some(parse(&key, v)?)
                }
                "CADENZA_CACHE" | "CADENZA_CACHE_BYTES" => layer.cache = Some(parse(&key, v)?),
                "CADENZA_TOKEN_TTL" => layer.token_ttl = Some(parse(&key, v)?),
                "CADENZA_SHARE_TTL" => layer.share_ttl = Some(parse(&key, v)?),
                "CADENZA_SHARE_MAX_TTL" => layer.share_max_ttl = Some(parse(&key, v)?),
                "CADENZA_PUBLIC_URL" => layer.public_url = Some(value.clone()),
                "CADENZA_ADMIN_PASSWORD" => layer.admin_password = Some(value.clone()),
                "CADENZA_SECRET" => layer.secret = Some(value.clone()),
                "CADENZA_LOG_LEVEL" => layer.log_level = Some(value.clone()),
                "CADENZA_SHUTDOWN_GRACE" => layer.shutdown_grace = Some(parse(&key, v)?),
                "CADENZA_CATALOG" => layer.catalog = Some(value.clone()),
                "CADENZA_CATALOG_REPLICAS" => {
                    let urls = v.split(',').map(str::trim).filter(|s| !s.is_empty());
                    layer.catalog_replicas = Some(urls.map(String::from).collect());
                }
                "CADENZA_MAX_REPLICA_LAG" => layer.max_replica_lag = Some(parse(&key, v)?),
                "CADENZA_INSTANCE" => layer.instance = Some(value.clone()),
                "CADENZA_CDN_SECRET" => layer.cdn_secret = Some(value.clone()),
                "CADENZA_CDN_URL_TTL" => layer.cdn_url_ttl = Some(parse(&key, v)?),
                "CADENZA_EDGE_LOG" => layer.edge_log = Some(PathBuf::from(v)),
                "CADENZA_PODCAST_REFRESH" => layer.podcast_refresh = Some(parse(&key, v)?),
                other if other.starts_with("CADENZA_") => warnings.push(format!(
                    "ignoring unknown environment variable {other} (see `cadenza-server --help`)"
                )),
                _ => {}
            }
        }
        if layer.log_level.is_none() {
            layer.log_level = rust_log;
        }
        Ok((layer, warnings))
    }
}

impl Cli {
    /// The flags given, as a layer.
    pub fn layer(&self) -> Layer {
        Layer {
            listen: self.listen,
            data_dir: self.data_dir.clone(),
            volumes: (!self.volumes.is_empty()).then(|| self.volumes.clone()),
            replication: self.replication,
            max_upload: self.max_upload,
            cache: self.cache,
            token_ttl: self.token_ttl,
            share_ttl: self.share_ttl,
            share_max_ttl: self.share_max_ttl,
            public_url: self.public_url.clone(),
            admin_password: None,
            secret: None,
            log_level: self.log_level.clone(),
            shutdown_grace: self.shutdown_grace,
            catalog: self.catalog.clone(),
            catalog_replicas: (!self.catalog_replicas.is_empty())
                .then(|| self.catalog_replicas.clone()),
            max_replica_lag: self.max_replica_lag,
            instance: self.instance.clone(),
            cdn_secret: None,
            cdn_url_ttl: self.cdn_url_ttl,
            edge_log: self.edge_log.clone(),
            podcast_refresh: self.podcast_refresh,
        }
    }

    /// The config file to read: `--config`, else `CADENZA_CONFIG`.
    pub fn config_file(&self, env_value: Option<String>) -> Option<PathBuf> {
        self.config
            .clone()
            .or_else(|| env_value.filter(|v| !v.is_empty()).map(PathBuf::from))
    }
}

/// A volume with its stable name (placement hashes the name, so never rename one); a
/// directory's path is absolute.
pub type Volume = VolumeSpec;

/// The settings the server runs with, every default filled in and checked.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub volumes: Vec<Volume>,
    pub replication: usize,
    pub max_upload_bytes: u64,
    pub cache_bytes: u64,
    pub token_ttl: Duration,
    pub share_ttl: Duration,
    pub share_max_ttl: Duration,
    /// Base URL for share links, without a trailing slash.
    pub public_url: Option<String>,
    pub admin_password: Option<String>,
    pub secret: Option<String>,
    pub log_level: String,
    pub shutdown_grace: Duration,
    pub catalog: CatalogSetting,
    /// Replicas further behind than this serve no reads (PostgreSQL only).
    pub max_replica_lag: Duration,
    /// Name in `X-Cadenza-Server`; `None` means HOSTNAME:PORT once the port is bound.
    pub instance: Option<String>,
    /// CDN mode is on when set (see [`crate::cdn`]).
    pub cdn_secret: Option<String>,
    pub cdn_url_ttl: Duration,
    pub edge_log: Option<PathBuf>,
    /// Between two readings of every podcast feed; zero when the timer is off.
    pub podcast_refresh: Duration,
}

/// Where the catalog lives.
#[derive(Clone, PartialEq, Eq)]
pub enum CatalogSetting {
    /// One SQLite file (the default: `<data-dir>/catalog.sqlite`).
    Sqlite(PathBuf),
    /// A PostgreSQL primary and its read replicas, as connection strings.
    Postgres {
        primary: String,
        replicas: Vec<String>,
    },
}

// Connection strings may hold passwords: only hosts, ports and databases are shown.
impl fmt::Debug for CatalogSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogSetting::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            CatalogSetting::Postgres { primary, replicas } => f
                .debug_struct("Postgres")
                .field("primary", &cadenza_catalog::redacted(primary))
                .field(
                    "replicas",
                    &replicas
                        .iter()
                        .map(|r| cadenza_catalog::redacted(r))
                        .collect::<Vec<_>>(),
                )
                .finish(),
        }
    }
}

impl CatalogSetting {
    /// Reads `catalog = "..."`: a `postgres://` or `postgresql://` URL, or `sqlite:PATH`.
    fn parse(value: &str, replicas: Vec<String>) -> Result<CatalogSetting, ConfigError> {
        let value = value.trim();
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            for url in std::iter::once(value).chain(replicas.iter().map(String::as_str)) {
                if cadenza_catalog::redacted(url) == "<invalid>" {
                    return Err(ConfigError::Invalid(format!(
                        "the catalog connection string for {} is not valid; write \
                         postgres://USER:PASSWORD@HOST:PORT/DATABASE",
                        url.split('@').next_back().unwrap_or("it")
                    )));
                }
            }
            return Ok(CatalogSetting::Postgres {
                primary: value.to_string(),
                replicas,
            });
        }
        let path = match value.strip_prefix("sqlite:") {
            Some(path) if !path.trim().is_empty() => PathBuf::from(path.trim()),
            _ => {
                return Err(ConfigError::Invalid(
                    "catalog must be postgres://USER:PASSWORD@HOST:PORT/DATABASE or \
                     sqlite:PATH"
                        .into(),
                ))
            }
        };
        if !replicas.is_empty() {
            return Err(ConfigError::Invalid(
                "catalog_replicas needs a PostgreSQL catalog (catalog = \"postgres://...\")".into(),
            ));
        }
        Ok(CatalogSetting::Sqlite(path))
    }
}

// Hand-written so secrets never reach a log line.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |set: bool| if set { "<set>" } else { "<unset>" };
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("volumes", &self.volumes)
            .field("replication", &self.replication)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("cache_bytes", &self.cache_bytes)
            .field("token_ttl", &self.token_ttl)
            .field("share_ttl", &self.share_ttl)
            .field("share_max_ttl", &self.share_max_ttl)
            .field("public_url", &self.public_url)
            .field("admin_password", &hidden(self.admin_password.is_some()))
            .field("secret", &hidden(self.secret.is_some()))
            .field("log_level", &self.log_level)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("catalog", &self.catalog)
            .field("max_replica_lag", &self.max_replica_lag)
            .field("instance", &self.instance)
            .field("cdn_secret", &hidden(self.cdn_secret.is_some()))
            .field("cdn_url_ttl", &self.cdn_url_ttl)
            .field("edge_log", &self.edge_log)
            .field("podcast_refresh", &self.podcast_refresh)
            .finish()
    }
}

impl Config {
    /// Reads the config file (if any) and the environment, applies the flags, fills defaults.
    /// Returns warnings worth logging once logging is up.
    pub fn load(
        cli: &Cli,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Config, Vec<String>), ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let config_env = env
            .iter()
            .find(|(k, _)| k == "CADENZA_CONFIG")
            .map(|(_, v)| v.clone());
        let file = match cli.config_file(config_env) {
            Some(path) => {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| ConfigError::ReadFile {
                        path: path.clone(),
                        source,
                    })?;
                Layer::from_toml(&path, &text)?
            }
            None => Layer::default(),
        };
        let (env_layer, warnings) = Layer::from_env(env)?;
        let merged = file.overridden_by(env_layer).overridden_by(cli.layer());
        let config = Config::resolve(merged, dirs::data_dir())?;
        Ok((config, warnings))
    }

    /// Fills defaults into the merged layer and checks the result.
    /// `user_data_dir` is the platform's per-user data folder (for the default data dir).
    pub fn resolve(layer: Layer, user_data_dir: Option<PathBuf>) -> Result<Config, ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let data_dir = match layer.data_dir {
            Some(dir) => dir,
            None => match user_data_dir {
                Some(dir) => dir.join("cadenza"),
                None => return invalid(
                    "cannot find a per-user data folder on this system; give one with --data-dir"
                        .into(),
                ),
            },
        };
        let specs = layer.volumes.unwrap_or_else(|| {
            (1..=DEFAULT_VOLUMES)
                .map(|i| VolumeSpec {
                    name: format!("vol{i}"),
                    place: Place::Dir(PathBuf::from("volumes").join(format!("vol{i}"))),
                })
                .collect()
        });
        if specs.is_empty() {
            return invalid("at least one volume is needed".into());
        }
        let mut volumes: Vec<Volume> = Vec::with_capacity(specs.len());
        for spec in specs {
            if volumes.iter().any(|v| v.name == spec.name) {
                return invalid(format!(
                    "two volumes are named `{}`; give each a distinct name with NAME=PATH",
                    spec.name
                ));
            }
            let place = match spec.place {
                Place::Dir(path) if path.is_relative() => Place::Dir(data_dir.join(path)),
                place => place,
            };
            volumes.push(Volume {
                name: spec.name,
                place,
            });
        }
        let replication = layer
            .replication
            .unwrap_or(DEFAULT_REPLICATION.min(volumes.len()));
        if replication == 0 || replication > volumes.len() {
            return invalid(format!(
                "replication {replication} does not fit {} volume(s); it must be between 1 and the number of volumes",
                volumes.len()
            ));
        }
        let token_ttl = layer.token_ttl.map_or(DEFAULT_TOKEN_TTL, |s| s.0);
        // Tokens and share links count whole seconds.
        let second = Duration::from_secs(1);
        if token_ttl < second {
            return invalid("token_ttl must be at least 1s".into());
        }
        let share_max_ttl = layer.share_max_ttl.map_or(DEFAULT_SHARE_MAX_TTL, |s| s.0);
        let share_ttl = layer
            .share_ttl
            .map_or(DEFAULT_SHARE_TTL.min(share_max_ttl), |s| s.0);
        if share_ttl < second || share_ttl > share_max_ttl {
            return invalid(format!(
                "share_ttl ({}s) must be between 1s and share_max_ttl ({}s)",
                share_ttl.as_secs(),
                share_max_ttl.as_secs()
            ));
        }
        let public_url = match layer.public_url {
            Some(url) if url.trim().is_empty() => None,
            Some(url) => {
                let url = url.trim().trim_end_matches('/').to_string();
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return invalid(format!(
                        "public_url `{url}` must start with http:// or https://"
                    ));
                }
                Some(url)
            }
            None => None,
        };
        if let Some(secret) = &layer.secret {
            if secret.len() < 16 {
                return invalid(
                    "secret must be at least 16 characters (32 random bytes in hex is good); \
                     leave it unset to generate one"
                        .into(),
                );
            }
        }
        if layer.cdn_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return invalid(
                "cdn_secret must be at least 16 characters (32 random bytes in hex is good); \
                 it must also be in the edge's secure_link_md5 line"
                    .into(),
            );
        }
        if let Some(secret) = &layer.cdn_secret {
            // nginx's config string ends at a quote, and the signed text ends with the secret.
            if secret
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '\\')
            {
                return invalid(
                    "cdn_secret must not contain spaces, quotes or backslashes \
                     (it is written into nginx's secure_link_md5 line)"
                        .into(),
                );
            }
        }
        let cdn_url_ttl = layer.cdn_url_ttl.map_or(DEFAULT_CDN_URL_TTL, |s| s.0);
        if cdn_url_ttl < second {
            return invalid("cdn_url_ttl must be at least 1s".into());
        }
        let instance = match layer.instance {
            Some(name) if name.trim().is_empty() => None,
            Some(name) => {
                let name = name.trim().to_string();
                if !name.chars().all(|c| c.is_ascii_graphic()) {
                    return invalid(format!(
                        "instance `{name}` must be printable ASCII without spaces (it is sent in a header)"
                    ));
                }
                Some(name)
            }
            None => None,
        };
        if let Some(password) = &layer.admin_password {
            crate::auth::check_password_strength(password)
                .map_err(|m| ConfigError::Invalid(format!("admin_password: {m}")))?;
        }
        let replicas = layer.catalog_replicas.unwrap_or_default();
        let catalog = match &layer.catalog {
            Some(value) => CatalogSetting::parse(value, replicas)?,
            None if replicas.is_empty() => CatalogSetting::Sqlite(data_dir.join("catalog.sqlite")),
            None => {
                return invalid(
                    "catalog_replicas needs a PostgreSQL catalog (catalog = \"postgres://...\")"
                        .into(),
                )
            }
        };
        let catalog = match catalog {
            CatalogSetting::Sqlite(path) if path.is_relative() => {
                CatalogSetting::Sqlite(data_dir.join(path))
            }
            other => other,
        };
        Ok(Config {
            catalog,
            max_replica_lag: layer
                .max_replica_lag
                .map_or(cadenza_catalog::PgOptions::DEFAULT_MAX_REPLICA_LAG, |s| s.0),
            listen: layer
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], cadenza_api::DEFAULT_PORT))),
            data_dir,
            volumes,
            replication,
            max_upload_bytes: layer.max_upload.map_or(DEFAULT_MAX_UPLOAD, |b| b.0),
            cache_bytes: layer.cache.map_or(DEFAULT_CACHE, |b| b.0),
            token_ttl,
            share_ttl,
            share_max_ttl,
            public_url,
            admin_password: layer.admin_password,
            secret: layer.secret,
            log_level: layer.log_level.unwrap_or_else(|| "info".into()),
            shutdown_grace: layer.shutdown_grace.map_or(DEFAULT_SHUTDOWN_GRACE, |s| s.0),
            instance,
            cdn_secret: layer.cdn_secret,
            cdn_url_ttl,
            edge_log: layer.edge_log,
            podcast_refresh: layer
                .podcast_refresh
                .map_or(DEFAULT_PODCAST_REFRESH, |s| s.0),
        })
    }

    pub fn staging_dir(&self) -> PathBuf {
        self.data_dir.join("staging")
    }

    pub fn secret_path(&self) -> PathBuf {
        self.data_dir.join("secret")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn resolve(layer: Layer) -> Result<Config, ConfigError> {
        Config::resolve(layer, Some(PathBuf::from("/home/u/.local/share")))
    }

    #[test]
    fn defaults_fill_everything() {
        let c = resolve(Layer::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:4533");
        assert_eq!(c.data_dir, PathBuf::from("/home/u/.local/share/cadenza"));
        assert_eq!(c.volumes.len(), 3);
        assert_eq!(c.volumes[2].name, "vol3");
        assert_eq!(
            c.volumes[0].place,
            Place::Dir(PathBuf::from("/home/u/.local/share/cadenza/volumes/vol1"))
        );
        assert_eq!(c.replication, 3);
        assert_eq!(c.max_upload_bytes, DEFAULT_MAX_UPLOAD);
        assert_eq!(c.token_ttl, DEFAULT_TOKEN_TTL);
        assert_eq!(
            c.catalog,
            CatalogSetting::Sqlite(c.data_dir.join("catalog.sqlite"))
        );
        assert_eq!(c.log_level, "info");
    }

    #[test]
    fn file_then_env_then_flags() {
        let file = Layer::from_toml(
            Path::new("server.toml"),
            r#"
            listen = "127.0.0.1:1000"
            data_dir = "/from/file"
            max_upload = "10MiB"
            token_ttl = "12h"
            cache_bytes = 0
            public_url = "https://file.example/"
            "#,
        )
        .unwrap();
        let (env_layer, warnings) = Layer::from_env(env(&[
            ("CADENZA_LISTEN", "127.0.0.1:2000"),
            ("CADENZA_DATA_DIR", "/from/env"),
            ("CADENZA_TOKEN_TTL", "1d"),
            ("HOME", "/root"),
        ]))
        .unwrap();
        assert!(warnings.is_empty());
        let cli = Cli::try_parse_from([
            "cadenza-server",
            "--listen",
            "127.0.0.1:3000",
            "--max-upload-bytes",
            "2048",
        ])
        .unwrap();
        let merged = file.overridden_by(env_layer).overridden_by(cli.layer());
        let c = resolve(merged).unwrap();
        assert_eq!(c.listen.port(), 3000, "flag beats env and file");
        assert_eq!(c.data_dir, PathBuf::from("/from/env"), "env beats file");
        assert_eq!(c.token_ttl, Duration::from_secs(86_400), "env beats file");
        assert_eq!(c.max_upload_bytes, 2048, "flag (by its alias) beats file");
        assert_eq!(c.cache_bytes, 0);
        assert_eq!(c.public_url.as_deref(), Some("https://file.example"));
    }

    #[test]
    fn config_load_reads_the_named_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "replication = 2\nsecret = \"0123456789abcdef0123\"\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from(["cadenza-server", "--data-dir", "/d"]).unwrap();
        let (c, _) = Config::load(
            &cli,
            env(&[
                ("CADENZA_CONFIG", path.to_str().unwrap()),
                ("CADENZA_ADMIN_PASSWORD", "correct horse"),
            ]),
        )
        .unwrap();
        assert_eq!(c.replication, 2);
        assert_eq!(c.secret.as_deref(), Some("0123456789abcdef0123"));
        assert_eq!(c.admin_password.as_deref(), Some("correct horse"));
        assert!(
            !format!("{c:?}").contains("correct horse"),
            "secrets stay out of Debug"
        );

        let missing = Cli::try_parse_from(["cadenza-server", "--config", "/no/such.toml"]).unwrap();
        let err = Config::load(&missing, env(&[])).unwrap_err();
        assert!(err.to_string().contains("/no/such.toml"), "{err}");
    }

    #[test]
    fn volumes_from_flags_and_env() {
        let cli = Cli::try_parse_from([
            "cadenza-server",
            "--volume",
            "a=/mnt/a",
            "--volume",
            "/mnt/disk-b",
            "--replication",
            "2",
        ])
        .unwrap();
        let c = resolve(cli.layer()).unwrap();
        assert_eq!(
            c.volumes,
            vec![
                Volume {
                    name: "a".into(),
                    place: Place::Dir("/mnt/a".into())
                },
                Volume {
                    name: "disk-b".into(),
                    place: Place::Dir("/mnt/disk-b".into())
                },
            ]
        );
        let (layer, _) = Layer::from_env(env(&[("CADENZA_VOLUMES", "x=rel/x, y=/abs/y")])).unwrap();
        let c = resolve(layer).unwrap();
        assert_eq!(c.volumes[0].place, Place::Dir(c.data_dir.join("rel/x")));
        assert_eq!(c.replication, 2, "the default R is capped by N");
    }

    #[test]
    fn bad_settings_are_refused_with_a_reason() {
        let bad = |layer: Layer| resolve(layer).unwrap_err().to_string();
        assert!(bad(Layer {
            replication: Some(4),
            ..Layer::default()
        })
        .contains("between 1 and the number of volumes"));
        assert!(bad(Layer {
            volumes: Some(vec!["a=/x".parse().unwrap(), "a=/y".parse().unwrap()]),
            ..Layer::default()
        })
        .contains("two volumes are named `a`"));
        assert!(bad(Layer {
            share_ttl: Some(Span::from_secs(100)),
            share_max_ttl: Some(Span::from_secs(10)),
            ..Layer::default()
        })
        .contains("share_max_ttl"));
        assert!(bad(Layer {
            public_url: Some("music.example".into()),
            ..Layer::default()
        })
        .contains("http://"));
        assert!(bad(Layer {
            secret: Some("short".into()),
            ..Layer::default()
        })
        .contains("at least 16"));
        assert!("=/x".parse::<VolumeSpec>().is_err());
        assert!("a b=/x".parse::<VolumeSpec>().is_err());

        let err = Layer::from_env(env(&[("CADENZA_REPLICATION", "three")])).unwrap_err();
        assert!(err.to_string().contains("CADENZA_REPLICATION"), "{err}");
        let err = Layer::from_toml(Path::new("f.toml"), "listne = \"x\"").unwrap_err();
        assert!(err.to_string().contains("listne"), "{err}");
        assert!(Cli::try_parse_from(["cadenza-server", "--max-upload", "lots"]).is_err());
    }

    #[test]
    fn the_catalog_is_sqlite_in_the_data_dir_unless_postgres_is_configured() {
        let c = resolve(Layer::default()).unwrap();
        assert_eq!(
            c.catalog,
            CatalogSetting::Sqlite(c.data_dir.join("catalog.sqlite"))
        );
        let (env_layer, _) = Layer::from_env(env(&[
            ("CADENZA_CATALOG", "postgres://u:hunter2@db:5432/music"),
            (
                "CADENZA_CATALOG_REPLICAS",
                "postgres://u:hunter2@r1/music, postgres://u@r2/music",
            ),
            ("CADENZA_MAX_REPLICA_LAG", "10s"),
        ]))
        .unwrap();
        let c = resolve(env_layer).unwrap();
        assert_eq!(
            c.catalog,
            CatalogSetting::Postgres {
                primary: "postgres://u:hunter2@db:5432/music".into(),
                replicas: vec![
                    "postgres://u:hunter2@r1/music".into(),
                    "postgres://u@r2/music".into()
                ],
            }
        );
        assert_eq!(c.max_replica_lag, Duration::from_secs(10));
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db:5432/music"), "{shown}");

        let file = Layer::from_toml(
            Path::new("f.toml"),
            "catalog = \"sqlite:cat.db\"\ndata_dir = \"/d\"",
        )
        .unwrap();
        assert_eq!(
            resolve(file).unwrap().catalog,
            CatalogSetting::Sqlite("/d/cat.db".into())
        );
        let cli = Cli::try_parse_from([
            "cadenza-server",
            "--catalog",
            "postgresql://a/b",
            "--catalog-replica",
            "postgresql://c/b",
        ])
        .unwrap();
        assert!(matches!(
            resolve(cli.layer()).unwrap().catalog,
            CatalogSetting::Postgres { replicas, .. } if replicas.len() == 1
        ));

        let bad = |layer: Layer| resolve(layer).unwrap_err().to_string();
        let err = bad(Layer {
            catalog: Some("mysql://x".into()),
            ..Layer::default()
        });
        assert!(err.contains("postgres://USER"), "{err}");
        let err = bad(Layer {
            catalog_replicas: Some(vec!["postgres://r/db".into()]),
            ..Layer::default()
        });
        assert!(err.contains("needs a PostgreSQL catalog"), "{err}");
        let err = bad(Layer {
            catalog: Some("postgres://u:hunter2@h:port/db".into()),
            ..Layer::default()
        });
        assert!(
            !err.contains("hunter2") && err.contains("not valid"),
            "{err}"
        );
    }

    #[test]
    fn unit_mistakes_name_the_value_and_a_good_one() {
        let err = Layer::from_env(env(&[("CADENZA_MAX_UPLOAD", "2G")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CADENZA_MAX_UPLOAD") && err.contains("'2G'"),
            "{err}"
        );
        assert!(err.contains("GiB") && err.contains("512MiB"), "{err}");
        let err = Layer::from_toml(Path::new("f.toml"), "cache = \"64Mb\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("'64Mb' is in bits"), "{err}");
        let err = Cli::try_parse_from(["cadenza-server", "--shutdown-grace", "1:75"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'1:75'") && err.contains("such as 90"),
            "{err}"
        );
        let err = resolve(Layer {
            token_ttl: Some("0.5s".parse().unwrap()),
            ..Layer::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("at least 1s"), "{err}");
        let cli = Cli::try_parse_from(["cadenza-server", "--shutdown-grace", "1m30s"]).unwrap();
        assert_eq!(cli.shutdown_grace, Some(Span::from_secs(90)));
    }

    #[test]
    fn unknown_env_names_warn_and_rust_log_is_a_fallback() {
        let (layer, warnings) =
            Layer::from_env(env(&[("CADENZA_LISTN", "x"), ("RUST_LOG", "debug")])).unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("CADENZA_LISTN"));
        assert_eq!(layer.log_level.as_deref(), Some("debug"));
        let (layer, _) =
            Layer::from_env(env(&[("RUST_LOG", "debug"), ("CADENZA_LOG_LEVEL", "warn")])).unwrap();
        assert_eq!(layer.log_level.as_deref(), Some("warn"));
    }

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!("512KiB".parse::<ByteSize>(), Ok(ByteSize(512 << 10)));
        assert_eq!("10 MB".parse::<ByteSize>(), Ok(ByteSize(10_000_000)));
        assert_eq!("1GiB".parse::<ByteSize>(), Ok(ByteSize(1 << 30)));
        assert_eq!("42".parse::<ByteSize>(), Ok(ByteSize(42)));
        assert!("MiB".parse::<ByteSize>().is_err());
        assert!("99999999999TiB".parse::<ByteSize>().is_err(), "overflow");
        assert_eq!("30d".parse::<Span>(), Ok(Span::from_secs(30 * 86_400)));
        assert_eq!("15m".parse::<Span>(), Ok(Span::from_secs(900)));
        assert_eq!("90".parse::<Span>(), Ok(Span::from_secs(90)));
        assert!("soon".parse::<Span>().is_err());
        let layer = Layer::from_toml(Path::new("f"), "max_upload = 100\nshare_ttl = 60").unwrap();
        assert_eq!(layer.max_upload, Some(ByteSize(100)));
        assert_eq!(layer.share_ttl, Some(Span::from_secs(60)));
    }
}
