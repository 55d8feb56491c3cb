//! `cadenza-admin podcasts add` with a feed and episodes served from 127.0.0.1.

mod admin_support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use admin_support::*;
use cadenza_api::PageRequest;
use cadenza_fixtures::GoodFile;
use cadenza_tests::Server;

/// A tiny HTTP/1.1 file server on 127.0.0.1 that counts requests per path, can change its
/// files, and can hold a path's answers for a while (to see whether two readers overlap).
struct FeedServer {
    base: String,
    files: Files,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    /// Requests being answered now, and the most there ever were at once, per path.
    in_flight: Arc<Mutex<HashMap<String, (usize, usize)>>>,
    slow: Arc<Mutex<HashMap<String, Duration>>>,
}

type Files = Arc<Mutex<HashMap<String, (Vec<u8>, &'static str)>>>;

impl FeedServer {
    fn start(files: HashMap<String, (Vec<u8>, &'static str)>) -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = FeedServer {
            base,
            files: Arc::new(Mutex::new(files)),
            hits: Arc::default(),
            in_flight: Arc::default(),
            slow: Arc::default(),
        };
        let (files, hits, in_flight, slow) = (
            server.files.clone(),
            server.hits.clone(),
            server.in_flight.clone(),
            server.slow.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (files, hits, in_flight, slow) =
                    (files.clone(), hits.clone(), in_flight.clone(), slow.clone());
                std::thread::spawn(move || answer(stream, &files, &hits, &in_flight, &slow));
            }
        });
        server
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn most_at_once(&self, path: &str) -> usize {
        self.in_flight.lock().unwrap().get(path).map_or(0, |c| c.1)
    }

    fn set(&self, path: &str, body: Vec<u8>, content_type: &'static str) {
        self.files
            .lock()
            .unwrap()
            .insert(path.to_string(), (body, content_type));
    }

    fn remove(&self, path: &str) {
        self.files.lock().unwrap().remove(path);
    }

    fn slow_down(&self, path: &str, by: Duration) {
        self.slow.lock().unwrap().insert(path.to_string(), by);
    }
}

fn answer(
    mut stream: std::net::TcpStream,
    files: &Files,
    hits: &Mutex<HashMap<String, usize>>,
    in_flight: &Mutex<HashMap<String, (usize, usize)>>,
    slow: &Mutex<HashMap<String, Duration>>,
) {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    // Skip the headers.
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    *hits.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
    {
        let mut flights = in_flight.lock().unwrap();
        let entry = flights.entry(path.clone()).or_insert((0, 0));
        entry.0 += 1;
        entry.1 = entry.1.max(entry.0);
    }
    let delay = slow.lock().unwrap().get(&path).copied();
    if let Some(delay) = delay {
        std::thread::sleep(delay);
    }
    let file = files.lock().unwrap().get(&path).cloned();
    let response = match file {
        Some((body, content_type)) => {
            let mut head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            head.extend_from_slice(&body);
            head
        }
        None => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
    };
    stream.write_all(&response).ok();
    in_flight.lock().unwrap().entry(path).or_insert((1, 1)).0 -= 1;
}

fn feed_xml(items: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel>
  <title>Cadenza Radio</title>
  <link>http://127.0.0.1/</link>
  <description>Why sines never go out of tune.</description>
  <itunes:author>Cadenza Radio</itunes:author>
"#,
    );
    for (guid, title, url, content_type) in items {
        xml.push_str(&format!(
            "  <item><title>{title}</title><guid isPermaLink=\"false\">{guid}</guid>\
             <pubDate>Tue, 09 Jan 2024 10:00:00 +0000</pubDate>\
             <enclosure url=\"{url}\" length=\"0\" type=\"{content_type}\"/></item>\n"
        ));
    }
    xml.push_str("</channel>\n</rss>\n");
    xml.into_bytes()
}

