//! `cadenza`: the terminal player. Thin: arguments, config and login, then the library runs.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};

use cadenza::audio::OutputChoice;
use cadenza::cache::Cache;
use cadenza::config::Config;
use cadenza::runtime::{Options, Runtime};
use cadenza::session::Session;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AudioArg {
    /// The default sound device, or silent playback when there is none.
    Auto,
    /// No sound: time still passes as if playing (for servers, CI, SSH).
    Null,
}

/// Find and play music from a Cadenza server, in the terminal.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Server URL, e.g. http://127.0.0.1:4533 (default: the saved login's, then the config's).
    #[arg(long, env = "CADENZA_SERVER")]
    server: Option<String>,
    /// Audio output.
    #[arg(long, value_enum, default_value = "auto")]
    audio: AudioArg,
    /// Config file (default: <config dir>/cadenza/config.toml): `server = "URL"`, the disk
    /// cache's size `cache_max = "2GiB"` (a size such as 500MB or 2GiB; KB = 1000 bytes,
    /// KiB = 1024; the old `cache_max_mb = 2048`, in MiB, is deprecated but still read), and
    /// [keys] and [colors] tables.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Cache folder (default: <cache dir>/cadenza).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Append one line per play you start to FILE: milliseconds from the key (or click) to
    /// the first decoded audio buffer handed to the output, whether it came from the cache or
    /// the network, and the song, e.g.
    /// `key_to_first_buffer_ms=13.2 input=enter source=cache song=42`. Plays that start by
    /// themselves (the queue moving on) or after a fetch (`a` on an album) are not timed.
    #[arg(long, env = "CADENZA_TIMINGS", value_name = "FILE")]
    timings: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config_path = args.config.clone().or_else(Config::default_path);
    let mut config = match &config_path {
        Some(path) => Config::load(path).map_err(anyhow::Error::msg)?,
        None => Config::default(),
    };
    if let Some(server) = &args.server {
        config.server = Some(server.clone());
    }

    let token_from_env = std::env::var("CADENZA_TOKEN").is_ok_and(|t| !t.trim().is_empty());
    // A token given in the environment is used as is, never written to disk.
    let session_path = if token_from_env {
        None
    } else {
        Session::default_path()
    };
    let session = match std::env::var("CADENZA_TOKEN") {
        Ok(token) if !token.trim().is_empty() => {
            let Some(server) = config.server.clone() else {
                bail!("CADENZA_TOKEN is set but no server is: give --server or CADENZA_SERVER");
            };
            Some(Session {
                server,
                token: token.trim().to_string(),
                username: String::new(),
            })
        }
        _ => Session::default_path()
            .as_deref()
            .and_then(Session::load)
            // A server named on the command line wins over a login saved for another one.
            .filter(|s| {
                args.server
                    .as_ref()
                    .is_none_or(|wanted| same_server(wanted, &s.server))
            }),
    };

    let cache_dir = match args.cache_dir.clone() {
        Some(dir) => dir,
        None => dirs::cache_dir()
            .context("cannot find a cache folder for this user; give --cache-dir")?
            .join("cadenza"),
    };
    let cache = Cache::open(&cache_dir, config.cache_max_bytes)
        .with_context(|| format!("cannot use the cache folder {}", cache_dir.display()))?;

    let audio = match args.audio {
        AudioArg::Auto => OutputChoice::Auto,
        AudioArg::Null => OutputChoice::Null,
    };
    let runtime = Runtime::start(Options {
        config,
        cache: Arc::new(cache),
        session_path,
        session,
        audio,
        timings: args.timings,
    })
    .context("cannot start the player")?;
    cadenza::terminal::run(runtime)
}

fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}
