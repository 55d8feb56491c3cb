//! `cadenza-admin ingest` against a real `cadenza-server` with the files real libraries are
//! full of: damaged and multi-valued tags, compilations, Apple formats, an audiobook, a
//! FLAC with a cue sheet, MP3s whose header lies, and formats the player cannot decode.
//! Each is ingested with every tag value and the warnings its manifest entry names, or
//! refused with its format named. (The player decodes each ingested file to its tone in
//! tui-player's `decode_fixtures` tests.)

mod admin_support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use admin_support::*;
use cadenza_api::{Client, PageRequest, SearchType, Song};
use cadenza_fixtures::{GoodFile, Manifest, RejectReason};
use cadenza_tests::{fixtures_dir, Server};
use serde_json::Value;

const PAGE: PageRequest = PageRequest {
    limit: 200,
    offset: 0,
};

/// The fixture library, the unsupported files in a folder of their own, and one of them
/// again under a name that says nothing: content alone must give it away.
fn build_library(root: &Path) -> PathBuf {
    let library = root.join("library");
    copy_tree(&fixtures_dir().join("audio"), &library.join("audio"));
    copy_tree(
        &fixtures_dir().join("bad/unsupported"),
        &library.join("unsupported"),
    );
    std::fs::create_dir_all(library.join("unsupported/misnamed")).unwrap();
    std::fs::copy(
        fixtures_dir().join("bad/unsupported/dolby.ac3"),
        library.join("unsupported/misnamed/track.bin"),
    )
    .unwrap();
    library
}

fn json(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}: {raw}"))
}

