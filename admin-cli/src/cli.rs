//! The command line: every command, flag and help text.

use std::path::PathBuf;

use cadenza_api::{Role, SongId};
use clap::{Args, Parser, Subcommand};

const MAIN_HELP: &str = "\
Connection:
  `login` stores a token in the config folder (mode 0600). CADENZA_SERVER and
  CADENZA_TOKEN override it, so scripts and CI need no login step.

Exit codes:
  0    everything succeeded
  1    the command ran but some items failed (bad files, lost blobs, unknown ids)
  2    usage error, or the server could not be reached or refused the login
  130  interrupted with Ctrl-C (re-running an ingest finishes the rest)

Examples:
  cadenza-admin login --server http://music.example:4533
  cadenza-admin ingest ~/Music --jobs 4 --report ingest.jsonl
  cadenza-admin replication check --deep --repair
  cadenza-admin users add alice --role listener --password-stdin < pw.txt
  cadenza-admin podcasts add https://example.org/feed.xml
  cadenza-admin stats --json | jq .volumes";

/// Administer a Cadenza music server: ingest music, check replication, manage users and podcasts.
#[derive(Debug, Parser)]
#[command(name = "cadenza-admin", version, after_help = MAIN_HELP)]
pub struct Cli {
    /// Server URL, e.g. http://127.0.0.1:4533 (default: the one saved by `login`)
    #[arg(long, global = true, env = "CADENZA_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// Print machine-readable JSON on stdout instead of text
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in as an admin and save the token for later commands
    #[command(after_help = "\
Examples:
  cadenza-admin login --server http://127.0.0.1:4533
  echo \"$PW\" | cadenza-admin login --server http://10.0.0.5:4533 --username admin --password-stdin")]
    Login(LoginArgs),

    /// Revoke the saved token and forget it
    Logout,

    /// Upload audio files and folders to the server (skips what it already has)
    #[command(after_help = INGEST_HELP)]
    Ingest(IngestArgs),

    /// Check (and repair) how the server's blobs are replicated across volumes
    #[command(subcommand)]
    Replication(ReplicationCommand),

    /// Manage blob volumes while the server runs
    #[command(subcommand)]
    Volumes(VolumesCommand),

    /// Manage user accounts
    #[command(subcommand)]
    Users(UsersCommand),

    /// Catalog counts, storage per volume, largest artists and hot songs
    Stats,

    /// Show or delete one song
    #[command(subcommand)]
    Songs(SongsCommand),

    /// Import podcasts from RSS feeds
    #[command(subcommand)]
    Podcasts(PodcastsCommand),

    /// Estimate storage, bandwidth and servers for a given scale
    #[command(after_help = CAPACITY_HELP)]
    Capacity(CapacityCommand),

    /// Print a shell completion script
    #[command(after_help = "\
Examples:
  cadenza-admin completions bash > /etc/bash_completion.d/cadenza-admin
  cadenza-admin completions zsh > \"${fpath[1]}/_cadenza-admin\"
  cadenza-admin completions fish > ~/.config/fish/completions/cadenza-admin.fish")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Admin user name (asked for when missing)
    #[arg(long, short)]
    pub username: Option<String>,

    /// Read the password from the first line of stdin instead of asking
    #[arg(long)]
    pub password_stdin: bool,
}

const INGEST_HELP: &str = "\
Files are recognised by their content (MP3, FLAC, Ogg Vorbis, Opus, M4A/AAC, WAV),
not by their extension. Inside folders, files that are not audio (covers, notes)
are ignored unless their name claims audio (song.mp3 holding text fails), and
hidden files and folders are skipped. Every file is hashed first and skipped when
the server already has it, so re-running after a crash or Ctrl-C only uploads the
rest. A bad file (empty, truncated, not audio, unreadable, too large) fails alone
and the run goes on; the exit code is 1 then.

