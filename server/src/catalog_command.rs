//! `cadenza-server catalog copy`: moves a SQLite catalog into PostgreSQL (see
//! [`cadenza_catalog::copy_sqlite_to_postgres`]). Run it with the server stopped, then start
//! the server with `catalog = "postgres://..."`.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use cadenza_catalog::{copy_sqlite_to_postgres, CopyError};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cadenza-server catalog",
    bin_name = "cadenza-server catalog",
    about = "Work on a catalog database with the server stopped"
)]
struct CatalogCli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Copy a SQLite catalog into a PostgreSQL database: every table with its ids, verified
    /// by row counts and checksums at the end. The source is not changed; a copy that stopped
    /// is resumed by running it again. Exit 2: the source or target cannot be used.
    Copy {
        /// The SQLite catalog: sqlite:PATH (e.g. sqlite:/var/lib/cadenza/catalog.sqlite)
        #[arg(long, value_name = "sqlite:PATH")]
        from: String,
        /// The PostgreSQL database: postgres://USER:PASSWORD@HOST:PORT/DATABASE. Without it,
        /// CADENZA_CATALOG is used (which keeps the password out of `ps`)
        #[arg(long, value_name = "URL")]
        to: Option<String>,
    },
}

/// Runs `cadenza-server catalog ...`; `args` starts with the program name.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match CatalogCli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Copy { from, to } => copy(&from, to),
    }
}

fn copy(from: &str, to: Option<String>) -> ExitCode {
    let fail = |code: u8, message: &str| {
        eprintln!("cadenza-server catalog copy: {message}");
        ExitCode::from(code)
    };
    let Some(path) = from.strip_prefix("sqlite:").filter(|p| !p.is_empty()) else {
        return fail(2, "--from must be sqlite:PATH, the SQLite catalog to copy");
    };
    let Some(to) = to.or_else(|| std::env::var("CADENZA_CATALOG").ok()) else {
        return fail(
            2,
            "give the PostgreSQL database with --to postgres://... or CADENZA_CATALOG",
        );
    };
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        return fail(
            2,
            "--to must be a postgres://USER:PASSWORD@HOST:PORT/DATABASE URL",
        );
    }
    let path = PathBuf::from(path);
    let mut err = std::io::stderr();
    let progress = |table: &str, done: u64, total: u64| {
        let _ = write!(err, "\rcopying {table}: {done} of {total} rows\x1b[K");
        if done == total {
            let _ = writeln!(err);
        }
    };
    match copy_sqlite_to_postgres(&path, &to, progress) {
        Ok(report) => {
            let rows: u64 = report.tables.iter().map(|(_, n)| n).sum();
            println!(
                "copied {} into {}: {rows} rows in {} tables ({} new in this run); every \
                 table's row count and checksum match",
                path.display(),
                cadenza_catalog::redacted(&to),
                report.tables.len(),
                report.inserted
            );
            for (table, n) in report.tables {
                println!("  {table:<18} {n}");
            }
            ExitCode::SUCCESS
        }
        Err(e @ (CopyError::Target(_) | CopyError::Source(_))) => fail(2, &e.to_string()),
        Err(e) => fail(1, &e.to_string()),
    }
}
