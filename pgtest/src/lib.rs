//! Throwaway PostgreSQL clusters for tests: a primary and any number of streaming replicas in
//! a temporary folder, on free loopback ports, removed when the [`Cluster`] is dropped (also
//! when a test panics, which unwinds through the drop).
//!
//! - The binaries are PostgreSQL's own (`initdb`, `postgres`, `pg_basebackup`) from
//!   `/usr/lib/postgresql/<newest>/bin` or `CADENZA_PG_BIN`; `scripts/setup.sh` installs them.
//!   Without them [`skip_reason`] says why a test cannot run; with `CADENZA_REQUIRE_POSTGRES=1`
//!   (set by `scripts/test.sh`, so CI never skips silently) their absence is a failure.
//! - `initdb` refuses to run as root, and CI runs as root: every PostgreSQL process then runs
//!   as the `postgres` user (the folder is handed to it). Run as anyone else, they run as you.
//! - Durability is off (`fsync=off`, `full_page_writes=off`): a test cluster never outlives
//!   its test. WAL is at `replica` level with a `host replication` trust line, so
//!   `pg_basebackup -R -X stream` makes a replica that follows the primary.
//! - Each server process is started and waited for by its own thread, and asks the kernel
//!   for SIGQUIT (immediate shutdown) when that thread dies: if the test process is killed,
//!   its servers go with it instead of lingering on their ports.
//! - The superuser is `postgres`, trusted on the loopback; every other role must give its
//!   password (tests of wrong passwords create roles with [`Cluster::create_role`]).

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a server may take to accept connections after it starts (a loaded 2-core CI
/// machine is slow, not broken).
const START_DEADLINE: Duration = Duration::from_secs(90);
/// How long a fast shutdown may take before the server is killed.
const STOP_DEADLINE: Duration = Duration::from_secs(30);
/// Settings of every node, on the `postgres` command line.
const SETTINGS: &[(&str, &str)] = &[
    ("listen_addresses", "127.0.0.1"),
    ("fsync", "off"),
    ("full_page_writes", "off"),
    ("wal_level", "replica"),
    ("max_wal_senders", "10"),
    // A stopped replica must be able to catch up from the primary's WAL when restarted.
    ("wal_keep_size", "256MB"),
    ("hot_standby", "on"),
    ("max_connections", "300"),
    ("shared_buffers", "32MB"),
    ("log_min_messages", "warning"),
    ("log_min_error_statement", "panic"),
];

/// The folder with `initdb`, `postgres` and `pg_basebackup`.
pub fn bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("CADENZA_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if dir.join("initdb").exists() {
            Ok(dir)
        } else {
            Err(format!(
                "CADENZA_PG_BIN={} has no initdb in it",
                dir.display()
            ))
        };
    }
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| {
            format!("PostgreSQL is not installed (/usr/lib/postgresql: {e}); run scripts/setup.sh")
        })?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "PostgreSQL's server binaries are not in /usr/lib/postgresql/*/bin; run scripts/setup.sh"
            .to_string()
    })
}

/// Why PostgreSQL tests cannot run here, or `None` when they can. Panics instead when
/// `CADENZA_REQUIRE_POSTGRES` is set, so a machine that should run them cannot skip them.
pub fn skip_reason() -> Option<String> {
    let reason = bin_dir().err()?;
    if std::env::var_os("CADENZA_REQUIRE_POSTGRES").is_some_and(|v| v != "0") {
        panic!("CADENZA_REQUIRE_POSTGRES is set but {reason}");
    }
    Some(reason)
}

/// Prints why a PostgreSQL test is skipped and returns true, or returns false when it can run.
pub fn skip(test: &str) -> bool {
    match skip_reason() {
        Some(reason) => {
            eprintln!("skipping {test} on PostgreSQL: {reason}");
            true
        }
        None => false,
    }
}

/// A primary and its replicas, all stopped and deleted on drop.
pub struct Cluster {
    bin: PathBuf,
    owner: Option<Owner>,
    primary: Node,
    replicas: Mutex<Vec<Node>>,
    /// Taken (and so deleted) by [`Cluster::shutdown`].
    dir: Mutex<Option<tempfile::TempDir>>,
    root: PathBuf,
    databases: AtomicUsize,
}