Manifest (--manifest): overrides the tags of listed files. CSV with a header row,
or JSON lines; `path` is required (relative to the manifest's folder), the rest
optional: title, artist, album, genre, track, disc, year.
  path,title,artist,album,track,year
  Rips/track01.flac,Glacier Hum,Björk,Frequency Garden,1,1997
  {\"path\": \"Rips/track02.flac\", \"title\": \"Geyser\", \"track\": 3}

Report (--report): one JSON object per file: path, status (ingested, skipped,
failed, ignored, would_ingest), reason, size, hash, song_id, tags (with codec
and duration_ms) and missing_tags.

Examples:
  cadenza-admin ingest ~/Music
  cadenza-admin ingest /srv/rips --dry-run --manifest fixes.csv
  cadenza-admin ingest a.flac b.mp3 --jobs 8 --report run.jsonl --json";

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files and folders to ingest (folders are walked recursively)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Uploads to run at the same time
    #[arg(long, short, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,

    /// Read tags and check the server for duplicates, but upload nothing
    #[arg(long)]
    pub dry_run: bool,

    /// CSV or JSON-lines file whose values override the files' tags
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,

    /// Write one JSON line per file (its outcome and tags) to FILE
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReplicationCommand {
    /// Report blobs that are under-replicated, corrupt or lost
    #[command(after_help = "\
Exits 1 when a problem remains: without --repair any unhealthy blob, with
--repair a blob that could not be fixed. A lost blob (no healthy replica left)
must be restored from a backup or re-ingested.

Examples:
  cadenza-admin replication check
  cadenza-admin replication check --deep --repair
  cadenza-admin replication check --json | jq .problems")]
    Check(CheckArgs),
}

#[derive(Debug, Subcommand)]
pub enum VolumesCommand {
    /// Move every blob off a volume, online, before taking it out of the configuration
    #[command(after_help = "\
The volume leaves the placement at once (new uploads go elsewhere); every blob it
holds is copied, verified, to its new placement and then deleted from it. Exits 1
when something could not be moved. Afterwards take the volume out of the server's
configuration and run `cadenza-admin replication check --deep` to verify every hash.

Example (move from a local disk to S3):
  cadenza-server --volume a=/mnt/a --volume b=/mnt/b --volume c=/mnt/c \\
                 --volume s3=s3://music/blobs?endpoint=http://10.0.0.9:8333 ...
  cadenza-admin volumes drain a")]
    Drain {
        /// The volume's name
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Re-hash every replica instead of checking presence and size only (slow)
    #[arg(long)]
    pub deep: bool,

    /// Copy verified bytes over missing and corrupt replicas
    #[arg(long)]
    pub repair: bool,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user (the password is asked for, or read with --password-stdin)
    #[command(after_help = "\
Examples:
  cadenza-admin users add alice
  printf '%s\\n' \"$PW\" | cadenza-admin users add bob --role admin --password-stdin")]
    Add {
        username: String,
        #[arg(long, default_value = "listener", value_parser = parse_role)]
        role: Role,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
    },
    /// List every user
    List,
    /// Make a user a listener or an admin
    SetRole {
        /// User name or numeric id
        user: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Set a new password for a user
    ResetPassword {
        /// User name or numeric id
        user: String,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete a user and their playlists
    Delete {
        /// User name or numeric id
        user: String,
    },
    /// Make an app password for a Subsonic client (shown once; not the login password)
    #[command(after_help = "\
The client signs in with the user name and this password (plain, `enc:`, or as
a token: the Subsonic API's u, p, t and s parameters).

Examples:
  cadenza-admin users app-password alice --name \"phone (DSub)\"")]
    AppPassword {
        /// User name or numeric id
        user: String,
        /// What it is for, e.g. the client or device
        #[arg(long, default_value = "Subsonic client")]
        name: String,
    },
    /// Make an API key for an OpenSubsonic client (shown once)
    ApiKey {
        /// User name or numeric id
        user: String,
        /// What it is for, e.g. the client or device
        #[arg(long, default_value = "Subsonic client")]
        name: String,
    },
    /// List a user's app passwords and API keys with their last use
    Credentials {
        /// User name or numeric id
        user: String,
    },
    /// Revoke one of a user's app passwords or API keys
    Revoke {
        /// User name or numeric id
        user: String,
        /// The credential's id (from `users credentials`)
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum SongsCommand {
    /// Show a song's tags, format and storage
    Show { id: SongId },
    /// Delete a song (its audio is removed once nothing else uses it)
    Delete { id: SongId },
}

#[derive(Debug, Subcommand)]
pub enum PodcastsCommand {
    /// Add a feed: the server creates the podcast and downloads every episode it lacks
    #[command(after_help = "\
The server reads the feed and downloads the enclosures itself (it also re-reads
every feed on its own timer, --podcast-refresh). Episodes are matched by their
<guid> (or enclosure URL), so adding the same feed again only fetches new ones.

Examples:
  cadenza-admin podcasts add https://example.org/podcast.xml
  cadenza-admin podcasts add http://127.0.0.1:8000/feed.xml --json")]
    Add {
        /// URL of the RSS feed
        feed_url: String,
    },
    /// List the podcasts on the server, with the outcome of their last feed reading
    List,
    /// Have the server read every feed now and report what it added
    Refresh,
}

const CAPACITY_HELP: &str = "\
The same model as the `cadenza-capacity` tool. With --calibrate, the server's
measured averages (song size, metadata per song and per user, plays per user
per day) are shown with the number of songs, users or plays each rests on, and
those that rest on enough replace the assumed ones; the others are shown and
left out, with the reason. --listeners-per-server (or --listeners-from, the
file the benchmark wrote) adds what the listener benchmark measured
(scripts/bench.sh, BENCH_ONLY=listeners), which sizes the web servers by the
listeners each can stream to at once.

Examples:
  cadenza-admin capacity
  cadenza-admin capacity --calibrate
  cadenza-admin capacity --calibrate --listeners-per-server 2400
  cadenza-admin capacity --calibrate --listeners-from target/bench/listeners.txt";

#[derive(Debug, Args)]
pub struct CapacityCommand {
    /// Replace the assumed averages with the ones the server measured (behind an edge whose
    /// log the server reads: the CDN's byte hit ratio too)
    #[arg(long)]
    pub calibrate: bool,

    /// Listeners one server streamed to at once with no underrun, as the listener
    /// benchmark measured it (its LIMIT line); replaces the assumed server_listeners
    #[arg(long, value_name = "N", requires = "calibrate")]
    pub listeners_per_server: Option<u64>,

    /// The same, read from the listener benchmark's output (the `LIMIT listeners=N` line
    /// of `cadenza-bench listeners --find-limit`; scripts/bench.sh keeps it in
    /// target/bench/listeners.txt)
    #[arg(
        long,
        value_name = "FILE",
        requires = "calibrate",
        conflicts_with = "listeners_per_server"
    )]
    pub listeners_from: Option<PathBuf>,

    /// With --calibrate: the cluster ran at full load while the edge logged (e.g. during a
    /// benchmark), so the busiest server's request rate becomes server_rps
    #[arg(long, requires = "calibrate")]
    pub full_load: bool,

    #[command(flatten)]
    pub model: cadenza_capacity::CapacityArgs,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn jobs_must_be_positive() {
        let err = Cli::try_parse_from(["cadenza-admin", "ingest", "x", "--jobs", "0"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn ingest_needs_a_path() {
        assert!(Cli::try_parse_from(["cadenza-admin", "ingest"]).is_err());
        let cli = Cli::try_parse_from(["cadenza-admin", "ingest", "a", "b", "--dry-run"]).unwrap();
        match cli.command {
            Command::Ingest(args) => {
                assert_eq!(args.paths.len(), 2);
                assert!(args.dry_run);
                assert_eq!(args.jobs, 4);
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn roles_are_checked() {
        let err = Cli::try_parse_from(["cadenza-admin", "users", "set-role", "bob", "root"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("listener"), "{err}");
    }
}