/// The two podcast fixtures served as enclosures, and the feed items pointing at them:
/// (guid, title, path on the feed server, content type).
struct Episodes {
    files: Vec<GoodFile>,
    served: HashMap<String, (Vec<u8>, &'static str)>,
    items: Vec<(String, String, String, &'static str)>,
}

fn podcast_episodes() -> Episodes {
    let manifest = cadenza_fixtures::load_manifest().unwrap();
    let files: Vec<GoodFile> = manifest
        .good_files()
        .filter(|g| g.path.starts_with("audio/podcast/"))
        .cloned()
        .collect();
    assert_eq!(files.len(), 2, "the fixtures have two podcast episodes");
    let mut served = HashMap::new();
    let mut items = Vec::new();
    for (i, episode) in files.iter().enumerate() {
        let name = format!("/episodes/{}", episode.path.rsplit('/').next().unwrap());
        let content_type = if name.ends_with(".m4a") {
            "audio/mp4"
        } else {
            "audio/mpeg"
        };
        served.insert(
            name.clone(),
            (
                std::fs::read(episode.absolute_path()).unwrap(),
                content_type,
            ),
        );
        items.push((
            format!("cadenza-weekly-{i}"),
            episode.title.clone(),
            name,
            content_type,
        ));
    }
    Episodes {
        files,
        served,
        items,
    }
}

impl Episodes {
    /// A feed of the first `n` items, with relative enclosure URLs (the feed's own URL
    /// resolves them).
    fn feed(&self, n: usize) -> Vec<u8> {
        let refs: Vec<(&str, &str, &str, &str)> = self.items[..n]
            .iter()
            .map(|(g, t, u, c)| (g.as_str(), t.as_str(), &u[1..], *c))
            .collect();
        feed_xml(&refs)
    }
}

#[tokio::test]
async fn a_local_feed_is_ingested_and_reingested_without_duplicates() {
    let server = Server::start();
    let token = admin_token(&server).await;
    let client = server.admin().await;
    let fixture = podcast_episodes();
    let episodes = &fixture.files;
    let items = &fixture.items;
    let mut files = fixture.served.clone();
    files.insert("/feed.xml".into(), (fixture.feed(2), "application/rss+xml"));
    let feeds = FeedServer::start(files);
    let feed_url = format!("{}/feed.xml", feeds.base);

    let first = admin(&server, &token, &["podcasts", "add", &feed_url]).expect_code(0);
    assert!(
        first.stdout.contains("Ingested 2 new episodes"),
        "{}",
        first.stdout
    );

    let podcasts = client
        .podcasts(PageRequest {
            limit: 10,
            offset: 0,
        })
        .await
        .unwrap();
    assert_eq!(podcasts.items.len(), 1);
    let podcast = &podcasts.items[0];
    assert_eq!(podcast.title, "Cadenza Radio");
    assert_eq!(podcast.feed_url.as_deref(), Some(feed_url.as_str()));
    let detail = client.podcast(podcast.id).await.unwrap();
    assert_eq!(detail.episodes.len(), 2);
    for (i, episode) in episodes.iter().enumerate() {
        let guid = format!("cadenza-weekly-{i}");
        let stored = detail
            .episodes
            .iter()
            .find(|e| e.guid == guid)
            .unwrap_or_else(|| panic!("no episode {guid}"));
        assert_eq!(stored.title, episode.title);
        assert_eq!(stored.published_at, Some(1_704_794_400));
        assert!(
            episode.duration_matches(Duration::from_millis(stored.duration_ms)),
            "{}: {} ms",
            episode.path,
            stored.duration_ms
        );
        assert_eq!(stored.hash, sha256(&episode.absolute_path()));
    }

    // The same feed again: nothing new is downloaded or created.
    let second = admin(&server, &token, &["podcasts", "add", &feed_url]).expect_code(0);
    assert!(
        second
            .stdout
            .contains("Ingested 0 new episodes; 2 already on the server"),
        "{}",
        second.stdout
    );
    let detail = client.podcast(podcast.id).await.unwrap();
    assert_eq!(detail.episodes.len(), 2);
    let podcasts = client
        .podcasts(PageRequest {
            limit: 10,
            offset: 0,
        })
        .await
        .unwrap();
    assert_eq!(podcasts.total, 1, "the re-run created a second podcast");
    assert_eq!(feeds.hits("/feed.xml"), 2);
    for (_, _, url, _) in items {
        assert_eq!(feeds.hits(url), 1, "{url} was downloaded again");
    }

    // A feed URL that answers 404 is one clear sentence and exit code 2.
    let missing = admin(
        &server,
        &token,
        &["podcasts", "add", &format!("{}/nope.xml", feeds.base)],
    )
    .expect_code(2);
    missing.expect_one_sentence();
    assert!(missing.stderr.contains("404"), "{}", missing.stderr);
}

/// Calls the Subsonic API of `server` with an API key; the JSON `subsonic-response`.
async fn subsonic(
    server: &Server,
    key: &str,
    name: &str,
    params: &[(&str, &str)],
) -> serde_json::Value {
    let mut query = vec![
        ("v", "1.16.1"),
        ("c", "test"),
        ("f", "json"),
        ("apiKey", key),
    ];
    query.extend_from_slice(params);
    let url = format!("{}/rest/{name}", server.url.trim_end_matches('/'));
    let body: serde_json::Value = reqwest::Client::new()
        .get(url)
        .query(&query)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["subsonic-response"].clone()
}

async fn metrics(server: &Server) -> String {
    reqwest::get(format!("{}/metrics", server.url.trim_end_matches('/')))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_server_rereads_feeds_adds_new_episodes_once_and_reports_failing_feeds() {
    let server = Server::start_with(&["--podcast-refresh", "0"]);
    let token = admin_token(&server).await;
    let client = server.admin().await;
    let key = client
        .create_my_credential(cadenza_api::CredentialKind::ApiKey, "test")
        .await
        .unwrap()
        .secret;
    let fixture = podcast_episodes();
    let mut files = fixture.served.clone();
    files.insert("/feed.xml".into(), (fixture.feed(1), "application/rss+xml"));
    let feeds = FeedServer::start(files);
    let feed_url = format!("{}/feed.xml", feeds.base);
    let added = admin(&server, &token, &["podcasts", "add", &feed_url]).expect_code(0);
    assert!(
        added.stdout.contains("Ingested 1 new episodes"),
        "{}",
        added.stdout
    );

    // The feed gains an episode: a refresh adds it, once.
    feeds.set("/feed.xml", fixture.feed(2), "application/rss+xml");
    let refreshed = admin(&server, &token, &["podcasts", "refresh"]).expect_code(0);
    assert!(
        refreshed
            .stdout
            .contains("Ingested 1 new episodes; 1 already on the server; 0 failed"),
        "{}",
        refreshed.stdout
    );
    let again = admin(&server, &token, &["podcasts", "refresh"]).expect_code(0);
    assert!(
        again
            .stdout
            .contains("Ingested 0 new episodes; 2 already on the server"),
        "{}",
        again.stdout
    );
    for (_, _, url, _) in &fixture.items {
        assert_eq!(feeds.hits(url), 1, "{url} was downloaded again");
    }
    let listed = admin(&server, &token, &["podcasts", "list"]).expect_code(0);
    assert!(listed.stdout.contains("(2 episodes)"), "{}", listed.stdout);
    assert!(listed.stdout.contains("read 20"), "{}", listed.stdout);

    // The same podcast through the Subsonic API.
    let podcasts = subsonic(&server, &key, "getPodcasts", &[]).await;
    let channel = &podcasts["podcasts"]["channel"][0];
    assert_eq!(channel["url"], feed_url.as_str());
    assert_eq!(channel["status"], "completed");
    let episodes = channel["episode"].as_array().unwrap();
    assert_eq!(episodes.len(), 2);
    let episode_id = episodes[0]["id"].as_str().unwrap();
    let one = subsonic(&server, &key, "getPodcastEpisode", &[("id", episode_id)]).await;
    assert_eq!(one["podcastEpisode"]["streamId"], episode_id);
    let newest = subsonic(&server, &key, "getNewestPodcasts", &[("count", "1")]).await;
    assert_eq!(
        newest["newestPodcasts"]["episode"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    subsonic(
        &server,
        &key,
        "createBookmark",
        &[("id", episode_id), ("position", "61000")],
    )
    .await;
    let marks = subsonic(&server, &key, "getBookmarks", &[]).await;
    assert_eq!(marks["bookmarks"]["bookmark"][0]["position"], 61000);
    let detail = client
        .podcast(channel["id"].as_str().unwrap()[3..].parse().unwrap())
        .await
        .unwrap();
    assert!(
        detail
            .episodes
            .iter()
            .any(|e| e.position_ms == Some(61_000)),
        "one position for both APIs"
    );

    // The feed breaks: the next reading says so, in the CLI, the list, /metrics and Subsonic.
    feeds.remove("/feed.xml");
    let broken = admin(&server, &token, &["podcasts", "refresh"]).expect_code(1);
    assert!(
        broken.stdout.contains("the feed was not read"),
        "{}",
        broken.stdout
    );
    assert!(broken.stdout.contains("404"), "{}", broken.stdout);
    let listed = admin(&server, &token, &["podcasts", "list"]).expect_code(0);
    assert!(
        listed.stdout.contains("last reading failed"),
        "{}",
        listed.stdout
    );
    let text = metrics(&server).await;
    assert!(text.contains("cadenza_podcast_feeds_failing 1\n"), "{text}");
    assert!(
        text.contains("cadenza_podcast_feed_failures_total 1\n"),
        "{text}"
    );
    let podcasts = subsonic(
        &server,
        &key,
        "getPodcasts",
        &[("includeEpisodes", "false")],
    )
    .await;
    assert_eq!(podcasts["podcasts"]["channel"][0]["status"], "error");
    assert!(podcasts["podcasts"]["channel"][0]["episode"].is_null());

    // Admins add and delete channels through Subsonic too; the episodes download behind.
    let second = format!("{}/second.xml", feeds.base);
    feeds.set("/second.xml", fixture.feed(1), "application/rss+xml");
    let made = subsonic(&server, &key, "createPodcastChannel", &[("url", &second)]).await;
    assert_eq!(made["status"], "ok", "{made}");
    let mut tries = 0;
    let channel_id = loop {
        tries += 1;
        assert!(tries < 600, "the new channel's episodes never arrived");
        let podcasts = subsonic(&server, &key, "getPodcasts", &[]).await;
        let channels = podcasts["podcasts"]["channel"].as_array().unwrap().clone();
        let found = channels
            .iter()
            .find(|c| c["url"] == second.as_str())
            .cloned();
        if let Some(c) = found.filter(|c| c["episode"].as_array().is_some_and(|e| !e.is_empty())) {
            break c["id"].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let gone = subsonic(
        &server,
        &key,
        "deletePodcastChannel",
        &[("id", &channel_id)],
    )
    .await;
    assert_eq!(gone["status"], "ok");
    let left = subsonic(&server, &key, "getPodcasts", &[]).await;
    assert_eq!(left["podcasts"]["channel"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn two_server_copies_never_read_the_same_feed_at_once() {
    let first = Server::start_with(&["--podcast-refresh", "0"]);
    let token = admin_token(&first).await;
    let fixture = podcast_episodes();
    let mut files = fixture.served.clone();
    files.insert("/feed.xml".into(), (fixture.feed(2), "application/rss+xml"));
    let feeds = FeedServer::start(files);
    let feed_url = format!("{}/feed.xml", feeds.base);
    admin(&first, &token, &["podcasts", "add", &feed_url]).expect_code(0);

    // A second copy on the same catalog and volumes; both are asked to read every feed
    // at the same moment, while the feed answers slowly.
    let second = Server::start_on(&first.data_dir, &["--podcast-refresh", "0"]);
    feeds.slow_down("/feed.xml", Duration::from_millis(1500));
    let (a, b) = (first.admin().await, second.admin().await);
    let (ra, rb) = tokio::join!(a.refresh_podcasts(), b.refresh_podcasts());
    let reports: Vec<_> = ra.unwrap().into_iter().chain(rb.unwrap()).collect();
    assert_eq!(reports.len(), 2);
    assert_eq!(
        feeds.most_at_once("/feed.xml"),
        1,
        "two copies read the feed at once"
    );
    for report in &reports {
        match &report.error {
            None => assert_eq!(report.skipped, 2),
            Some(e) => assert!(e.contains("another copy"), "{e}"),
        }
    }
    let detail = a.podcast(reports[0].podcast.id).await.unwrap();
    assert_eq!(detail.episodes.len(), 2);
}
