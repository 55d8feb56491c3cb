//! The cluster `scripts/cluster.sh` starts (a PostgreSQL primary and its streaming replica for
//! the catalog, three SeaweedFS servers, three cadenza-servers on them behind nginx as load
//! balancer and CDN cache), and what happens when a part of it fails: a server killed under
//! load, a player streaming through the edge while its server dies, the player's view of an
//! outage, a logout seen by every copy, one SeaweedFS server stopped and started again, the
//! catalog's replica and then its primary stopped, and the whole cluster stopped and started
//! again.
//!
//! Every test runs on loopback only, with bounded request counts and bounded waits.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cadenza_api::{ByteRange, Client, ClientError, PageRequest, Role, Song, TagOverrides};
use cadenza_tests::admin_cli_at;
use cadenza_tests::cluster::{Cluster, SEAWEEDS, SERVERS};
use cadenza_tests::tmux::Tmux;
use reqwest::Method;
use sha2::{Digest, Sha256};

/// One cluster at a time: each is three SeaweedFS servers, three cadenza-servers, nginx and a
/// load on two shared cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The most one test may take, its cluster's start and stop included (each takes well under
/// a minute alone on two cores): past it the test fails, and its cluster guard stops every
/// part, instead of holding up CI.
const BUDGET: Duration = Duration::from_secs(300);

