//! `cadenza-capacity`: size a music streaming deployment from assumptions.
//! Needs no network and no server; all the work is in the library.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

const EXAMPLES: &str = "\
Examples:
  cadenza-capacity                                  Spotify-scale defaults
  cadenza-capacity --users 2M --songs 500k --song-size 7MB
  cadenza-capacity --set cdn_hit_ratio=95% --markdown
  cadenza-capacity --sweep users=1e6..1e9:x10
  cadenza-capacity --print-scenario > launch.toml && cadenza-capacity --scenario launch.toml

Exit status: 0 ok, 2 bad input (the message names the flag, key or file).";

/// Capacity estimates for a music streaming service: storage, metadata,
/// bandwidth and servers, each shown with the formula and inputs behind it.
#[derive(Parser)]
#[command(name = "cadenza-capacity", version, after_help = EXAMPLES)]
struct Cli {
    #[command(flatten)]
    args: cadenza_capacity::CapacityArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cadenza_capacity::run(&cli.args, None) {
        Ok(report) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(report.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::SUCCESS,
                // A closed pipe (`| head`) is the reader's choice, not a failure.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cannot write the report: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_bad_input() { 2 } else { 1 })
        }
    }
}
