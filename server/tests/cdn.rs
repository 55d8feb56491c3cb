//! CDN mode on one server with no edge in front: authorised streams redirect to a signed,
//! expiring link named by the blob's hash, the server itself serves that link (ranges
//! included), and a changed or expired link is refused. The edge (nginx) is tested in
//! tests/tests/cluster.rs.

mod common;

use cadenza_api::{ByteRange, ErrorBody};
use common::TestServer;
use reqwest::header::{CACHE_CONTROL, CONTENT_RANGE, LOCATION};
use reqwest::{redirect, StatusCode};

const CDN_SECRET: &str = "test-cdn-secret-0123456789";

/// A server in CDN mode (the secret comes only from a file or the environment).
fn cdn_server(ttl: &str) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!("cdn_secret = \"{CDN_SECRET}\"\ncdn_url_ttl = \"{ttl}\"\ninstance = \"web-7\"\n"),
    )
    .expect("write the config");
    let server = TestServer::start_with(&["--config", config.to_str().expect("utf-8 path")]);
    (server, dir)
}

/// nginx's `secure_link_md5 "$secure_link_expires$uri SECRET"`, computed by `openssl` as
/// nginx's documentation does, so the test does not check the server against itself.
fn openssl_signature(expires: i64, uri: &str) -> String {
    let script = format!(
        "printf '%s' '{expires}{uri} {CDN_SECRET}' | openssl md5 -binary | openssl base64 | tr +/ -_ | tr -d ="
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "openssl failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

async fn error_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: ErrorBody = response.json().await.expect("a JSON error body");
    (status, body.error.code)
}

#[tokio::test]
async fn streams_redirect_to_signed_links_the_server_also_serves() {
    let (server, _config) = cdn_server("5m");
    let admin = server.admin().await;
    let file = common::good_file("01 Glacier Hum.mp3");
    let song = common::upload(&admin, &file).await.song;
    let bytes = common::read(&file.absolute_path());
    let token = admin.token().expect("token").to_string();
    let http = no_redirects();
    let stream_url = format!("{}/api/v1/songs/{}/stream", server.url, song.id);

    // Unauthorised: refused as ever, no link handed out.
    let anonymous = http.get(&stream_url).send().await.expect("GET");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let started = cadenza_server_now();
    let redirect = http
        .get(&stream_url)
        .bearer_auth(&token)
        .header("Range", "bytes=0-99")
        .send()
        .await
        .expect("GET");
    assert_eq!(redirect.status(), StatusCode::FOUND);
    assert_eq!(redirect.headers()[CACHE_CONTROL], "private, no-store");
    assert_eq!(redirect.headers()["x-cadenza-server"], "web-7");
    let location = redirect.headers()[LOCATION]
        .to_str()
        .expect("ascii")
        .to_string();
    let (path, query) = location.split_once('?').expect("a query");
    assert_eq!(path, format!("/cdn/blobs/{}", song.hash));
    let (e, s) = query
        .strip_prefix("e=")
        .and_then(|q| q.split_once("&s="))
        .expect("e=EXPIRES&s=SIG");
    let expires: i64 = e.parse().expect("a number");
    assert!(
        (started + 299..=cadenza_server_now() + 300).contains(&expires),
        "expires {expires} is five minutes from now"
    );
    assert_eq!(s, openssl_signature(expires, path), "nginx would accept it");
    let head = http
        .head(&stream_url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("HEAD");
    assert_eq!(head.status(), StatusCode::FOUND);

    // The link itself, without a token, with a range.
    let link = format!("{}{location}", server.url);
    let part = http
        .get(&link)
        .header("Range", "bytes=100-199")
        .send()
        .await
        .expect("GET the link");
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()[CONTENT_RANGE],
        format!("bytes 100-199/{}", bytes.len()).as_str()
    );
    let cache = part.headers()[CACHE_CONTROL]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(cache.starts_with("public, max-age="), "{cache}");
    assert_eq!(part.bytes().await.expect("body"), bytes[100..200]);

    // The typed client (the player's) follows the redirect with its Range intact.
    let stream = admin
        .stream_song(
            song.id,
            Some(ByteRange {
                start: 1000,
                end: Some(4999),
            }),
        )
        .await
        .expect("stream through the redirect");
    assert_eq!((stream.status, stream.offset), (206, 1000));
    assert_eq!(stream.total_size, Some(bytes.len() as u64));
    assert_eq!(stream.bytes().await.expect("body"), bytes[1000..5000]);

    // A changed link is refused as invalid; a correctly signed but old one as expired.
    let forged = format!("{}{path}?e={}&s={s}", server.url, expires + 3600);
    let (status, code) = error_code(http.get(&forged).send().await.expect("GET")).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "cdn_link_invalid")
    );
    let unsigned = format!("{}{path}", server.url);
    let (status, _) = error_code(http.get(&unsigned).send().await.expect("GET")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let old = started - 10;
    let expired = format!(
        "{}{path}?e={old}&s={}",
        server.url,
        openssl_signature(old, path)
    );
    let (status, code) = error_code(http.get(&expired).send().await.expect("GET")).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::GONE, "cdn_link_expired")
    );

    // A deleted song's link goes nowhere.
    admin.delete_song(song.id).await.expect("delete");
    let (status, _) = error_code(http.get(&link).send().await.expect("GET")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_a_cdn_secret_streams_are_served_directly() {
    let server = TestServer::start();
    let admin = server.admin().await;
    let song = common::upload(&admin, &common::good_file("01 Glacier Hum.mp3"))
        .await
        .song;
    let response = no_redirects()
        .get(format!("{}/api/v1/songs/{}/stream", server.url, song.id))
        .bearer_auth(admin.token().expect("token"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers().contains_key("x-cadenza-server"),
        "every answer names its server"
    );
    let link = format!("{}/cdn/blobs/{}?e=1&s=x", server.url, song.hash);
    let (status, _) = error_code(no_redirects().get(&link).send().await.expect("GET")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "CDN links are off");
}

fn cadenza_server_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}