/// The warning codes of a report line or summary entry.
fn codes(warnings: &Value) -> Vec<String> {
    warnings
        .as_array()
        .map(|list| {
            list.iter()
                .map(|w| w["code"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn names(song: &Song) -> Vec<&str> {
    song.artists.iter().map(|a| a.name.as_str()).collect()
}

async fn song_titles(client: &Client, query: &str) -> Vec<String> {
    let found = client.search(query, SearchType::Song, PAGE).await.unwrap();
    found.songs.items.into_iter().map(|s| s.title).collect()
}

#[tokio::test]
async fn every_file_that_plays_gets_in_with_every_tag_and_the_rest_is_named() {
    let server = Server::start();
    let token = admin_token(&server).await;
    let client = server.admin().await;
    let manifest: Manifest = cadenza_fixtures::load_manifest().unwrap();
    let work = tempfile::tempdir().unwrap();
    let library = build_library(work.path());
    let report = work.path().join("report.jsonl");

    let run = admin(
        &server,
        &token,
        &[
            "ingest",
            library.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
    )
    .expect_code(1);
    let lines = read_report(&report);

    // Unsupported formats fail with their name and what to do, by extension or content.
    let mut unsupported: Vec<(PathBuf, &str)> = manifest
        .bad_files()
        .filter(|bad| bad.reason == RejectReason::UnsupportedFormat)
        .map(|bad| {
            let name = Path::new(&bad.path).file_name().unwrap();
            let name_given = bad.unsupported_format.as_deref().unwrap();
            (library.join("unsupported").join(name), name_given)
        })
        .collect();
    unsupported.push((library.join("unsupported/misnamed/track.bin"), "AC-3"));
    for (path, format) in &unsupported {
        let line = line_for(&lines, path);
        assert_eq!(line.status, "failed", "{}", line.raw);
        let reason = line.string("reason").unwrap_or_default();
        assert!(
            reason.starts_with(&format!("unsupported format {format}"))
                && reason.contains("convert it to FLAC"),
            "{}: {reason}",
            path.display()
        );
        assert!(run.stdout.contains(&reason), "{}", run.stdout);
    }
    assert_eq!(
        lines.iter().filter(|l| l.status == "failed").count(),
        unsupported.len(),
        "only the unsupported files fail"
    );

    // Every good file is in, with the warnings the manifest names and no others.
    let good: Vec<&GoodFile> = manifest.good_files().collect();
    for file in &good {
        let line = line_for(&lines, &library.join(&file.path));
        assert_eq!(line.status, "ingested", "{}", line.raw);
        let found = codes(&json(&line.raw)["warnings"]);
        assert_eq!(found, file.warnings, "{}", line.raw);
    }
    assert!(
        run.stdout.contains("Accepted with problems to fix"),
        "{}",
        run.stdout
    );

    // With every artist and genre, filed under the album artist, with the length that plays.
    let songs = client.songs(PAGE).await.unwrap().items;
    assert_eq!(songs.len(), good.len());
    let by_title: HashMap<&str, &Song> = songs.iter().map(|s| (s.title.as_str(), s)).collect();
    for file in &good {
        let song = by_title
            .get(file.title.as_str())
            .unwrap_or_else(|| panic!("{} is missing", file.path));
        assert_eq!(names(song), file.artists, "{}", file.path);
        assert_eq!(song.artist, file.artist, "{}", file.path);
        assert_eq!(song.genres, file.genres, "{}", file.path);
        assert_eq!(song.genre, file.genre, "{}", file.path);
        assert!(
            file.duration_matches(Duration::from_millis(song.duration_ms)),
            "{}: {} ms, expected {} ± {} ms",
            file.path,
            song.duration_ms,
            file.duration_ms,
            file.duration_tolerance_ms
        );
        let album = client.album(song.album_id).await.unwrap().album;
        let filed_under = file.album_artist.as_deref().unwrap_or(&file.artists[0]);
        assert_eq!(album.artist, filed_under, "{}", file.path);
    }

    // The compilation is one album of three artists' songs, under "Various Artists".
    let compilation: Vec<&&Song> = songs_on(&by_title, &good, "Odd Couples");
    assert_eq!(compilation.len(), 3);
    let album = client.album(compilation[0].album_id).await.unwrap();
    assert_eq!(album.album.artist, "Various Artists");
    assert_eq!(album.album.song_count, 3);
    let credits: Vec<&str> = album.tracks.iter().map(|s| s.artist.as_str()).collect();
    assert_eq!(
        credits,
        [
            "Alpha Singer, Beta Singer",
            "Beta Singer, Gamma Singer",
            "Gamma Singer"
        ]
    );

    // The two-artist songs are found, and listed, under either artist.
    for (query, expected) in [
        ("Alpha Singer", vec!["Two Voices"]),
        ("Beta Singer", vec!["Shared Chorus", "Two Voices"]),
        ("Gamma Singer", vec!["Flagged", "Shared Chorus"]),
    ] {
        let mut titles = song_titles(&client, query).await;
        titles.sort();
        assert_eq!(titles, expected, "searching {query}");
        let artists = client
            .search(query, SearchType::Artist, PAGE)
            .await
            .unwrap()
            .artists
            .items;
        assert_eq!(artists.len(), 1, "{query}: {artists:?}");
        let page = client.artist(artists[0].id).await.unwrap();
        let mut top: Vec<&str> = page.top_songs.iter().map(|s| s.title.as_str()).collect();
        top.sort();
        assert_eq!(top, expected, "{query}'s page");
        let albums: Vec<&str> = page.albums.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(albums, ["Odd Couples"], "{query}'s page");
    }
    // And under each of their genres: Pop is the second genre of "Two Voices".
    let pop: Vec<String> = client
        .genre_songs("Pop", PAGE)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|s| s.title)
        .collect();
    for title in ["Two Voices", "Shared Chorus"] {
        assert!(pop.iter().any(|t| t == title), "{title} not in {pop:?}");
    }
}

fn songs_on<'a>(
    by_title: &'a HashMap<&str, &'a Song>,
    good: &[&GoodFile],
    album: &str,
) -> Vec<&'a &'a Song> {
    good.iter()
        .filter(|file| file.album.as_deref() == Some(album))
        .filter_map(|file| by_title.get(file.title.as_str()))
        .collect()
}

/// A dry run with no server probes locally and still lists each file's warnings in its
/// `--json` summary, so tags can be fixed before a large import.
#[test]
fn a_dry_run_lists_the_warnings_before_anything_is_uploaded() {
    let manifest = cadenza_fixtures::load_manifest().unwrap();
    let home = tempfile::tempdir().unwrap();
    let audio = fixtures_dir().join("audio");
    let run = run_with_stdin(
        {
            let mut command = admin_command(home.path());
            command.args(["ingest", audio.to_str().unwrap(), "--dry-run", "--json"]);
            command
        },
        None,
    )
    .expect_code(0);
    assert!(run.stderr.contains("no server to ask"), "{}", run.stderr);
    let summary = json(&run.stdout);
    let listed: HashMap<String, Vec<String>> = summary["warnings"]
        .as_array()
        .expect("a warnings list")
        .iter()
        .map(|entry| {
            let path = entry["path"].as_str().unwrap_or_default().to_string();
            (path, codes(&entry["warnings"]))
        })
        .collect();
    let warned: Vec<&GoodFile> = manifest
        .good_files()
        .filter(|g| !g.warnings.is_empty())
        .collect();
    assert_eq!(listed.len(), warned.len(), "{listed:?}");
    for file in warned {
        let path = fixtures_dir().join(&file.path).display().to_string();
        assert_eq!(listed.get(&path), Some(&file.warnings), "{path}");
    }
    for entry in summary["warnings"].as_array().unwrap() {
        for warning in entry["warnings"].as_array().unwrap() {
            let message = warning["message"].as_str().unwrap_or_default();
            assert!(
                message.len() > 40,
                "a sentence that says what to do: {message}"
            );
        }
    }
}
