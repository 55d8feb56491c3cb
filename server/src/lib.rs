//! cadenza-server: the HTTP API over the catalog (`cadenza-catalog`), the replicated blob
//! store (`cadenza-store`) and audio probing (`cadenza-media`).
//!
//! Layering (as in Polaris): catalog and store are services with no HTTP in them; this crate
//! wires them together ([`app`], [`startup`], [`library`]), and its [`http`] module only
//! parses requests, calls services and maps errors. `main.rs` only parses flags and calls
//! [`run`].

pub mod allocator;
pub mod app;
pub mod auth;
pub mod blob_cache;
pub mod catalog_command;
pub mod catalog_health;
pub mod cdn;
pub mod client_credentials;
pub mod config;
pub mod edge_log;
pub mod http;
pub mod library;
pub mod log_noise;
pub mod metrics;
pub mod podcasts;
pub mod server;
pub mod share;
pub mod startup;
pub mod subsonic;
pub mod token_cache;
pub mod ttl_cache;
pub mod volumes;

use anyhow::Result;

pub use config::{Cli, Config};

/// Starts the server with `config` and serves until SIGINT or SIGTERM.
pub async fn run(config: Config) -> Result<()> {
    tracing::info!(?config, "starting");
    let app = startup::build_app(config).await?;
    let (listener, addr) = server::bind(app.config.listen).await?;
    app.name_instance(addr.port());
    server::serve(app, listener, server::shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

/// Logs to stderr with the given filter (`info`, `cadenza_server=debug,warp=info`, ...).
/// Below debug, [`log_noise`] keeps client hang-ups and similar non-problems out.
pub fn init_logging(filter: &str) -> Result<()> {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_new(filter).map_err(|e| {
        anyhow::anyhow!("`{filter}` is not a valid log filter ({e}); try `info` or `debug`")
    })?;
    let quiet =
        (filter.max_level_hint() < Some(LevelFilter::DEBUG)).then_some(log_noise::QuietNoise);
    use std::io::IsTerminal;
    let output = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    tracing_subscriber::registry()
        .with(filter)
        .with(quiet)
        .with(output)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}