impl Cluster {
    /// A new primary with no replica.
    pub fn start() -> io::Result<Cluster> {
        let bin = bin_dir().map_err(io::Error::other)?;
        let owner = Owner::for_this_process()?;
        let dir = tempfile::Builder::new().prefix("cadenza-pg-").tempdir()?;
        let root = dir.path().to_path_buf();
        if let Some(owner) = &owner {
            owner.give(&root)?;
        }
        let data = root.join("primary");
        run(
            owner.as_ref(),
            Command::new(bin.join("initdb")).arg("-D").arg(&data).args([
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]),
            "initdb",
        )?;
        fs::write(
            data.join("pg_hba.conf"),
            "local all         all                   trust\n\
             host  all         postgres 127.0.0.1/32 trust\n\
             host  replication all      127.0.0.1/32 trust\n\
             host  all         all      127.0.0.1/32 scram-sha-256\n",
        )?;
        let primary = Node::new(data, free_port()?);
        let cluster = Cluster {
            bin,
            owner,
            primary,
            replicas: Mutex::new(Vec::new()),
            dir: Mutex::new(Some(dir)),
            root,
            databases: AtomicUsize::new(0),
        };
        cluster.start_node(&cluster.primary)?;
        Ok(cluster)
    }

    /// A new primary with `replicas` streaming replicas, each caught up.
    pub fn start_with_replicas(replicas: usize) -> io::Result<Cluster> {
        let cluster = Cluster::start()?;
        for _ in 0..replicas {
            cluster.add_replica()?;
        }
        Ok(cluster)
    }

