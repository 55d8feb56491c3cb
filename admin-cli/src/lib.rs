//! `cadenza-admin`: administers a Cadenza server through its HTTP API (never its files),
//! so it works the same on the server's machine or across the network.

mod capacity;
mod cli;
mod config;
mod connect;
pub mod errors;
mod ingest;
mod login;
mod podcasts;
mod replication;
mod songs;
mod stats;
mod ui;
mod users;

use anyhow::Result;
use clap::CommandFactory;

pub use cli::Cli;
use cli::{Command, ReplicationCommand, VolumesCommand};
use errors::Outcome;

/// Runs one command line to its outcome; errors are reported by the binary.
pub async fn run(cli: Cli) -> Result<Outcome> {
    let server = cli.server.as_deref();
    let json = cli.json;
    match &cli.command {
        Command::Login(args) => login::login(server, args, json).await,
        Command::Logout => login::logout(json).await,
        Command::Ingest(args) => ingest::run(server, args, json).await,
        Command::Replication(ReplicationCommand::Check(args)) => {
            replication::check(&connect::admin(server).await?, args, json).await
        }
        Command::Volumes(VolumesCommand::Drain { name }) => {
            replication::drain(&connect::admin(server).await?, name, json).await
        }
        Command::Users(command) => users::run(&connect::admin(server).await?, command, json).await,
        Command::Stats => stats::run(&connect::admin(server).await?, json).await,
        Command::Songs(command) => songs::run(&connect::admin(server).await?, command, json).await,
        Command::Podcasts(command) => {
            podcasts::run(&connect::admin(server).await?, command, json).await
        }
        Command::Capacity(args) => capacity::run(server, args, json).await,
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "cadenza-admin", &mut script);
            say!("{}", String::from_utf8_lossy(&script).trim_end());
            Ok(Outcome::Success)
        }
    }
}
