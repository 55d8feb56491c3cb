use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use cadenza_admin::{errors, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(errors::USAGE_OR_CONNECTION);
        }
    };
    let result = runtime.block_on(cadenza_admin::run(cli));
    // Hashing or probing threads of an interrupted ingest must not hold up the exit.
    runtime.shutdown_timeout(Duration::from_millis(500));
    match result {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) => {
            eprintln!("error: {}", errors::explain(&err));
            ExitCode::from(errors::exit_code(&err))
        }
    }
}