    /// A cluster with one replica shared by every test of this process (starting one per
    /// test would cost a second each). Tests must not stop its nodes: use a cluster of
    /// their own for that. It is stopped and deleted when the process exits.
    pub fn shared() -> io::Result<&'static Cluster> {
        static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();
        extern "C" fn stop_shared() {
            if let Some(Ok(cluster)) = SHARED.get() {
                cluster.shutdown();
            }
        }
        let cluster = SHARED.get_or_init(|| {
            let cluster = Cluster::start_with_replicas(1).map_err(|e| e.to_string())?;
            // SAFETY: registering a plain extern "C" function; it only touches 'static data.
            unsafe { libc::atexit(stop_shared) };
            Ok(cluster)
        });
        cluster.as_ref().map_err(|e| io::Error::other(e.clone()))
    }

    /// `cadenza-server` flags that put its catalog in a new database of this cluster,
    /// reading from all its replicas.
    pub fn server_args(&self) -> io::Result<Vec<String>> {
        let database = self.create_database()?;
        let mut args = vec!["--catalog".to_string(), self.primary_url(&database)];
        for replica in 0..self.replicas() {
            args.push("--catalog-replica".into());
            args.push(self.replica_url(replica, &database));
        }
        Ok(args)
    }

    /// Makes a replica of the primary with `pg_basebackup -R -X stream` and starts it;
    /// returns its index for [`Cluster::replica_url`] and friends.
    pub fn add_replica(&self) -> io::Result<usize> {
        let mut replicas = lock(&self.replicas);
        let index = replicas.len();
        let data = self.root.join(format!("replica{index}"));
        run(
            self.owner.as_ref(),
            Command::new(self.bin.join("pg_basebackup"))
                .arg("-D")
                .arg(&data)
                .args(["-h", "127.0.0.1", "-p"])
                .arg(self.primary.port.to_string())
                .args(["-U", "postgres", "-R", "-X", "stream", "--no-sync"])
                // A spread checkpoint would wait minutes on a primary with fresh writes.
                .arg("--checkpoint=fast"),
            "pg_basebackup",
        )?;
        let node = Node::new(data, free_port()?);
        self.start_node(&node)?;
        replicas.push(node);
        drop(replicas);
        self.wait_for_replicas()?;
        Ok(index)
    }

    pub fn primary_port(&self) -> u16 {
        self.primary.port
    }

    /// How many replicas there are (running or stopped).
    pub fn replicas(&self) -> usize {
        lock(&self.replicas).len()
    }

    pub fn replica_port(&self, replica: usize) -> u16 {
        lock(&self.replicas)[replica].port
    }

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE` of the primary.
    pub fn primary_url(&self, database: &str) -> String {
        url(self.primary.port, database)
    }

    pub fn replica_url(&self, replica: usize, database: &str) -> String {
        url(self.replica_port(replica), database)
    }

    /// A new, empty database with a name unique in this cluster.
    pub fn create_database(&self) -> io::Result<String> {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("test_{}_{n}", std::process::id());
        self.execute(&format!("CREATE DATABASE {name}"))?;
        Ok(name)
    }

    /// A role that logs in with a password (over TCP, as the catalog does).
    pub fn create_role(&self, name: &str, password: &str) -> io::Result<()> {
        let password = password.replace('\'', "''");
        self.execute(&format!(
            "CREATE ROLE {name} LOGIN PASSWORD '{password}' CREATEDB"
        ))
    }

    /// Runs SQL on the primary's `postgres` database as the superuser.
    pub fn execute(&self, sql: &str) -> io::Result<()> {
        self.execute_in("postgres", sql)
    }

    /// Runs SQL on the primary's `database` as the superuser.
    pub fn execute_in(&self, database: &str, sql: &str) -> io::Result<()> {
        off_runtime(|| {
            let mut client = connect(self.primary.port, database)?;
            client.batch_execute(sql).map_err(io::Error::other)
        })
    }

    /// Stops the primary (fast shutdown: sessions are cut, nothing committed is lost).
    pub fn stop_primary(&self) {
        self.primary.stop();
    }

    pub fn start_primary(&self) -> io::Result<()> {
        self.start_node(&self.primary)
    }

    pub fn stop_replica(&self, replica: usize) {
        lock(&self.replicas)[replica].stop();
    }

    pub fn start_replica(&self, replica: usize) -> io::Result<()> {
        let replicas = lock(&self.replicas);
        self.start_node(&replicas[replica])
    }

    /// Waits until every running replica has replayed everything the primary has written
    /// so far.
    pub fn wait_for_replicas(&self) -> io::Result<()> {
        off_runtime(|| self.wait_for_replicas_here())
    }

    fn wait_for_replicas_here(&self) -> io::Result<()> {
        let mut primary = connect(self.primary.port, "postgres")?;
        let target: String = primary
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .map_err(io::Error::other)?
            .get(0);
        let ports: Vec<u16> = lock(&self.replicas)
            .iter()
            .filter(|n| n.running())
            .map(|n| n.port)
            .collect();
        for port in ports {
            let mut replica = connect(port, "postgres")?;
            let deadline = Instant::now() + START_DEADLINE;
            loop {
                let caught_up: bool = replica
                    .query_one(
                        "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, false)",
                        &[&target],
                    )
                    .map_err(io::Error::other)?
                    .get(0);
                if caught_up {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(io::Error::other(format!(
                        "the replica on port {port} did not replay up to {target} in {} s",
                        START_DEADLINE.as_secs()
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// Stops every node and deletes the folder (what dropping does).
    pub fn shutdown(&self) {
        for replica in lock(&self.replicas).iter() {
            replica.stop();
        }
        self.primary.stop();
        drop(lock(&self.dir).take());
    }

    fn start_node(&self, node: &Node) -> io::Result<()> {
        let mut command = Command::new(self.bin.join("postgres"));
        command
            .arg("-D")
            .arg(&node.data)
            .arg("-c")
            .arg(format!("port={}", node.port))
            .arg("-c")
            .arg(format!("unix_socket_directories={}", node.data.display()));
        for (name, value) in SETTINGS {
            command.arg("-c").arg(format!("{name}={value}"));
        }
        node.start(command, self.owner.as_ref())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn url(port: u16, database: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{database}")
}

fn connect(port: u16, database: &str) -> io::Result<postgres::Client> {
    postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user("postgres")
        .dbname(database)
        .connect(postgres::NoTls)
        .map_err(|e| io::Error::other(format!("connecting to 127.0.0.1:{port}: {e}")))
}

/// Runs `f` on a thread of its own: the synchronous client starts a runtime of its own,
/// which tokio refuses inside an async test.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A free loopback port (the kernel's pick; freed again for the server to take).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The user PostgreSQL runs as when this process is root.
#[derive(Clone, Copy)]
struct Owner {
    uid: u32,
    gid: u32,
}

impl Owner {
    fn for_this_process() -> io::Result<Option<Owner>> {
        // SAFETY: getuid cannot fail.
        if unsafe { libc::getuid() } != 0 {
            return Ok(None);
        }
        // SAFETY: a NUL-terminated name; the returned record is read at once, before any
        // other getpw* call could overwrite it.
        let record = unsafe { libc::getpwnam(c"postgres".as_ptr()) };
        if record.is_null() {
            return Err(io::Error::other(
                "running as root, and there is no `postgres` user to run PostgreSQL as \
                 (initdb refuses root); install PostgreSQL with scripts/setup.sh",
            ));
        }
        // SAFETY: checked non-null above.
        let (uid, gid) = unsafe { ((*record).pw_uid, (*record).pw_gid) };
        Ok(Some(Owner { uid, gid }))
    }

    fn give(&self, path: &Path) -> io::Result<()> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
    }

    fn apply(&self, command: &mut Command) {
        command.uid(self.uid).gid(self.gid);
    }
}

/// Runs a PostgreSQL tool to completion; its output becomes the error when it fails.
fn run(owner: Option<&Owner>, command: &mut Command, what: &str) -> io::Result<()> {
    if let Some(owner) = owner {
        owner.apply(command);
    }
    let out = command.stdin(Stdio::null()).output()?;
    if out.status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )))
}

/// One server: its data folder, port and, while it runs, its process.
struct Node {
    data: PathBuf,
    port: u16,
    process: Mutex<Option<Process>>,
}

struct Process {
    pid: libc::pid_t,
    waiter: JoinHandle<()>,
}

impl Node {
    fn new(data: PathBuf, port: u16) -> Node {
        Node {
            data,
            port,
            process: Mutex::new(None),
        }
    }

    fn running(&self) -> bool {
        lock(&self.process)
            .as_ref()
            .is_some_and(|p| !p.waiter.is_finished())
    }

    fn log_path(&self) -> PathBuf {
        self.data.with_extension("log")
    }

    /// Starts the server and waits until it accepts connections.
    fn start(&self, mut command: Command, owner: Option<&Owner>) -> io::Result<()> {
        let mut process = lock(&self.process);
        if process.as_ref().is_some_and(|p| !p.waiter.is_finished()) {
            return Ok(());
        }
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let log_start = log.metadata()?.len();
        if let Some(owner) = owner {
            owner.apply(&mut command);
        }
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let (started, pid) = mpsc::channel();
        let waiter = std::thread::spawn(move || match command.spawn() {
            Ok(mut child) => {
                let _ = started.send(Ok(child.id()));
                let _ = child.wait();
            }
            Err(e) => {
                let _ = started.send(Err(e));
            }
        });
        let pid = pid
            .recv()
            .map_err(|_| io::Error::other("the postgres starter thread died"))??;
        let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
        *process = Some(Process { pid, waiter });
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if off_runtime(|| connect(self.port, "postgres").is_ok()) {
                return Ok(());
            }
            let exited = process.as_ref().is_none_or(|p| p.waiter.is_finished());
            if exited || Instant::now() > deadline {
                let reason = if exited { "exited" } else { "did not answer" };
                return Err(io::Error::other(format!(
                    "postgres on port {} {reason}; its log says: {}",
                    self.port,
                    tail(&self.log_path(), log_start)
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Fast shutdown (SIGINT), then SIGKILL if it takes too long.
    fn stop(&self) {
        let Some(process) = lock(&self.process).take() else {
            return;
        };
        // SAFETY: signalling our own child, which the waiter thread has not reaped yet
        // unless it already exited (then the pid is unused or reused for nothing of ours
        // only if it was reaped long ago; the waiter reaps at once, so check first).
        if !process.waiter.is_finished() {
            unsafe { libc::kill(process.pid, libc::SIGINT) };
        }
        let deadline = Instant::now() + STOP_DEADLINE;
        while !process.waiter.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if !process.waiter.is_finished() {
            // SAFETY: as above; the child has not been reaped, so the pid is still ours.
            unsafe { libc::kill(process.pid, libc::SIGKILL) };
        }
        let _ = process.waiter.join();
    }
}

/// What a log file gained since `from`, at most its last 4 KB.
fn tail(path: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let len = file.metadata().map_or(0, |m| m.len());
        let start = from.max(len.saturating_sub(4096));
        if file.seek(SeekFrom::Start(start)).is_ok() {
            let _ = file.read_to_string(&mut text);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_i64(url: &str, sql: &str) -> Result<i64, postgres::Error> {
        let mut client = postgres::Client::connect(url, postgres::NoTls)?;
        Ok(client.query_one(sql, &[])?.get(0))
    }

    #[test]
    fn a_replica_follows_the_primary_and_both_stop_and_start() {
        if skip("the test cluster") {
            return;
        }
        let cluster = Cluster::start_with_replicas(1).unwrap();
        let db = cluster.create_database().unwrap();
        cluster
            .execute_in(&db, "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)")
            .unwrap();
        cluster.wait_for_replicas().unwrap();
        let on_replica = cluster.replica_url(0, &db);
        assert_eq!(
            query_i64(&on_replica, "SELECT sum(x)::int8 FROM t").unwrap(),
            3
        );
        let recovery = "SELECT pg_is_in_recovery()::int::int8";
        assert_eq!(query_i64(&on_replica, recovery).unwrap(), 1);

        cluster.stop_replica(0);
        assert!(query_i64(&on_replica, "SELECT 1").is_err(), "stopped");
        cluster.execute_in(&db, "INSERT INTO t VALUES (3)").unwrap();
        cluster.start_replica(0).unwrap();
        cluster.wait_for_replicas().unwrap();
        assert_eq!(
            query_i64(&on_replica, "SELECT sum(x)::int8 FROM t").unwrap(),
            6
        );

        cluster.stop_primary();
        let on_primary = cluster.primary_url(&db);
        assert!(query_i64(&on_primary, "SELECT 1").is_err(), "stopped");
        assert_eq!(
            query_i64(&on_replica, "SELECT sum(x)::int8 FROM t").unwrap(),
            6,
            "a replica answers while its primary is down"
        );
        cluster.start_primary().unwrap();
        assert_eq!(query_i64(&on_primary, "SELECT count(*) FROM t").unwrap(), 3);

        let root = cluster.root.clone();
        assert!(root.exists());
        drop(cluster);
        assert!(!root.exists(), "the folder is deleted");
        assert!(
            query_i64(&on_replica, "SELECT 1").is_err(),
            "replica stopped"
        );
    }

    #[test]
    fn roles_other_than_the_superuser_need_their_password() {
        if skip("the test cluster") {
            return;
        }
        let cluster = Cluster::shared().unwrap();
        cluster.create_role("pgtest_pw", "s3cret'pw").unwrap();
        let port = cluster.primary_port();
        let good = format!("postgres://pgtest_pw:s3cret%27pw@127.0.0.1:{port}/postgres");
        assert_eq!(query_i64(&good, "SELECT 7::int8").unwrap(), 7);
        let bad = format!("postgres://pgtest_pw:wrong@127.0.0.1:{port}/postgres");
        let err = query_i64(&bad, "SELECT 1").unwrap_err();
        let message = err.as_db_error().map(|e| e.message().to_string());
        assert!(
            message.as_deref().is_some_and(|m| m.contains("password")),
            "{err:?}"
        );
    }
}
