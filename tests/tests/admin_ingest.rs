//! `cadenza-admin ingest` against a real `cadenza-server`: the fixture library with its
//! bad files, tag overrides, re-runs that skip everything, and runs killed midway.

mod admin_support;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use admin_support::*;
use cadenza_api::{Client, PageRequest, SearchType, Song};
use cadenza_fixtures::{Entry, GoodFile};
use cadenza_tests::{fixtures_dir, Server};

/// The fixture song that is renamed without an audio extension: only its content says
/// it is audio.
const RENAMED: &str = "audio/Björk/Frequency Garden/03 Geyser.mp3";
const RENAMED_TO: &str = "audio/Björk/Frequency Garden/03 Geyser.track";

/// Where a manifest entry lives in the test library.
fn library_path(library: &Path, fixture_path: &str) -> PathBuf {
    if fixture_path == RENAMED {
        library.join(RENAMED_TO)
    } else {
        library.join(fixture_path)
    }
}

/// A copy of every fixture, good and bad, plus files that are not audio at all.
fn build_library(root: &Path) -> PathBuf {
    let library = root.join("library");
    copy_tree(&fixtures_dir().join("audio"), &library.join("audio"));
    copy_tree(&fixtures_dir().join("bad"), &library.join("bad"));
    std::fs::rename(library.join(RENAMED), library.join(RENAMED_TO)).unwrap();
    std::fs::write(library.join("audio/notes.txt"), "Recorded in one take.\n").unwrap();
    std::fs::write(
        library.join("audio/Björk/folder.jpg"),
        [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0],
    )
    .unwrap();
    library
}

async fn all_songs(client: &Client) -> Vec<Song> {
    let mut songs = Vec::new();
    loop {
        let page = client
            .songs(PageRequest {
                limit: 200,
                offset: songs.len() as u32,
            })
            .await
            .expect("list songs");
        let done = page.items.is_empty() || songs.len() + page.items.len() >= page.total as usize;
        songs.extend(page.items);
        if done {
            return songs;
        }
    }
}

