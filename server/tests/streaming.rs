//! Streaming over HTTP (ranges, conditional requests, HEAD), share links, and the WebSocket.

mod common;

use std::time::Duration;

use cadenza_api::{Client, ErrorBody, Song, TagOverrides};
use common::TestServer;
use futures::{SinkExt, StreamExt};
use reqwest::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    IF_RANGE, LAST_MODIFIED, RANGE,
};
use reqwest::{Method, StatusCode};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// A mono 16-bit 44.1 kHz WAV of a 440 Hz tone: several WebSocket chunks long, and made
/// here so the size is what the test needs.
fn wav(seconds: f64) -> Vec<u8> {
    use cadenza_fixtures::synth::wav;
    let rate = 44_100;
    let duration_ms = (seconds * 1000.0) as u32;
    wav::file(
        rate,
        &wav::sine(440.0, rate, duration_ms, 12_000.0 / 32_767.0),
        &[],
    )
}

async fn upload_wav(admin: &Client, seconds: f64, title: &str) -> (Song, Vec<u8>) {
    let bytes = wav(seconds);
    let overrides = TagOverrides {
        title: Some(title.into()),
        artist: Some("Test Tones".into()),
        ..TagOverrides::default()
    };
    let uploaded = admin
        .upload_song(bytes.clone(), Some(bytes.len() as u64), &overrides)
        .await
        .expect("upload a generated WAV");
    assert_eq!(uploaded.song.content_type, "audio/wav");
    (uploaded.song, bytes)
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(&name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no {name} header"))
}

async fn get(
    client: &Client,
    route: &str,
    headers: &[(reqwest::header::HeaderName, &str)],
) -> reqwest::Response {
    let mut request = common::raw(client, Method::GET, route);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.send().await.unwrap()
}

/// Waits for the active-stream gauge to fall back to 0 (bodies finish just after the client
/// has read them).
async fn wait_for_no_active_streams(server: &TestServer) {
    for _ in 0..100 {
        if server.metric("cadenza_active_streams").await == 0.0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "cadenza_active_streams stayed above 0:\n{}",
        server.metrics().await
    );
}

#[tokio::test]
async fn ranges_conditional_requests_and_head() {
    let server = TestServer::start();
    let admin = server.admin().await;
    let (song, file) = upload_wav(&admin, 3.0, "Range Tone").await;
    let len = file.len() as u64;
    let route = format!("/songs/{}/stream", song.id);
    let etag = format!("\"{}\"", song.hash);

    // The whole file through the typed client.
    let full = admin.stream_song(song.id, None).await.unwrap();
    assert_eq!(full.status, 200);
    assert_eq!(full.total_size, Some(len));
    assert_eq!(full.etag.as_deref(), Some(etag.as_str()));
    assert_eq!(full.content_type.as_deref(), Some("audio/wav"));
    assert_eq!(full.bytes().await.unwrap(), file);

    let response = get(&admin, &route, &[]).await;
    assert_eq!(header(&response, ACCEPT_RANGES), "bytes");
    assert_eq!(
        header(&response, CACHE_CONTROL),
        "private, max-age=31536000, immutable"
    );
    let last_modified = header(&response, LAST_MODIFIED);
    assert!(last_modified.ends_with(" GMT"), "{last_modified}");

    // Single ranges: closed, open-ended, suffix, suffix longer than the file.
    let n = len as usize;
    let cases: [(&str, usize, usize); 5] = [
        ("bytes=0-99", 0, 100),
        ("bytes=1000-", 1000, n),
        ("bytes=-500", n - 500, n),
        ("bytes=-99999999", 0, n),
        ("bytes=100-99999999999999999999999", 100, n),
    ];
    for (range, start, end) in cases {
        let response = get(&admin, &route, &[(RANGE, range)]).await;
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            header(&response, CONTENT_RANGE),
            format!("bytes {start}-{}/{len}", end - 1),
            "{range}"
        );
        assert_eq!(header(&response, CONTENT_LENGTH), (end - start).to_string());
        assert_eq!(
            response.bytes().await.unwrap(),
            &file[start..end],
            "{range}"
        );
    }
    let ranged = admin
        .stream_song(
            song.id,
            Some(cadenza_api::ByteRange {
                start: 10,
                end: Some(19),
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        (ranged.status, ranged.offset, ranged.total_size),
        (206, 10, Some(len))
    );
    assert_eq!(ranged.bytes().await.unwrap(), &file[10..20]);

    // Unsatisfiable: 416 with the length.
    let response = get(&admin, &route, &[(RANGE, &format!("bytes={len}-"))]).await;
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&response, CONTENT_RANGE), format!("bytes */{len}"));
    let error: ErrorBody = response.json().await.unwrap();
    assert_eq!(error.error.code, "range_not_satisfiable");

    // Several ranges, or nonsense: the whole file (RFC 9110 lets a server ignore Range).
    for range in ["bytes=0-1,5-6", "bytes=5-2", "pages=1-2"] {
        let response = get(&admin, &route, &[(RANGE, range)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{range}");
        assert_eq!(response.bytes().await.unwrap().len(), n, "{range}");
    }

    // Conditional requests.
    let weak = format!("W/{etag}");
    for tag in [etag.as_str(), weak.as_str(), "*"] {
        let response = get(&admin, &route, &[(IF_NONE_MATCH, tag)]).await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{tag}");
        assert_eq!(header(&response, ETAG), etag);
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let response = get(&admin, &route, &[(IF_NONE_MATCH, "\"something else\"")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = get(
        &admin,
        &route,
        &[(reqwest::header::IF_MODIFIED_SINCE, &last_modified)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    let response = get(&admin, &route, &[(RANGE, "bytes=0-9"), (IF_RANGE, &etag)]).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.bytes().await.unwrap(), &file[..10]);
    let response = get(
        &admin,
        &route,
        &[(RANGE, "bytes=0-9"), (IF_RANGE, "\"stale\"")],
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "a changed file is sent whole"
    );
    assert_eq!(response.bytes().await.unwrap().len(), n);

    // HEAD: the headers without the body.
    let response = common::raw(&admin, Method::HEAD, &route)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_LENGTH), len.to_string());
    assert_eq!(header(&response, CONTENT_TYPE), "audio/wav");
    assert!(response.bytes().await.unwrap().is_empty());

    // Players that cannot set headers may pass the token in the query.
    let token = admin.token().unwrap();
    let url = format!("{}/api/v1{route}?token={token}", server.url);
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().len(), n);
    let url = format!("{}/api/v1{route}?token=wrong", server.url);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 401);
    let err = admin.stream_song(999_999, None).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // Metrics: bytes sent and no stream left open.
    wait_for_no_active_streams(&server).await;
    let metrics = server.metrics().await;
    let sent = common::metric_value(&metrics, "cadenza_stream_bytes_total");
    assert!(sent >= (3 * n) as f64, "{sent} bytes counted: {metrics}");
    assert!(
        common::metric_value(
            &metrics,
            "cadenza_http_requests_total{method=\"GET\",route=\"/api/v1/songs/{id}/stream\",status=\"206\"}"
        ) >= 6.0,
        "{metrics}"
    );
}

#[tokio::test]
async fn an_abandoned_stream_is_no_longer_counted() {
    // Without the cache the body streams from the volume in chunks, and at 16 MB it cannot
    // all hide in loopback socket buffers, so the server is still sending when we hang up.
    let server = TestServer::start_with(&["--cache", "0"]);
    let admin = server.admin().await;
    let (song, _) = upload_wav(&admin, 180.0, "Long Tone").await;
    let mut stream = admin.stream_song(song.id, None).await.unwrap();
    let first = stream.chunk().await.unwrap().expect("a first chunk");
    assert!(!first.is_empty());
    assert!(server.metric("cadenza_active_streams").await >= 1.0);
    drop(stream);
    wait_for_no_active_streams(&server).await;
}

#[tokio::test]
async fn a_listener_who_stops_reading_holds_back_nobody() {
    let server = TestServer::start_with(&["--cache", "0"]);
    let admin = server.admin().await;
    let (song, bytes) = upload_wav(&admin, 60.0, "Long Tone").await;
    // Its head arrives, then it never reads again: its socket fills and stays full.
    let mut stalled = admin.stream_song(song.id, None).await.unwrap();
    assert!(!stalled
        .chunk()
        .await
        .unwrap()
        .expect("a first chunk")
        .is_empty());
    // Everyone else still gets the whole song, several at once.
    let downloads = (0..3).map(|_| async {
        let mut stream = admin.stream_song(song.id, None).await.unwrap();
        let mut body = Vec::with_capacity(bytes.len());
        while let Some(chunk) = stream.chunk().await.unwrap() {
            body.extend_from_slice(&chunk);
        }
        body
    });
    // A bound so a regression fails instead of hanging, not a speed check.
    let bodies = tokio::time::timeout(
        Duration::from_secs(120),
        futures::future::join_all(downloads),
    )
    .await
    .expect("the other downloads were held back behind the stalled one");
    for body in bodies {
        assert!(body == bytes, "{} of {} bytes", body.len(), bytes.len());
    }
    assert!(
        server.metric("cadenza_active_streams").await >= 1.0,
        "the stalled one"
    );
    drop(stalled);
    wait_for_no_active_streams(&server).await;
}

#[tokio::test]
async fn share_links_stream_without_a_token_until_they_expire() {
    let server = TestServer::start_with(&["--public-url", "https://music.example/"]);
    let admin = server.admin().await;
    let (song, file) = upload_wav(&admin, 1.0, "Shared Tone").await;
    let (other, _) = upload_wav(&admin, 0.5, "Other Tone").await;

    let link = admin.share_song(song.id, None).await.unwrap();
    assert!(
        link.url
            .starts_with("https://music.example/api/v1/share/songs/"),
        "{}",
        link.url
    );
    assert!(link.url.ends_with(&link.path));
    let now = cadenza_now();
    assert!(
        (link.expires_at - now - 7 * 86_400).abs() < 60,
        "7 days by default"
    );

    let anonymous = reqwest::Client::new();
    let url = format!("{}{}", server.url, link.path);
    let response = anonymous.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cache = header(&response, CACHE_CONTROL);
    let max_age: i64 = cache
        .strip_prefix("public, max-age=")
        .and_then(|rest| rest.strip_suffix(", immutable"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected Cache-Control {cache}"));
    assert!(
        max_age <= 7 * 86_400 && max_age > 7 * 86_400 - 60,
        "{cache}"
    );
    assert_eq!(response.bytes().await.unwrap(), file);
    let response = anonymous
        .get(&url)
        .header(RANGE, "bytes=-100")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.bytes().await.unwrap(), &file[file.len() - 100..]);

    // Any change to the link breaks it.
    let sig = link.path.rsplit_once("sig=").unwrap().1.to_string();
    let flipped = {
        let mut s = sig.clone();
        let last = if s.ends_with('0') { '1' } else { '0' };
        s.pop();
        s.push(last);
        s
    };
    let tampered = [
        link.path.replace(&sig, &flipped),
        link.path.replace(
            &format!("songs/{}/", song.id),
            &format!("songs/{}/", other.id),
        ),
        link.path.replace(
            &format!("expires={}", link.expires_at),
            &format!("expires={}", link.expires_at + 86_400),
        ),
        link.path.split("&sig=").next().unwrap().to_string(),
    ];
    for path in tampered {
        assert_ne!(path, link.path);
        let response = anonymous
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let error: ErrorBody = response.json().await.unwrap();
        assert_eq!(error.error.code, "invalid_share_link", "{path}");
    }

    // Expired links say so.
    let short = admin.share_song(song.id, Some(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = anonymous
        .get(format!("{}{}", server.url, short.path))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: ErrorBody = response.json().await.unwrap();
    assert_eq!(error.error.code, "share_link_expired");
    assert!(
        error.error.message.contains("expired"),
        "{}",
        error.error.message
    );

    // Lifetimes are capped; unknown songs and anonymous callers get nothing.
    let long = admin
        .share_song(song.id, Some(10 * 365 * 86_400))
        .await
        .unwrap();
    assert!(long.expires_at <= cadenza_now() + 30 * 86_400 + 60);
    assert!(admin
        .share_song(999_999, None)
        .await
        .unwrap_err()
        .is_not_found());
    let err = server.client().share_song(song.id, None).await.unwrap_err();
    assert!(err.is_unauthorized());
}

#[tokio::test]
async fn share_links_use_the_host_header_without_a_public_url() {
    let server = TestServer::start();
    let admin = server.admin().await;
    let (song, _) = upload_wav(&admin, 0.5, "Host Tone").await;
    let link = admin.share_song(song.id, None).await.unwrap();
    assert_eq!(link.url, format!("{}{}", server.url, link.path));
    let response = reqwest::get(&link.url).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

fn cadenza_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Reads WebSocket messages until a text event of `kind`; returns the binary bytes seen
/// on the way and the event.
async fn read_until<S>(ws: &mut S, kind: &str) -> (Vec<u8>, Vec<usize>, serde_json::Value)
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut bytes = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("a WebSocket message within 20 s")
            .expect("the socket is open")
            .expect("a valid message");
        match message {
            Message::Binary(data) => {
                sizes.push(data.len());
                bytes.extend_from_slice(&data);
            }
            Message::Text(text) => {
                let event: serde_json::Value = serde_json::from_str(&text).unwrap();
                if event["type"] == kind {
                    return (bytes, sizes, event);
                }
            }
            Message::Close(frame) => panic!("closed while waiting for {kind}: {frame:?}"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn websocket_streams_chunks_and_seeks() {
    let server = TestServer::start();
    let admin = server.admin().await;
    let (song, file) = upload_wav(&admin, 4.0, "Socket Tone").await;
    let len = file.len() as u64;
    let ws_url = format!(
        "{}/api/v1/songs/{}/ws",
        server.url.replacen("http://", "ws://", 1),
        song.id
    );

    // Token in the Authorization header.
    let mut request = ws_url.as_str().into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", admin.token().unwrap())
            .parse()
            .unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let (_, _, start) = read_until(&mut ws, "start").await;
    assert_eq!(start["offset"], 0);
    assert_eq!(start["size"], len);
    assert_eq!(start["content_type"], "audio/wav");
    let (bytes, sizes, end) = read_until(&mut ws, "end").await;
    assert_eq!(end["offset"], len);
    assert_eq!(bytes, file, "the chunks put together are the file");
    assert!(sizes.len() >= 3, "{sizes:?}");
    assert!(sizes.iter().all(|&s| s <= 64 * 1024), "{sizes:?}");

    // Seek after the end: the rest from there.
    ws.send(Message::text(r#"{"seek": 100000}"#)).await.unwrap();
    let (_, _, start) = read_until(&mut ws, "start").await;
    assert_eq!(start["offset"], 100_000);
    let (bytes, _, _) = read_until(&mut ws, "end").await;
    assert_eq!(bytes, &file[100_000..]);

    // Messages it cannot follow get an error event; the socket stays usable.
    ws.send(Message::text(format!(r#"{{"seek": {}}}"#, len + 5)))
        .await
        .unwrap();
    let (_, _, error) = read_until(&mut ws, "error").await;
    assert!(
        error["message"].as_str().unwrap().contains("seek"),
        "{error}"
    );
    ws.send(Message::text("play it again")).await.unwrap();
    read_until(&mut ws, "error").await;
    ws.close(None).await.unwrap();

    // Token in the query (browsers), start offset, and a seek in the middle of the stream.
    let url = format!("{ws_url}?token={}&offset=5000", admin.token().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let (_, _, start) = read_until(&mut ws, "start").await;
    assert_eq!(start["offset"], 5000);
    ws.send(Message::text(r#"{"seek": 300000}"#)).await.unwrap();
    let (_, _, start) = read_until(&mut ws, "start").await;
    assert_eq!(start["offset"], 300_000);
    let (bytes, _, _) = read_until(&mut ws, "end").await;
    assert_eq!(bytes, &file[300_000..]);
    drop(ws);

    // Refused before the upgrade: no token, or an offset past the end.
    let err = tokio_tungstenite::connect_async(ws_url.as_str())
        .await
        .expect_err("no token");
    assert!(err.to_string().contains("401"), "{err}");
    let url = format!("{ws_url}?token={}&offset={len}", admin.token().unwrap());
    let err = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect_err("offset past the end");
    assert!(err.to_string().contains("416"), "{err}");

    wait_for_no_active_streams(&server).await;
    assert!(server.metric("cadenza_stream_bytes_total").await >= (2 * len - 100_000) as f64);
}

#[tokio::test]
async fn shutdown_lets_streams_finish_and_closes_websockets() {
    let mut server = TestServer::start_with(&["--cache", "0"]);
    let admin = server.admin().await;
    let (song, file) = upload_wav(&admin, 180.0, "Shutdown Tone").await;
    let ws_url = format!(
        "{}/api/v1/songs/{}/ws?token={}",
        server.url.replacen("http://", "ws://", 1),
        song.id,
        admin.token().unwrap()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url.as_str())
        .await
        .unwrap();
    read_until(&mut ws, "start").await;
    let mut stream = admin.stream_song(song.id, None).await.unwrap();
    let mut received = stream
        .chunk()
        .await
        .unwrap()
        .expect("a first chunk")
        .to_vec();

    server.terminate();

    // The HTTP stream in flight runs to its end.
    while let Some(chunk) = stream.chunk().await.unwrap() {
        received.extend_from_slice(&chunk);
    }
    assert_eq!(received.len(), file.len());
    assert!(received == file, "the whole file arrived intact");

    // The WebSocket is told the server is going away.
    let close = loop {
        let message = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("a message within 20 s");
        match message {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let frame = close.expect("a close frame with a code");
    assert_eq!(u16::from(frame.code), 1001, "{frame:?}");

    let status = server.wait().expect("it was running");
    assert!(status.success(), "{status:?}");
    // New connections are refused once it is gone.
    assert!(server.client().health().await.unwrap_err().is_unreachable());
}