/// Runs one test's body alone (see [`ONE_AT_A_TIME`]) within [`BUDGET`].
async fn bounded(test: impl std::future::Future<Output = ()>) {
    let _one = ONE_AT_A_TIME.lock().await;
    if tokio::time::timeout(BUDGET, test).await.is_err() {
        panic!("the test ran past its budget of {BUDGET:?}");
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn all_songs(client: &Client) -> Vec<Song> {
    client
        .songs(PageRequest {
            limit: 500,
            offset: 0,
        })
        .await
        .expect("list songs")
        .items
}

/// Polls `check` until it holds, for at most `limit` (then panics with `what`).
async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One request of the load, as a listener makes them.
#[derive(Debug)]
struct Outcome {
    ok: bool,
    after_kill: bool,
    server: Option<String>,
}

async fn one_request(client: &Client, songs: &[Song], n: usize) -> (bool, Option<String>) {
    let route = match n % 3 {
        0 => "/search?q=a&type=all".to_string(),
        1 => "/songs?limit=20".to_string(),
        _ => {
            // A whole song through the redirect and the CDN; its bytes must be its hash.
            let song = &songs[n % songs.len()];
            let bytes = match client.stream_song(song.id, None).await {
                Ok(stream) => stream.bytes().await,
                Err(e) => Err(e),
            };
            return match bytes {
                Ok(bytes) => {
                    assert_eq!(sha256(&bytes), song.hash, "wrong bytes for {}", song.title);
                    (true, None)
                }
                Err(_) => (false, None),
            };
        }
    };
    let request = client.request(Method::GET, &route).expect("route");
    match request.send().await {
        Ok(response) if response.status().is_success() => {
            let server = response
                .headers()
                .get("x-cadenza-server")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            (response.bytes().await.is_ok(), server)
        }
        _ => (false, None),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_under_load_costs_only_the_requests_in_flight_on_it() {
    bounded(async {
        const WORKERS: usize = 6;
        const PER_WORKER: usize = 45;
        const KILL_AFTER: usize = 60;
        let cluster = Cluster::up(&[]);
        let admin = cluster.admin().await;
        let songs = Arc::new(all_songs(&admin).await);
        assert!(songs.len() >= 10, "the fixture catalog is ingested");

        let done = Arc::new(AtomicUsize::new(0));
        let killed = Arc::new(AtomicBool::new(false));
        let mut workers = tokio::task::JoinSet::new();
        for w in 0..WORKERS {
            let (client, songs) = (admin.clone(), Arc::clone(&songs));
            let (done, killed) = (Arc::clone(&done), Arc::clone(&killed));
            workers.spawn(async move {
                let mut outcomes = Vec::with_capacity(PER_WORKER);
                for i in 0..PER_WORKER {
                    let after_kill = killed.load(Ordering::SeqCst);
                    let (ok, server) = one_request(&client, &songs, w * 7 + i).await;
                    outcomes.push(Outcome {
                        ok,
                        after_kill,
                        server,
                    });
                    done.fetch_add(1, Ordering::SeqCst);
                }
                outcomes
            });
        }
        eventually("the load to get going", Duration::from_secs(120), || {
            let done = Arc::clone(&done);
            async move { done.load(Ordering::SeqCst) >= KILL_AFTER }
        })
        .await;
        cluster.part("web2", "kill");
        killed.store(true, Ordering::SeqCst);
        let mut outcomes = Vec::new();
        while let Some(worker) = workers.join_next().await {
            outcomes.extend(worker.expect("a worker panicked"));
        }

        let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.ok).collect();
        assert!(
            failed.len() <= WORKERS,
            "{} of {} requests failed; at most one per worker can have been in flight on web2",
            failed.len(),
            outcomes.len()
        );
        assert!(
            failed.iter().all(|o| !o.after_kill),
            "requests started after the kill failed: {failed:?}"
        );
        let seen = |after: bool| -> Vec<&str> {
            let mut names: Vec<&str> = outcomes
                .iter()
                .filter(|o| o.after_kill == after)
                .filter_map(|o| o.server.as_deref())
                .collect();
            names.sort_unstable();
            names.dedup();
            names
        };
        assert_eq!(
            seen(false),
            SERVERS,
            "round robin reached every server before"
        );
        assert_eq!(seen(true), ["web1", "web3"], "only the living answer after");

        // The edge's log, read by the servers: CDN misses filled the cache, hits served from it.
        let stats = admin.stats().await.expect("stats through the edge");
        let edge = stats.edge.expect("the servers read the edge log");
        assert!(edge.cdn_hits > 0 && edge.cdn_misses > 0, "{edge:?}");
        assert!(
            edge.servers.len() >= 3,
            "requests per server: {:?}",
            edge.servers
        );
    })
    .await;
}

/// `cadenza-admin ARGS` through the edge as `client`'s user: (exit code, stdout).
fn admin_cli(cluster: &Cluster, client: &Client, args: &[&str]) -> (i32, String) {
    let out = admin_cli_at(&cluster.url, client.token().expect("logged in"), args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    eprintln!(
        "cadenza-admin {}: exit {code}\n{stdout}{stderr}",
        args.join(" ")
    );
    (code, stdout)
}

/// Uploads `bytes` as a song titled `title` by "Test Tones".
async fn upload(admin: &Client, bytes: Vec<u8>, title: &str) -> Song {
    let size = bytes.len() as u64;
    let tags = TagOverrides {
        title: Some(title.into()),
        artist: Some("Test Tones".into()),
        ..TagOverrides::default()
    };
    admin
        .upload_song(bytes, Some(size), &tags)
        .await
        .unwrap_or_else(|e| panic!("upload {title}: {e}"))
        .song
}

/// Streams `song` whole through the edge and checks its bytes against its hash.
async fn stream_checked(client: &Client, song: &Song) {
    let bytes = client
        .stream_song(song.id, None)
        .await
        .unwrap_or_else(|e| panic!("stream {}: {e}", song.title))
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("bytes of {}: {e}", song.title));
    assert_eq!(sha256(&bytes), song.hash, "wrong bytes for {}", song.title);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_seaweedfs_stopped_streams_go_on_and_repair_fills_it_when_it_returns() {
    bounded(async {
        let cluster = Cluster::up(&[]);
        let admin = cluster.admin().await;
        let songs = all_songs(&admin).await;
        assert!(songs.len() >= 10, "the fixture catalog is ingested");
        let (code, clean) = admin_cli(&cluster, &admin, &["replication", "check"]);
        assert_eq!(code, 0, "fully replicated on all three: {clean}");

        let down = SEAWEEDS[1];
        cluster.part(down, "stop");
        let readiness = admin.readiness().await.expect("readiness through the edge");
        assert!(readiness.ready && readiness.degraded, "{readiness:?}");
        assert_eq!(
            (readiness.volumes_reachable, readiness.volumes_total),
            (2, 3)
        );
        let metrics = reqwest::get(format!("{}/metrics", cluster.url))
            .await
            .expect("/metrics through the edge")
            .text()
            .await
            .expect("metrics text");
        assert!(
            metrics.lines().any(|l| l == "cadenza_volumes_reachable 2"),
            "{metrics}"
        );
        // Nothing was streamed yet: each song is a CDN miss the servers read from the two
        // SeaweedFS servers left, one song whole, the next from its middle.
        for (n, song) in songs.iter().enumerate() {
            if n % 2 == 0 {
                stream_checked(&admin, song).await;
            } else {
                let from = song.size / 2;
                let range = ByteRange {
                    start: from,
                    end: None,
                };
                let response = admin
                    .stream_song(song.id, Some(range))
                    .await
                    .unwrap_or_else(|e| panic!("a range of {}: {e}", song.title));
                assert_eq!(
                    (response.status, response.offset),
                    (206, from),
                    "{}",
                    song.title
                );
                let tail = response.bytes().await.expect("the range's bytes");
                assert_eq!(tail.len() as u64, song.size - from, "{}", song.title);
            }
        }
        // A song added during the outage meets the write quorum (two of three) and is listed
        // as under-replicated, the stopped server as unreachable.
        let tone = {
            use cadenza_fixtures::synth::wav;
            wav::file(44_100, &wav::sine(523.0, 44_100, 2_000, 0.3), &[])
        };
        let added = upload(&admin, tone, "Outage Tone").await;
        stream_checked(&admin, &added).await;
        let (code, report) = admin_cli(&cluster, &admin, &["replication", "check", "--json"]);
        assert_eq!(code, 1, "problems found: {report}");
        assert!(report.contains("\"under_replicated\""), "{report}");
        assert!(report.contains("\"unreachable\""), "{report}");
        assert!(
            report.contains(&added.hash),
            "the new song is listed: {report}"
        );

        // Back: repair copies what it missed, verified, and every copy agrees it is whole.
        cluster.part(down, "start");
        let (code, repair) = admin_cli(&cluster, &admin, &["replication", "check", "--repair"]);
        assert_eq!(code, 0, "{repair}");
        assert!(repair.contains("Repaired ("), "{repair}");
        let (code, deep) = admin_cli(&cluster, &admin, &["replication", "check", "--deep"]);
        assert_eq!(code, 0, "{deep}");
        assert!(deep.contains("All blobs are fully replicated."), "{deep}");
        for name in SERVERS {
            let direct = Client::new(&cluster.server_url(name)).expect("server URL");
            let readiness = direct.readiness().await.expect("readiness");
            assert!(!readiness.degraded, "{name}: {readiness:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_login_through_one_server_works_on_all_and_a_logout_reaches_them_all() {
    bounded(async {
        let cluster = Cluster::up(&[("CLUSTER_FIXTURES", "0")]);
        let admin = cluster.admin().await;
        admin
            .create_user("ada", "ada's long password", Role::Listener)
            .await
            .expect("create a listener");
        let mut ada = Client::new(&cluster.url).expect("edge URL");
        ada.login("ada", "ada's long password")
            .await
            .expect("log in through the edge");
        let token = ada.token().expect("a token").to_string();
        for name in SERVERS {
            let direct = Client::new(&cluster.server_url(name))
                .expect("server URL")
                .with_token(&token);
            let me = direct.me().await.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(me.username, "ada", "{name} knows the login");
        }
        ada.logout().await.expect("log out through the edge");
        for name in SERVERS {
            let direct = Client::new(&cluster.server_url(name))
                .expect("server URL")
                .with_token(&token);
            // Each copy caches a checked token for a few seconds (README: Scaling out).
            eventually(
                &format!("{name} to refuse the logged-out token"),
                Duration::from_secs(30),
                || {
                    let direct = direct.clone();
                    async move { direct.me().await.is_err_and(|e| e.is_unauthorized()) }
                },
            )
            .await;
        }
    })
    .await;
}

/// A mono 16-bit WAV big enough that a stream of it cannot sit whole in the socket buffers
/// between a server and the edge (a few MiB on this kernel), so killing the server cuts it.
fn long_tone() -> Vec<u8> {
    use cadenza_fixtures::synth::wav;
    let rate = 44_100;
    wav::file(rate, &wav::sine(330.0, rate, 280_000, 0.3), &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_streaming_through_the_edge_resumes_when_its_server_dies() {
    bounded(async {
        let Some(tmux) = Tmux::new(&format!("cadenza-cluster-{}", std::process::id())) else {
            panic!("tmux is missing: run scripts/setup.sh (it installs tmux)");
        };
        // Streams through the load balancer (no CDN), listeners slowed to 3 MB/s by the edge.
        let cluster = Cluster::up(&[
            ("CLUSTER_FIXTURES", "0"),
            ("CLUSTER_CDN", "0"),
            ("CLUSTER_LIMIT_RATE", "3m"),
        ]);
        let admin = cluster.admin().await;
        let bytes = long_tone();
        let song = upload(&admin, bytes.clone(), "Long Tone").await;
        let token = admin.token().expect("token").to_string();
        let home = tempfile::tempdir().expect("temp home");
        tmux.start_player(&cluster.url, &token, home.path());
        tmux.search("long", "Long Tone");
        tmux.keys(&["Down"]);
        tmux.keys(&["Enter"]);
        tmux.wait_for("▶ Long Tone");

        // The server sending the song is the one with a stream open; kill it mid-song.
        let streaming = Arc::new(std::sync::Mutex::new(None));
        eventually(
            "a server to stream the song",
            Duration::from_secs(30),
            || {
                let streaming = Arc::clone(&streaming);
                let urls: Vec<(&str, String)> = SERVERS
                    .iter()
                    .map(|s| (*s, cluster.server_url(s)))
                    .collect();
                async move {
                    for (name, url) in urls {
                        let metrics = reqwest::get(format!("{url}/metrics")).await;
                        let Ok(text) = metrics else { continue };
                        let text = text.text().await.unwrap_or_default();
                        if text.lines().any(|l| l == "cadenza_active_streams 1") {
                            *streaming.lock().unwrap() = Some(name);
                            return true;
                        }
                    }
                    false
                }
            },
        )
        .await;
        let victim = streaming.lock().unwrap().expect("found above");
        let victim_addr = cluster.server_url(victim).replace("http://", "");
        cluster.part(victim, "kill");

        // The player resumes from where the cut left it, through another server, and finishes:
        // the whole file is there and matches its hash (the player checks it before caching).
        let screen = tmux.wait_for_within("· cached ·", Duration::from_secs(120));
        assert!(screen.contains("▶ Long Tone"), "still playing:\n{screen}");
        for complaint in ["could not", "cannot", "offline", "broke"] {
            assert!(!screen.contains(complaint), "no error shown:\n{screen}");
        }
        let stream_path = format!("/api/v1/songs/{}/stream", song.id);
        let requests: Vec<Vec<String>> = cluster
            .edge_log()
            .lines()
            .map(|l| l.split('\t').map(str::to_string).collect::<Vec<_>>())
            .filter(|f| f.len() >= 8 && f[6] == stream_path)
            .collect();
        // The server that answered is the last address nginx tried ("dead:1, alive:2").
        let answered = |f: &Vec<String>| f[3].rsplit(", ").next().unwrap_or_default().to_string();
        let cut = requests
            .iter()
            .position(|f| answered(f) == victim_addr)
            .unwrap_or_else(|| panic!("the killed server was sending it: {requests:?}"));
        let resumed = requests[cut + 1..]
            .iter()
            .find(|f| answered(f) != victim_addr && f[1] == "206")
            .unwrap_or_else(|| panic!("no resumed request in {requests:?}"));
        let from: u64 = resumed[7]
            .strip_prefix("bytes=")
            .and_then(|r| r.split('-').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a range in {resumed:?}"));
        assert!(
            from > 0 && from < bytes.len() as u64,
            "resumed at byte {from} of {}",
            bytes.len()
        );
    })
    .await;
}

#[tokio::test]
async fn the_player_names_what_is_down_and_forgets_it_at_the_first_answer() {
    bounded(async {
        let Some(tmux) = Tmux::new(&format!("cadenza-outage-{}", std::process::id())) else {
            panic!("tmux is missing: run scripts/setup.sh (it installs tmux)");
        };
        let cluster = Cluster::up(&[]);
        let admin = cluster.admin().await;
        let token = admin.token().expect("token").to_string();
        let home = tempfile::tempdir().expect("temp home");
        tmux.start_player(&cluster.url, &token, home.path());
        tmux.search("glac", "Glacier Hum");

        for name in SERVERS {
            cluster.part(name, "stop");
        }
        let screen = tmux.search("busy", "no server behind the load balancer");
        assert!(screen.contains("load balancer"), "{screen}");

        cluster.part("edge", "stop");
        tmux.search("geyser", "offline: cached songs only");

        cluster.part("edge", "start");
        for name in SERVERS {
            cluster.part(name, "start");
        }
        let screen = tmux.search("signal", "Busy Signal");
        for stale in ["offline", "no server", "cannot reach"] {
            assert!(
                !screen.contains(stale),
                "the first answer clears {stale:?}:\n{screen}"
            );
        }
    })
    .await;
}

/// What must survive a restart: counts, every song's bytes by hash, playlists and plays.
async fn snapshot(client: &Client) -> (String, Vec<(i64, String, String)>) {
    let stats = client.stats().await.expect("stats");
    let counts = format!(
        "songs {} albums {} artists {} users {} playlists {} plays {} blobs {} bytes {}",
        stats.songs,
        stats.albums,
        stats.artists,
        stats.users,
        stats.playlists,
        stats.plays,
        stats.blobs,
        stats.logical_bytes
    );
    let mut songs = Vec::new();
    for song in all_songs(client).await {
        let bytes = client
            .stream_song(song.id, None)
            .await
            .expect("stream")
            .bytes()
            .await
            .expect("bytes");
        songs.push((song.id, song.hash.clone(), sha256(&bytes)));
    }
    (counts, songs)
}

#[tokio::test]
async fn a_cluster_stopped_and_started_again_loses_nothing() {
    bounded(async {
        let mut cluster = Cluster::up(&[]);
        let admin = cluster.admin().await;
        let songs = all_songs(&admin).await;
        let playlist = admin
            .create_playlist("Road trip", true)
            .await
            .expect("playlist");
        let ids: Vec<i64> = songs.iter().take(5).map(|s| s.id).collect();
        admin
            .add_to_playlist(playlist.id, &ids, None)
            .await
            .expect("add tracks");
        for id in &ids {
            admin.record_play(*id, Some(30_000)).await.expect("play");
        }
        // Writes through every server at once, all to the catalog's PostgreSQL primary (with
        // CLUSTER_CATALOG=sqlite: one writer at a time across the three, each waiting for
        // the file's lock).
        let mut writers = tokio::task::JoinSet::new();
        for w in 0..4 {
            let (client, ids) = (admin.clone(), ids.clone());
            writers.spawn(async move {
                for i in 0..15 {
                    client
                        .record_play(ids[(w + i) % ids.len()], Some(30_000))
                        .await
                        .expect("a play recorded through the edge");
                }
                client
                    .create_playlist(&format!("writer {w}"), false)
                    .await
                    .expect("a playlist created through the edge");
            });
        }
        while let Some(writer) = writers.join_next().await {
            writer.expect("a writer panicked");
        }
        let stats = admin.stats().await.expect("stats");
        assert_eq!(
            (stats.plays, stats.playlists),
            (5 + 60, 1 + 4),
            "every write landed"
        );
        let before = snapshot(&admin).await;
        assert!(before.1.iter().all(|(_, hash, got)| hash == got));

        cluster.down();
        let pids: Vec<u32> = SERVERS
            .iter()
            .chain(&["edge", "pg-primary", "pg-replica"])
            .filter_map(|name| cluster.pid(name))
            .collect();
        assert!(pids.is_empty(), "down removes every pid file: {pids:?}");
        let running = std::process::Command::new("pgrep")
            .args(["-f", &cluster.state().display().to_string()])
            .output()
            .expect("pgrep");
        assert!(
            running.stdout.is_empty(),
            "nothing of the cluster is left running: {}",
            String::from_utf8_lossy(&running.stdout)
        );

        cluster.start();
        let admin = cluster.admin().await;
        let after = snapshot(&admin).await;
        assert_eq!(before, after, "counts and every song's bytes are the same");
        let detail = admin.playlist(playlist.id).await.expect("the playlist");
        assert_eq!(detail.tracks.iter().map(|s| s.id).collect::<Vec<_>>(), ids);
    })
    .await;
}

/// Every server's own view of the catalog's databases (primary first), straight from its
/// `/readyz`, for `check`.
async fn every_server_sees(
    cluster: &Cluster,
    what: &str,
    check: fn(&cadenza_api::Readiness) -> bool,
) {
    for name in SERVERS {
        let direct = Client::new(&cluster.server_url(name)).expect("server URL");
        eventually(
            &format!("{name} to see {what}"),
            Duration::from_secs(60),
            || {
                let direct = direct.clone();
                async move {
                    direct
                        .readiness()
                        .await
                        .is_ok_and(|r| r.catalog_databases.len() == 2 && check(&r))
                }
            },
        )
        .await;
    }
}

/// What a listener does through the edge: search, browse, and every song streamed whole
/// (the song → blob look-ups read the catalog).
async fn listen_through_the_edge(client: &Client, songs: &[Song]) {
    let found = client
        .search(
            &songs[0].title,
            cadenza_api::SearchType::Song,
            PageRequest::default(),
        )
        .await
        .expect("search through the edge");
    assert!(
        found.songs.items.iter().any(|s| s.id == songs[0].id),
        "search finds {}",
        songs[0].title
    );
    assert_eq!(all_songs(client).await.len(), songs.len(), "browse");
    for song in songs {
        stream_checked(client, song).await;
    }
}

/// A write refused while the primary is down: 503 `catalog_read_only` with Retry-After, as
/// the edge passes it on; returns the server that answered.
async fn refused_write(response: reqwest::Response) -> String {
    let status = response.status().as_u16();
    let server = response
        .headers()
        .get("x-cadenza-server")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let body: serde_json::Value = response.json().await.expect("a JSON error body");
    assert_eq!(status, 503, "{server}: {body}");
    assert_eq!(
        body["error"]["code"], "catalog_read_only",
        "{server}: {body}"
    );
    assert!(
        retry.is_some_and(|s| s >= 1),
        "{server}: Retry-After {retry:?}"
    );
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_replica_then_its_primary_stopped_listening_goes_on_and_writes_wait() {
    bounded(async {
        // The default cluster: its catalog on a PostgreSQL primary with a streaming replica.
        let cluster = Cluster::up(&[]);
        let admin = cluster.admin().await;
        let songs = all_songs(&admin).await;
        assert!(songs.len() >= 10, "the fixture catalog is ingested");
        let ids: Vec<i64> = songs.iter().take(3).map(|s| s.id).collect();
        let web_pids: Vec<Option<u32>> = SERVERS.iter().map(|s| cluster.pid(s)).collect();
        every_server_sees(&cluster, "the replica serving reads", |r| {
            r.catalog_databases[0].role == "primary"
                && r.catalog_databases[1].serving_reads
                && !r.catalog_read_only
        })
        .await;

        // (a) The replica stopped: reads go to the primary, writes go on.
        cluster.part("pg-replica", "stop");
        every_server_sees(&cluster, "the replica down", |r| {
            !r.catalog_databases[1].up
        })
        .await;
        listen_through_the_edge(&admin, &songs).await;
        let during = admin
            .create_playlist("Replica down", false)
            .await
            .expect("a playlist created with the replica down");
        admin
            .add_to_playlist(during.id, &ids, None)
            .await
            .expect("tracks added with the replica down");
        admin
            .record_play(ids[0], Some(30_000))
            .await
            .expect("a play recorded with the replica down");
        cluster.part("pg-replica", "start");
        every_server_sees(&cluster, "the replica serving reads again", |r| {
            r.catalog_databases[1].serving_reads
        })
        .await;
        let plays_before = eventually_stats(&admin, |s| s.plays >= 1).await.plays;

        // (b) The primary stopped: listening, browsing and search go on from the replica on
        // every server; writes through the edge are refused, whichever server answers.
        cluster.part("pg-primary", "stop");
        every_server_sees(&cluster, "the catalog read-only", |r| {
            r.ready && r.catalog_read_only && !r.catalog_databases[0].up
        })
        .await;
        let status = cluster.try_script(&["status"]);
        let status_text = String::from_utf8_lossy(&status.stdout);
        assert_eq!(status.status.code(), Some(1), "a part is down:\n{status_text}");
        assert!(
            status_text.lines().any(|l| l.starts_with("pg-primary DOWN"))
                && status_text
                    .lines()
                    .any(|l| l.starts_with("pg-replica up") && l.contains("replica")),
            "{status_text}"
        );
        listen_through_the_edge(&admin, &songs).await;
        let mut refused_by = Vec::new();
        for n in 0..SERVERS.len() * 2 {
            let response = if n % 2 == 0 {
                admin
                    .request(Method::POST, "/playlists")
                    .expect("route")
                    .json(&serde_json::json!({ "name": "Refused", "public": false }))
            } else {
                admin
                    .request(Method::POST, "/plays")
                    .expect("route")
                    .json(&serde_json::json!({ "song_id": ids[1] }))
            }
            .send()
            .await
            .expect("the edge answers");
            refused_by.push(refused_write(response).await);
        }
        eprintln!("writes refused by {refused_by:?}");
        let err = admin
            .add_to_playlist(during.id, &ids, None)
            .await
            .expect_err("adding tracks is refused");
        assert!(
            matches!(&err, ClientError::Api { status: 503, code, .. } if code == "catalog_read_only"),
            "{err:?}"
        );
        // The user's own data reads the replica meanwhile: nothing half-written shows.
        let mine = admin
            .playlists(PageRequest::default())
            .await
            .expect("own playlists from the replica");
        let names: Vec<&str> = mine.items.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Replica down"], "nothing refused was written");

        // (c) The primary back: each server's health check (twice a second) finds it, and
        // then writes go through every server again, none restarted.
        cluster.part("pg-primary", "start");
        every_server_sees(&cluster, "writes taken again", |r| {
            !r.catalog_read_only && r.catalog_databases[0].up
        })
        .await;
        let after = admin
            .create_playlist("After", false)
            .await
            .expect("a playlist created once the primary is back");
        for n in 0..SERVERS.len() {
            admin
                .record_play(ids[n % ids.len()], Some(30_000))
                .await
                .expect("a play recorded once the primary is back");
        }
        let web_pids_after: Vec<Option<u32>> = SERVERS.iter().map(|s| cluster.pid(s)).collect();
        assert_eq!(web_pids, web_pids_after, "no server was restarted");
        let mine = admin
            .playlists(PageRequest::default())
            .await
            .expect("own playlists");
        let mut names: Vec<&str> = mine.items.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["After", "Replica down"], "exactly the writes that succeeded");
        let detail = admin.playlist(during.id).await.expect("the playlist");
        assert_eq!(detail.tracks.iter().map(|s| s.id).collect::<Vec<_>>(), ids);
        assert!(admin.playlist(after.id).await.expect("the new one").tracks.is_empty());
        let stats = eventually_stats(&admin, |s| {
            s.plays >= plays_before + 3 && s.playlists >= 2
        })
        .await;
        assert_eq!(
            (stats.plays, stats.playlists),
            (plays_before + 3, 2),
            "no refused play or playlist was counted"
        );
    })
    .await;
}

/// The catalog's counts once `check` holds (they are read from the replica, which may be a
/// moment behind the primary).
async fn eventually_stats(
    client: &Client,
    check: impl Fn(&cadenza_api::Stats) -> bool,
) -> cadenza_api::Stats {
    eventually_ok("the counts to catch up", || async {
        client.stats().await.ok().filter(&check)
    })
    .await
}

/// Polls `attempt` until it gives a value, for at most a minute (then panics with `what`).
async fn eventually_ok<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = attempt().await {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
