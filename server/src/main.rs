//! `cadenza-server`: parses flags, environment and config file, then runs the server.

use std::process::ExitCode;

use cadenza_server::{init_logging, run, Cli, Config};
use clap::Parser;

/// Threads for blocking work (catalog calls, cold file reads, password hashing). Hot
/// requests need none; tokio's default of 512 let a burst of cold streams start hundreds of
/// threads, each with its stack and malloc arena kept after the burst.
const MAX_BLOCKING_THREADS: usize = 32;

fn main() -> ExitCode {
    cadenza_server::allocator::tune();
    if std::env::args_os().nth(1).is_some_and(|a| a == "catalog") {
        return cadenza_server::catalog_command::main(std::env::args_os().skip(1));
    }
    let cli = Cli::parse();
    // Non-UTF-8 variables cannot be CADENZA_* settings we understand; skip them.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let (config, warnings) = match Config::load(&cli, env) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("cadenza-server: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = init_logging(&config.log_level) {
        eprintln!("cadenza-server: {e:#}");
        return ExitCode::from(2);
    }
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cadenza-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("cadenza-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}
