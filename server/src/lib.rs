//! cadenza-server: the HTTP API over the catalog (`cadenza-catalog`), the replicated blob
//! store (`cadenza-store`) and audio probing (`cadenza-media`).
//!
//! Layering (as in Polaris): catalog and store are services with no HTTP in them; this crate
//! wires them together ([`app`], [`startup`], [`upload`]), and its [`http`] module only
//! parses requests, calls services and maps errors. `main.rs` only parses flags and calls
//! [`run`].

pub mod app;
pub mod auth;
pub mod config;
pub mod http;
pub mod metrics;
pub mod server;
pub mod share;
pub mod startup;
pub mod upload;

use anyhow::Result;

pub use config::{Cli, Config};

/// Starts the server with `config` and serves until SIGINT or SIGTERM.
pub async fn run(config: Config) -> Result<()> {
    tracing::info!(?config, "starting");
    let app = startup::build_app(config).await?;
    let (listener, _addr) = server::bind(app.config.listen).await?;
    server::serve(app, listener, server::shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

/// Logs to stderr with the given filter (`info`, `cadenza_server=debug,warp=info`, ...).
pub fn init_logging(filter: &str) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).map_err(|e| {
        anyhow::anyhow!("`{filter}` is not a valid log filter ({e}); try `info` or `debug`")
    })?;
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}
