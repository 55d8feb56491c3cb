//! `cadenza-bench`: the measuring helpers `scripts/bench.sh` calls. The script owns the
//! orchestration (processes, baselines, the table); this binary does what needs precise
//! timing or the catalog's own code.

mod calls;
mod latency;
mod queries;
mod search;
mod start;
#[cfg(test)]
mod test_support;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

use latency::{median, ms};

#[derive(Parser)]
#[command(
    name = "cadenza-bench",
    version,
    about = "Measuring helpers for scripts/bench.sh"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print a fixed list of realistic search queries built from a catalog, one per line.
    Queries {
        /// The catalog database (DATA_DIR/catalog.sqlite).
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Print `/api/v1/search?q=...&limit=N` request paths instead of the raw text.
        #[arg(long, value_name = "LIMIT")]
        paths: Option<u32>,
    },
    /// Time queries in process and print `key=value` figures (medians over the rounds).
    Search {
        #[arg(long)]
        db: PathBuf,
        /// A file of queries, one per line (from `queries`).
        #[arg(long)]
        queries: PathBuf,
        #[arg(long, value_enum)]
        engine: search::Engine,
        /// Results per group, as the player asks.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Use only this many of the queries, spread over the list.
        #[arg(long)]
        sample: Option<usize>,
        /// Also print the N slowest queries of the first round to stderr.
        #[arg(long, default_value_t = 0)]
        slowest: usize,
        /// Which groups Cadenza searches (the server's `type`); `all` is what the player asks.
        #[arg(long, value_enum, default_value_t = search::Group::All)]
        r#type: search::Group,
    },
    /// Time the catalog's other calls in process, one line per case: pages and details,
    /// song lookups, as-you-type and hostile searches, the hot chart, stats (wall and
    /// thread CPU time, p50 and p99).
    Calls {
        /// The catalog database (DATA_DIR/catalog.sqlite).
        #[arg(long)]
        db: PathBuf,
        /// Calls per case (stats: 3).
        #[arg(long, default_value_t = 200)]
        calls: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Also time recording plays: adds `--calls` plays by the first account.
        #[arg(long)]
        writes: bool,
    },
    /// Print what Cadenza's search returns for each query, one line each (total and ids of
    /// every group), to compare two builds' results.
    Results {
        #[arg(long)]
        db: PathBuf,
        /// A file of queries, one per line (from `queries`).
        #[arg(long)]
        queries: PathBuf,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Time SQL statements on a catalog (read-only), for profiling: rows and median time.
    Sql {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// A value for the next `?` parameter (bound as text), repeatable.
        #[arg(long = "param")]
        params: Vec<String>,
        /// Statements to time, each run `repeat` times.
        #[arg(required = true)]
        statements: Vec<String>,
    },
    /// Start a server, wait for `/readyz` to answer 200, print its pid, address and timings,
    /// and leave it running.
    Start {
        #[arg(long)]
        stdout: PathBuf,
        #[arg(long)]
        stderr: PathBuf,
        #[arg(long, default_value_t = 120)]
        timeout_secs: u64,
        /// The server program and its arguments.
        #[arg(required = true, last = true)]
        command: Vec<String>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Queries {
            db,
            count,
            seed,
            paths,
        } => {
            let list = queries::generate(&db, count, seed)?;
            let mut out = String::new();
            for q in list {
                match paths {
                    Some(limit) => out.push_str(&format!(
                        "/api/v1/search?q={}&limit={limit}\n",
                        queries::url_encode(&q)
                    )),
                    None => {
                        out.push_str(&q);
                        out.push('\n');
                    }
                }
            }
            print!("{out}");
        }
        Cmd::Search {
            db,
            queries,
            engine,
            limit,
            rounds,
            sample,
            slowest,
            r#type,
        } => {
            let text = std::fs::read_to_string(&queries)
                .with_context(|| format!("reading the queries {}", queries.display()))?;
            let mut list: Vec<String> = text
                .lines()
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            if let Some(m) = sample {
                list = search::sample(&list, m);
            }
            anyhow::ensure!(!list.is_empty(), "{} holds no queries", queries.display());
            let passes = search::run(&db, engine, r#type, &list, limit, rounds.max(1))?;
            let mut by_time: Vec<(Duration, &String)> =
                passes[0].times.iter().copied().zip(&list).collect();
            by_time.sort_by_key(|t| std::cmp::Reverse(t.0));
            for (t, q) in by_time.iter().take(slowest) {
                eprintln!("{:>10} ms  {q}", ms(*t));
            }
            let mid = |f: fn(&search::Pass) -> Duration| -> anyhow::Result<String> {
                Ok(ms(
                    median(passes.iter().map(f).collect()).context("no passes")?
                ))
            };
            println!(
                "queries={} rounds={} with_results={} p50_ms={} p99_ms={} max_ms={} mean_ms={}",
                list.len(),
                passes.len(),
                passes[0].with_results,
                mid(|p| p.summary.p50)?,
                mid(|p| p.summary.p99)?,
                mid(|p| p.summary.max)?,
                mid(|p| p.summary.mean)?,
            );
        }
        Cmd::Calls {
            db,
            calls,
            seed,
            writes,
        } => {
            for case in calls::run(&db, calls, seed, writes)? {
                println!("{case}");
            }
        }
        Cmd::Results {
            db,
            queries,
            limit,
            offset,
        } => {
            let text = std::fs::read_to_string(&queries)
                .with_context(|| format!("reading the queries {}", queries.display()))?;
            let list: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
            let page = cadenza_api::PageRequest { limit, offset };
            print!("{}", search::results(&db, &list, page)?);
        }
        Cmd::Sql {
            db,
            repeat,
            params,
            statements,
        } => {
            for sql in statements {
                let t = search::time_sql(&db, &sql, &params, repeat.max(1))?;
                println!(
                    "{:>10} ms  {:>8} rows  {:>3} reprepares  {sql}",
                    ms(t.median),
                    t.rows,
                    t.reprepares
                );
            }
        }
        Cmd::Start {
            stdout,
            stderr,
            timeout_secs,
            command,
        } => {
            let (program, args) = command.split_first().context("no server program given")?;
            let s = start::start(
                program,
                args,
                &stdout,
                &stderr,
                Duration::from_secs(timeout_secs),
            )?;
            println!(
                "pid={} url=http://{} listening_ms={} ready_ms={}",
                s.pid,
                s.addr,
                ms(s.listening),
                ms(s.ready)
            );
        }
    }
    Ok(())
}
