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

/// A tiny HTTP/1.1 file server on 127.0.0.1 that counts requests per path.
struct FeedServer {
    base: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl FeedServer {
    fn start(files: HashMap<String, (Vec<u8>, &'static str)>) -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let counted = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
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
                *counted.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                let response = match files.get(&path) {
                    Some((body, content_type)) => {
                        let mut head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        head.extend_from_slice(body);
                        head
                    }
                    None => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                stream.write_all(&response).ok();
            }
        });
        FeedServer { base, hits }
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
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

#[tokio::test]
async fn a_local_feed_is_ingested_and_reingested_without_duplicates() {
    let server = Server::start();
    let token = admin_token(&server).await;
    let client = server.admin().await;
    let manifest = cadenza_fixtures::load_manifest().unwrap();
    let episodes: Vec<&GoodFile> = manifest
        .good_files()
        .filter(|g| g.path.starts_with("audio/podcast/"))
        .collect();
    assert_eq!(episodes.len(), 2, "the fixtures have two podcast episodes");

    let mut files = HashMap::new();
    let mut items = Vec::new();
    for (i, episode) in episodes.iter().enumerate() {
        let name = format!("/episodes/{}", episode.path.rsplit('/').next().unwrap());
        let content_type = if name.ends_with(".m4a") {
            "audio/mp4"
        } else {
            "audio/mpeg"
        };
        files.insert(
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
    // The enclosure URLs are relative: the feed's own URL resolves them.
    let item_refs: Vec<(&str, &str, &str, &str)> = items
        .iter()
        .map(|(g, t, u, c)| (g.as_str(), t.as_str(), &u[1..], *c))
        .collect();
    files.insert(
        "/feed.xml".into(),
        (feed_xml(&item_refs), "application/rss+xml"),
    );
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
    for (_, _, url, _) in &items {
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