/// Finds a fixture's song through search, as a listener would.
async fn search_song(client: &Client, good: &GoodFile) -> Song {
    let results = client
        .search(
            &good.title,
            SearchType::Song,
            PageRequest {
                limit: 50,
                offset: 0,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("search for {:?}: {e}", good.title));
    results
        .songs
        .items
        .into_iter()
        .find(|s| s.title == good.title && s.artist == good.artist)
        .unwrap_or_else(|| panic!("{:?} by {:?} is not searchable", good.title, good.artist))
}

#[tokio::test]
async fn ingesting_the_fixture_library_reports_bad_files_and_a_rerun_skips_everything() {
    let server = Server::start();
    let token = admin_token(&server).await;
    let client = server.admin().await;
    let manifest = cadenza_fixtures::load_manifest().unwrap();
    let good: Vec<&GoodFile> = manifest.good_files().collect();
    let work = tempfile::tempdir().unwrap();
    let library = build_library(work.path());
    let lib = library.to_str().unwrap();

    // A dry run reads everything locally and uploads nothing.
    let dry_report = work.path().join("dry.jsonl");
    let dry = admin(
        &server,
        &token,
        &[
            "ingest",
            lib,
            "--dry-run",
            "--report",
            dry_report.to_str().unwrap(),
        ],
    )
    .expect_code(1);
    assert!(
        dry.stdout
            .contains(&format!("Would ingest {} files", good.len())),
        "{}",
        dry.stdout
    );
    for line in read_report(&dry_report) {
        assert_ne!(line.status, "ingested", "{}", line.raw);
    }
    assert!(
        all_songs(&client).await.is_empty(),
        "a dry run uploaded something"
    );

    // The real run: bad files fail alone, the rest is ingested; exit code 1.
    let report = work.path().join("report.jsonl");
    let run = admin(
        &server,
        &token,
        &[
            "ingest",
            lib,
            "--jobs",
            "3",
            "--report",
            report.to_str().unwrap(),
        ],
    )
    .expect_code(1);
    assert!(
        run.stdout
            .contains(&format!("Ingested {} files", good.len())),
        "{}",
        run.stdout
    );
    let lines = read_report(&report);
    assert_eq!(lines.len(), manifest.files.len() + 2, "one line per file");
    for entry in &manifest.files {
        let path = library_path(&library, entry.path());
        let line = line_for(&lines, &path);
        match entry {
            Entry::Good(good) => {
                assert_eq!(line.status, "ingested", "{}", line.raw);
                assert!(line.number("song_id").is_some(), "{}", line.raw);
                if good.tags_missing {
                    assert!(line.raw.contains("\"missing_tags\":["), "{}", line.raw);
                    assert!(
                        run.stdout.contains(&path.display().to_string()),
                        "{}",
                        run.stdout
                    );
                }
            }
            Entry::Bad(bad) => {
                assert_eq!(line.status, "failed", "{}", line.raw);
                let reason = line.string("reason").unwrap_or_default();
                assert!(!reason.is_empty(), "{}", line.raw);
                assert!(
                    run.stdout
                        .contains(&format!("{}: {reason}", path.display())),
                    "the summary lists {} with its reason:\n{}",
                    bad.path,
                    run.stdout
                );
            }
        }
    }
    for stray in ["audio/notes.txt", "audio/Björk/folder.jpg"] {
        assert_eq!(line_for(&lines, &library.join(stray)).status, "ignored");
    }

    // Every good file is searchable, with the right tags and duration.
    let songs = all_songs(&client).await;
    assert_eq!(songs.len(), good.len());
    for good in &good {
        let song = search_song(&client, good).await;
        if let Some(album) = &good.album {
            assert_eq!(&song.album, album, "{}", good.path);
        }
        assert_eq!(song.track, good.track, "{}", good.path);
        assert_eq!(song.genre, good.genre, "{}", good.path);
        assert_eq!(song.year, good.year.map(i32::from), "{}", good.path);
        assert!(
            good.duration_matches(Duration::from_millis(song.duration_ms)),
            "{}: {} ms, expected {} ± {} ms",
            good.path,
            song.duration_ms,
            good.duration_ms,
            good.duration_tolerance_ms
        );
        if good.has_cover_art() {
            let album = client.album(song.album_id).await.unwrap().album;
            assert!(
                album.has_cover,
                "{}: the embedded cover became no album cover",
                good.path
            );
        }
    }

    // A second run skips every good file and uploads nothing.
    let again_report = work.path().join("again.jsonl");
    let again = admin(
        &server,
        &token,
        &[
            "ingest",
            lib,
            "--report",
            again_report.to_str().unwrap(),
            "--json",
        ],
    )
    .expect_code(1);
    assert!(again.stdout.contains("\"ingested\": 0"), "{}", again.stdout);
    assert!(
        again
            .stdout
            .contains(&format!("\"skipped\": {}", good.len())),
        "{}",
        again.stdout
    );
    let again_lines = read_report(&again_report);
    for good in &good {
        let line = line_for(&again_lines, &library_path(&library, &good.path));
        assert_eq!(line.status, "skipped", "{}", line.raw);
    }
    assert_eq!(all_songs(&client).await.len(), good.len());
}

#[tokio::test]
async fn a_manifest_overrides_bad_tags() {
    let server = Server::start();
    let token = admin_token(&server).await;
    let client = server.admin().await;
    let work = tempfile::tempdir().unwrap();
    let rips = work.path().join("rips");
    std::fs::create_dir_all(&rips).unwrap();
    std::fs::copy(
        fixtures_dir().join("audio/Unsorted/untitled.mp3"),
        rips.join("track01.mp3"),
    )
    .unwrap();
    std::fs::copy(
        fixtures_dir().join("audio/Unsorted/field recording 03.wav"),
        rips.join("track02.wav"),
    )
    .unwrap();
    let csv = work.path().join("fixes.csv");
    std::fs::write(
        &csv,
        "path,title,artist,album,genre,track,year\n\
         rips/track01.mp3,\"Dawn, Again\",Manifest Artist,Found Tapes,Field,1,1999\n",
    )
    .unwrap();
    let run = admin(
        &server,
        &token,
        &[
            "ingest",
            rips.to_str().unwrap(),
            "--manifest",
            csv.to_str().unwrap(),
        ],
    )
    .expect_code(0);
    assert!(run.stdout.contains("Ingested 2 files"), "{}", run.stdout);
    // The file the manifest does not cover keeps its fallbacks, and is flagged.
    assert!(
        run.stdout.contains("track02.wav: title, artist"),
        "{}",
        run.stdout
    );

    let songs = all_songs(&client).await;
    let dawn = songs
        .iter()
        .find(|s| s.title == "Dawn, Again")
        .unwrap_or_else(|| panic!("no overridden title among {songs:?}"));
    assert_eq!(dawn.artist, "Manifest Artist");
    assert_eq!(dawn.album, "Found Tapes");
    assert_eq!(dawn.genre.as_deref(), Some("Field"));
    assert_eq!((dawn.track, dawn.year), (Some(1), Some(1999)));
    let other = songs.iter().find(|s| s.id != dawn.id).unwrap();
    assert_eq!(other.title, "track02");
    assert_eq!(other.artist, cadenza_fixtures::UNKNOWN_ARTIST);

    // A JSON-lines manifest with a typo in a column is refused before anything runs.
    let bad = work.path().join("fixes.jsonl");
    std::fs::write(&bad, "{\"path\": \"rips/track01.mp3\", \"titel\": \"x\"}\n").unwrap();
    let refused = admin(
        &server,
        &token,
        &[
            "ingest",
            rips.to_str().unwrap(),
            "--manifest",
            bad.to_str().unwrap(),
        ],
    )
    .expect_code(2);
    assert!(
        refused.stderr.contains("unknown column `titel`"),
        "{}",
        refused.stderr
    );
}

/// `count` distinct copies of an untagged WAV (one PCM byte differs in each), so each
/// is a song of its own with its own title.
fn distinct_wavs(dir: &Path, count: usize) -> Vec<PathBuf> {
    let original =
        std::fs::read(fixtures_dir().join("audio/Unsorted/field recording 03.wav")).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    (0..count)
        .map(|i| {
            let mut bytes = original.clone();
            // Untagged: the data chunk runs to the end, so this byte is a sample.
            let at = bytes.len() - 2 - (i % 1000) * 2;
            bytes[at] = bytes[at].wrapping_add(1 + (i / 1000) as u8);
            let path = dir.join(format!("take {i:03}.wav"));
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

/// Waits until the server has at least `n` songs.
async fn wait_for_songs(client: &Client, n: u64, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let total = client
            .songs(PageRequest {
                limit: 1,
                offset: 0,
            })
            .await
            .unwrap()
            .total;
        if total >= n {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the ingest ended ({status}) before {n} songs were uploaded");
        }
        assert!(Instant::now() < deadline, "no progress within 120 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn signal(child: &std::process::Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn an_interrupted_or_killed_ingest_finishes_on_rerun_with_each_file_once() {
    const FILES: usize = 150;
    let server = Server::start();
    let token = admin_token(&server).await;
    let client = server.admin().await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("takes");
    let files = distinct_wavs(&dir, FILES);
    let takes = dir.to_str().unwrap();
    let home = work.path().join("home");

    // Ctrl-C after a few uploads: a clean stop with exit code 130.
    let report = work.path().join("interrupted.jsonl");
    let mut child = spawn_admin(
        &server,
        &token,
        &home,
        &[
            "ingest",
            takes,
            "--jobs",
            "1",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    wait_for_songs(&client, 3, &mut child).await;
    signal(&child, "INT");
    let interrupted = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&interrupted.stdout);
    assert_eq!(interrupted.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("Interrupted"), "{stdout}");
    let after_interrupt = all_songs(&client).await;
    assert!(
        after_interrupt.len() < FILES,
        "the run finished before the interrupt"
    );
    // Whatever the report says was ingested is on the server, whole.
    let lines = read_report(&report);
    for line in lines.iter().filter(|l| l.status == "ingested") {
        let id = line.number("song_id").unwrap() as i64;
        let song = after_interrupt.iter().find(|s| s.id == id).unwrap();
        assert_eq!(song.hash, sha256(Path::new(&line.path)), "{}", line.path);
    }
    // No partial song: every song's audio streams whole and matches its hash.
    for song in &after_interrupt {
        let audio = client
            .stream_song(song.id, None)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(audio.len() as u64, song.size, "song {} is partial", song.id);
    }

    // SIGKILL midway: no chance to clean up at all.
    let mut child = spawn_admin(&server, &token, &home, &["ingest", takes, "--jobs", "2"]);
    wait_for_songs(&client, after_interrupt.len() as u64 + 3, &mut child).await;
    signal(&child, "KILL");
    child.wait().unwrap();
    let after_kill = all_songs(&client).await.len();
    assert!(after_kill < FILES, "the run finished before the kill");

    // The re-run does only the rest.
    let final_report = work.path().join("final.jsonl");
    admin(
        &server,
        &token,
        &["ingest", takes, "--report", final_report.to_str().unwrap()],
    )
    .expect_code(0);
    let lines = read_report(&final_report);
    let skipped = lines.iter().filter(|l| l.status == "skipped").count();
    let ingested = lines.iter().filter(|l| l.status == "ingested").count();
    assert_eq!((skipped, ingested), (after_kill, FILES - after_kill));

    // Every file exactly once.
    let songs = all_songs(&client).await;
    assert_eq!(songs.len(), FILES);
    let hashes: HashSet<&str> = songs.iter().map(|s| s.hash.as_str()).collect();
    assert_eq!(hashes.len(), FILES);
    for file in &files {
        assert!(
            hashes.contains(sha256(file).as_str()),
            "{} is missing",
            file.display()
        );
    }
}

#[tokio::test]
async fn a_file_over_the_upload_limit_fails_alone() {
    let server = Server::start_with(&["--max-upload", "50000"]);
    let token = admin_token(&server).await;
    let album = fixtures_dir().join("audio/坂本龍一/静かな波形");
    let work = tempfile::tempdir().unwrap();
    let report = work.path().join("report.jsonl");
    let run = admin(
        &server,
        &token,
        &[
            "ingest",
            album.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
    )
    .expect_code(1);
    let lines = read_report(&report);
    for file in std::fs::read_dir(&album).unwrap() {
        let path = file.unwrap().path();
        let line = line_for(&lines, &path);
        if std::fs::metadata(&path).unwrap().len() > 50_000 {
            assert_eq!(line.status, "failed", "{}", line.raw);
            let reason = line.string("reason").unwrap();
            // Refused before sending (the check answer carries the limit), so the reason
            // names the setting rather than a connection reset mid-upload.
            assert!(
                reason.contains("larger than this server accepts"),
                "{reason}"
            );
            assert!(reason.contains("--max-upload"), "{reason}");
        } else {
            assert_eq!(line.status, "ingested", "{}", line.raw);
        }
    }
    assert!(run.stdout.contains("Ingested 2 files"), "{}", run.stdout);
}
