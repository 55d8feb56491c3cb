//! The OpenSubsonic API of the real server binary: both formats for every endpoint, every
//! error code, both authentication modes, form POST and `.view`, streaming with ranges,
//! bad input, and ids that survive a restart.

mod common;

use std::collections::HashMap;

use cadenza_api::{Client, CredentialKind};
use common::*;
use quick_xml::events::Event;
use serde_json::Value;

const PARAMS: [(&str, &str); 2] = [("v", "1.16.1"), ("c", "protocol-test")];

/// A server with fixtures, a listener `lisa` and her app password and API key.
struct Fixture {
    server: TestServer,
    admin: Client,
    password: String,
    key: String,
    admin_key: String,
}

async fn fixture() -> Fixture {
    let server = TestServer::start();
    let admin = server.admin().await;
    for file in good_files()
        .iter()
        .filter(|f| !f.path.starts_with("audio/podcast/"))
        .take(5)
    {
        upload(&admin, file).await;
    }
    let lisa = server.listener(&admin, "lisa").await;
    let password = lisa
        .create_my_credential(CredentialKind::AppPassword, "phone")
        .await
        .unwrap()
        .secret;
    let key = lisa
        .create_my_credential(CredentialKind::ApiKey, "desktop")
        .await
        .unwrap()
        .secret;
    let admin_key = admin
        .create_my_credential(CredentialKind::ApiKey, "admin desk")
        .await
        .unwrap()
        .secret;
    Fixture {
        server,
        admin,
        password,
        key,
        admin_key,
    }
}

/// What a call answered.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        let v: Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)));
        v["subsonic-response"].clone()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error code of a failed JSON answer (HTTP 200 all the same).
    fn code(&self) -> i64 {
        assert_eq!(self.status, 200, "{}", self.text());
        let r = self.json();
        assert_eq!(r["status"], "failed", "{r}");
        r["error"]["code"].as_i64().unwrap()
    }
}

/// Calls `/rest/{name}` with `auth` and `params`; POSTs a form when `post`.
async fn call(
    server: &TestServer,
    name: &str,
    auth: &[(&str, &str)],
    params: &[(&str, &str)],
    post: bool,
) -> Answer {
    let mut all: Vec<(&str, &str)> = PARAMS.to_vec();
    all.extend_from_slice(auth);
    all.extend_from_slice(params);
    let url = format!("{}/rest/{name}", server.url);
    let http = reqwest::Client::new();
    let request = if post {
        http.post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(&all).expect("form"))
    } else {
        http.get(&url).query(&all)
    };
    let response = request.send().await.expect("request");
    Answer {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        body: response.bytes().await.expect("body").to_vec(),
    }
}

impl Fixture {
    fn key_auth(&self) -> [(&str, &str); 1] {
        [("apiKey", self.key.as_str())]
    }

    async fn json(&self, name: &str, params: &[(&str, &str)]) -> Value {
        let mut p = params.to_vec();
        p.push(("f", "json"));
        let answer = call(&self.server, name, &self.key_auth(), &p, true).await;
        assert_eq!(answer.status, 200);
        let r = answer.json();
        assert_eq!(r["status"], "ok", "{name} {params:?}: {r}");
        r
    }

    async fn code(&self, name: &str, params: &[(&str, &str)]) -> i64 {
        let mut p = params.to_vec();
        p.push(("f", "json"));
        call(&self.server, name, &self.key_auth(), &p, false)
            .await
            .code()
    }
}

fn md5_hex(text: &str) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(text.as_bytes()))
}

/// Checks the XML is well formed and returns the root's attributes and the element names.
fn parse_xml(text: &str) -> (HashMap<String, String>, Vec<String>) {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut root = HashMap::new();
    let mut names = Vec::new();
    let mut depth = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if names.is_empty() {
                    for a in e.attributes() {
                        let a = a.expect("attribute");
                        root.insert(
                            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                            quick_xml::escape::unescape(&String::from_utf8_lossy(&a.value))
                                .expect("value")
                                .into_owned(),
                        );
                    }
                }
                names.push(name);
                depth += 1;
            }
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("malformed XML ({e}): {text}"),
        }
    }
    let _ = depth;
    (root, names)
}

/// An endpoint, its parameters, and the element its answer carries.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<&'a str>);

#[tokio::test]
async fn every_endpoint_answers_in_xml_and_json() {
    let f = fixture().await;
    let songs = f.json("search3", &[("query", "")]).await["searchResult3"]["song"].clone();
    let song = &songs[0];
    let (song_id, album_id, artist_id) = (
        song["id"].as_str().unwrap().to_string(),
        song["albumId"].as_str().unwrap().to_string(),
        song["artistId"].as_str().unwrap().to_string(),
    );
    let created = f
        .json("createPlaylist", &[("name", "Mix"), ("songId", &song_id)])
        .await;
    let playlist = created["playlist"]["id"].as_str().unwrap().to_string();
    let artist_name = song["artist"].as_str().unwrap().to_string();
    let cases: Vec<Case> = vec![
        ("ping", vec![], None),
        ("getLicense", vec![], Some("license")),
        (
            "getOpenSubsonicExtensions",
            vec![],
            Some("openSubsonicExtensions"),
        ),
        ("getScanStatus", vec![], Some("scanStatus")),
        ("getUser", vec![("username", "lisa")], Some("user")),
        ("getMusicFolders", vec![], Some("musicFolders")),
        ("getIndexes", vec![], Some("indexes")),
        (
            "getMusicDirectory",
            vec![("id", &artist_id)],
            Some("directory"),
        ),
        (
            "getMusicDirectory",
            vec![("id", &album_id)],
            Some("directory"),
        ),
        ("getArtists", vec![], Some("artists")),
        ("getArtist", vec![("id", &artist_id)], Some("artist")),
        ("getAlbum", vec![("id", &album_id)], Some("album")),
        ("getSong", vec![("id", &song_id)], Some("song")),
        ("getGenres", vec![], Some("genres")),
        (
            "getTopSongs",
            vec![("artist", &artist_name)],
            Some("topSongs"),
        ),
        (
            "getSimilarSongs2",
            vec![("id", &artist_id)],
            Some("similarSongs2"),
        ),
        ("getAlbumList", vec![("type", "newest")], Some("albumList")),
        (
            "getAlbumList2",
            vec![("type", "alphabeticalByName")],
            Some("albumList2"),
        ),
        ("getRandomSongs", vec![("size", "2")], Some("randomSongs")),
        (
            "getSongsByGenre",
            vec![("genre", "Rock")],
            Some("songsByGenre"),
        ),
        ("search2", vec![("query", "")], Some("searchResult2")),
        ("search3", vec![("query", "")], Some("searchResult3")),
        ("getPlaylists", vec![], Some("playlists")),
        ("getPlaylist", vec![("id", &playlist)], Some("playlist")),
        (
            "updatePlaylist",
            vec![("playlistId", &playlist), ("comment", "x")],
            None,
        ),
        ("star", vec![("id", &song_id)], None),
        ("getStarred", vec![], Some("starred")),
        ("getStarred2", vec![], Some("starred2")),
        ("setRating", vec![("id", &album_id), ("rating", "5")], None),
        (
            "scrobble",
            vec![("id", &song_id), ("submission", "false")],
            None,
        ),
        ("getNowPlaying", vec![], Some("nowPlaying")),
        (
            "savePlayQueue",
            vec![("id", &song_id), ("current", &song_id)],
            None,
        ),
        ("getPlayQueue", vec![], Some("playQueue")),
        ("getPodcasts", vec![], Some("podcasts")),
        ("getNewestPodcasts", vec![], Some("newestPodcasts")),
        ("getBookmarks", vec![], Some("bookmarks")),
        ("unstar", vec![("id", &song_id)], None),
    ];
    for (name, params, element) in &cases {
        for view in ["", ".view"] {
            let endpoint = format!("{name}{view}");
            // XML, by GET, is the default.
            let xml = call(&f.server, &endpoint, &f.key_auth(), params, false).await;
            assert_eq!(xml.status, 200, "{endpoint}");
            assert!(xml.content_type.starts_with("text/xml"), "{endpoint}");
            let (root, names) = parse_xml(&xml.text());
            assert_eq!(names[0], "subsonic-response");
            assert_eq!(root["status"], "ok", "{endpoint}: {}", xml.text());
            assert_eq!(root["version"], "1.16.1");
            assert_eq!(root["type"], "cadenza");
            assert_eq!(root["openSubsonic"], "true");
            assert_eq!(root["xmlns"], "http://subsonic.org/restapi");
            assert!(root.contains_key("serverVersion"));
            if let Some(element) = element {
                assert_eq!(
                    names.get(1).map(String::as_str),
                    Some(*element),
                    "{endpoint}"
                );
            }
            // JSON, by form POST.
            let mut p = params.clone();
            p.push(("f", "json"));
            let json = call(&f.server, &endpoint, &f.key_auth(), &p, true).await;
            assert_eq!(json.content_type, "application/json", "{endpoint}");
            let r = json.json();
            assert_eq!(r["status"], "ok", "{endpoint}: {r}");
            assert_eq!(r["openSubsonic"], true);
            assert_eq!(r["version"], "1.16.1");
            assert!(r["serverVersion"].is_string());
            if let Some(element) = element {
                assert!(
                    r[*element].is_object() || r[*element].is_array(),
                    "{endpoint}: {r}"
                );
            }
        }
    }

    // JSONP wraps the JSON in the named function; anything but a name is refused.
    let jsonp = call(
        &f.server,
        "ping",
        &f.key_auth(),
        &[("f", "jsonp"), ("callback", "app.done")],
        false,
    )
    .await;
    assert!(jsonp.content_type.starts_with("application/javascript"));
    let text = jsonp.text();
    assert!(
        text.starts_with("app.done({") && text.ends_with(");"),
        "{text}"
    );
    let evil = call(
        &f.server,
        "ping",
        &f.key_auth(),
        &[("f", "jsonp"), ("callback", "alert(1)")],
        false,
    )
    .await;
    assert_eq!(evil.code(), 0);
}

#[tokio::test]
async fn app_passwords_and_api_keys_sign_in_and_nothing_else_does() {
    let f = fixture().await;
    let ping = |auth: Vec<(&'static str, String)>| {
        let server = &f.server;
        async move {
            let auth: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call(server, "ping", &auth, &[("f", "json")], true).await
        }
    };
    let ok = |a: &Answer| a.json()["status"] == "ok";
    let pw = f.password.clone();
    assert!(ok(
        &ping(vec![("u", "lisa".into()), ("p", pw.clone())]).await
    ));
    let enc = format!("enc:{}", hex::encode_upper(pw.as_bytes()));
    assert!(ok(&ping(vec![("u", "lisa".into()), ("p", enc)]).await));
    let salt = "c19b2d".to_string();
    let token = md5_hex(&format!("{pw}{salt}"));
    assert!(ok(&ping(vec![
        ("u", "LISA".into()),
        ("t", token.clone()),
        ("s", salt.clone())
    ])
    .await));
    assert!(ok(&ping(vec![("apiKey", f.key.clone())]).await));

    // The login password is not a Subsonic password.
    let login = ping(vec![("u", "lisa".into()), ("p", "lisa's password".into())]).await;
    assert_eq!(login.code(), 40);
    assert!(login.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("app password"));
    assert_eq!(
        ping(vec![
            ("u", "lisa".into()),
            ("t", token.clone()),
            ("s", "other".into())
        ])
        .await
        .code(),
        40
    );
    assert_eq!(ping(vec![("apiKey", "cz_nope".into())]).await.code(), 44);
    assert_eq!(
        ping(vec![("apiKey", f.key.clone()), ("u", "lisa".into())])
            .await
            .code(),
        43
    );
    assert_eq!(
        ping(vec![
            ("u", "lisa".into()),
            ("p", pw.clone()),
            ("t", token),
            ("s", salt)
        ])
        .await
        .code(),
        43
    );
    assert_eq!(ping(vec![("p", pw.clone())]).await.code(), 10);
    assert_eq!(ping(vec![("u", "lisa".into())]).await.code(), 10);
    assert_eq!(ping(vec![]).await.code(), 10);
    // Without `c`, or with a version of another major.
    for (query, code) in [("v=1.16.1", 10), ("c=t&v=2.0.0", 30), ("c=t&v=0.9.0", 20)] {
        let url = format!("{}/rest/ping?f=json&{query}&apiKey={}", f.server.url, f.key);
        let r: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        assert_eq!(r["subsonic-response"]["error"]["code"], code, "{query}");
    }

    // Listed with their last use, and revocable.
    let lisa = f.server.login("lisa", "lisa's password").await;
    let listed = lisa.my_credentials().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed.iter().all(|c| c.last_used_at.is_some()),
        "{listed:?}"
    );
    let by_admin = f.admin.user_credentials(listed[0].user_id).await.unwrap();
    assert_eq!(by_admin, listed);
    let app_password = listed
        .iter()
        .find(|c| c.kind == CredentialKind::AppPassword)
        .unwrap();
    lisa.revoke_my_credential(app_password.id).await.unwrap();
    assert_eq!(
        ping(vec![("u", "lisa".into()), ("p", pw.clone())])
            .await
            .code(),
        40,
        "a revoked app password stops working at once"
    );
    let key = listed
        .iter()
        .find(|c| c.kind == CredentialKind::ApiKey)
        .unwrap();
    f.admin
        .revoke_user_credential(key.user_id, key.id)
        .await
        .unwrap();
    assert_eq!(ping(vec![("apiKey", f.key.clone())]).await.code(), 44);

    // Guessing is braked like logins: after ten failures even the right key is refused.
    let admin_key = f.admin_key.clone();
    for _ in 0..10 {
        ping(vec![("apiKey", "cz_guess".into())]).await;
    }
    let braked = ping(vec![("apiKey", admin_key)]).await;
    assert_eq!(braked.code(), 40);
    assert!(
        braked.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("try again"),
        "{}",
        braked.text()
    );
    let failures = f.server.metric("cadenza_login_failures_total").await;
    assert!(failures >= 11.0, "{failures}");
}

#[tokio::test]
async fn errors_are_documents_with_the_spec_codes() {
    let f = fixture().await;
    // 10: a required parameter is missing.
    for (name, params) in [
        ("getAlbum", vec![]),
        ("getSong", vec![]),
        ("getAlbumList2", vec![]),
        (
            "getAlbumList2",
            vec![("type", "byYear"), ("fromYear", "1990")],
        ),
        ("search3", vec![]),
        ("star", vec![]),
        ("createPlaylist", vec![]),
        ("scrobble", vec![]),
        ("stream", vec![]),
    ] {
        assert_eq!(f.code(name, &params).await, 10, "{name} {params:?}");
    }
    // 70: unknown ids, ids of another kind, and unknown endpoints.
    for (name, params) in [
        ("getAlbum", vec![("id", "al-99999")]),
        ("getAlbum", vec![("id", "tr-1")]),
        ("getArtist", vec![("id", "99999")]),
        ("getSong", vec![("id", "tr-99999999999999999999999")]),
        ("getPlaylist", vec![("id", "pl-77")]),
        ("getMusicDirectory", vec![("id", "pl-1")]),
        ("getCoverArt", vec![("id", "al-99999")]),
        ("star", vec![("id", "tr-99999")]),
        ("getPodcastEpisode", vec![("id", "ep-1")]),
        ("noSuchThing", vec![]),
        ("getMusicFolders.json", vec![]),
    ] {
        assert_eq!(f.code(name, &params).await, 70, "{name} {params:?}");
    }
    // 50: a listener calling an admin-only endpoint, or another user.
    for (name, params) in [
        (
            "createPodcastChannel",
            vec![("url", "http://127.0.0.1:9/feed.xml")],
        ),
        ("deletePodcastChannel", vec![("id", "pc-1")]),
        ("refreshPodcasts", vec![]),
        ("getUser", vec![("username", "admin")]),
    ] {
        assert_eq!(f.code(name, &params).await, 50, "{name} {params:?}");
    }
    // 0: values that make no sense.
    for (name, params) in [
        ("getAlbumList2", vec![("type", "loudest")]),
        ("getRandomSongs", vec![("size", "many")]),
        ("setRating", vec![("id", "tr-1"), ("rating", "9")]),
        ("scrobble", vec![("id", "tr-1"), ("submission", "perhaps")]),
        (
            "updatePlaylist",
            vec![("playlistId", "pl-1"), ("songIndexToRemove", "x")],
        ),
    ] {
        assert_eq!(f.code(name, &params).await, 0, "{name} {params:?}");
    }
    // The error document in XML too, still with HTTP 200.
    let xml = call(
        &f.server,
        "getAlbum",
        &f.key_auth(),
        &[("id", "al-0")],
        false,
    )
    .await;
    assert_eq!(xml.status, 200);
    let (root, names) = parse_xml(&xml.text());
    assert_eq!(root["status"], "failed");
    assert_eq!(names[1], "error");
    assert!(xml.text().contains("code=\"70\""), "{}", xml.text());
    // No path under /rest is ever a 500 or a bare 404.
    for path in ["/rest/", "/rest/ping/extra", "/rest/%FF%FE"] {
        let status = reqwest::get(format!("{}{path}", f.server.url))
            .await
            .unwrap()
            .status()
            .as_u16();
        assert!(status < 500, "{path}: {status}");
    }
    assert!(f.server.log().lines().all(|l| !l.contains("panicked")));
}

#[tokio::test]
async fn hostile_and_huge_input_is_answered_calmly() {
    let f = fixture().await;
    for query in [
        "\"",
        "'; DROP TABLE songs; --",
        "NEAR(a b)",
        "*",
        "a OR b AND NOT c",
        "title:x^",
        "\u{0}",
        "ñ😀🎵",
        &"x".repeat(5000),
    ] {
        let r = f.json("search3", &[("query", query)]).await;
        assert!(r["searchResult3"].is_object(), "{query}");
    }
    // Counts are clamped to 500; an offset past the end is an empty page.
    let huge = f
        .json(
            "search3",
            &[
                ("query", ""),
                ("songCount", "99999999999999999999999"),
                ("songOffset", "0"),
            ],
        )
        .await;
    let all = huge["searchResult3"]["song"].as_array().unwrap().len();
    assert!((1..=500).contains(&all));
    let past = f
        .json(
            "search3",
            &[
                ("query", ""),
                ("songOffset", "99999999999999"),
                ("songCount", "5"),
            ],
        )
        .await;
    assert!(past["searchResult3"]["song"]
        .as_array()
        .is_none_or(Vec::is_empty));
    let list = f
        .json(
            "getAlbumList2",
            &[("type", "newest"), ("size", "-3"), ("offset", "-1")],
        )
        .await;
    assert!(list["albumList2"]["album"]
        .as_array()
        .is_none_or(Vec::is_empty));
    let random = f.json("getRandomSongs", &[("size", "100000")]).await;
    assert_eq!(random["randomSongs"]["song"].as_array().unwrap().len(), all);

    // An empty query pages through everything (offline sync).
    let page = |offset: &'static str| {
        let f = &f;
        async move {
            let params = [
                ("query", "\"\""),
                ("songCount", "2"),
                ("songOffset", offset),
                ("artistCount", "0"),
                ("albumCount", "0"),
            ];
            f.json("search3", &params).await
        }
    };
    let (a, b) = (page("0").await, page("2").await);
    let ids = |r: &Value| -> Vec<String> {
        r["searchResult3"]["song"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|x| x["id"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let everything = ids(&huge);
    assert_eq!(
        [ids(&a), ids(&b)].concat(),
        everything[..4.min(everything.len())]
    );
    assert!(a["searchResult3"]["artist"]
        .as_array()
        .is_none_or(Vec::is_empty));

    // A form body over the limit is refused with a document (in XML: the format was in the
    // refused body), not a dropped connection.
    let big = "x".repeat(2 << 20);
    let answer = call(
        &f.server,
        "ping",
        &f.key_auth(),
        &[("f", "json"), ("pad", &big)],
        true,
    )
    .await;
    assert_eq!(answer.status, 200);
    assert!(answer.text().contains("code=\"0\""), "{}", answer.text());
}

#[tokio::test]
async fn streams_send_bytes_with_ranges_and_errors_as_documents() {
    let f = fixture().await;
    let songs = f.json("search3", &[("query", "")]).await["searchResult3"]["song"].clone();
    let song = &songs[0];
    let id = song["id"].as_str().unwrap();
    let size = song["size"].as_u64().unwrap();
    let url = |name: &str| {
        format!(
            "{}/rest/{name}.view?v=1.16.1&c=t&apiKey={}&id={id}&maxBitRate=128&format=mp3",
            f.server.url, f.key
        )
    };
    let http = reqwest::Client::new();
    let whole = http.get(url("stream")).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(
        whole.headers()["content-type"],
        song["contentType"].as_str().unwrap()
    );
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let etag = whole.headers()["etag"].to_str().unwrap().to_string();
    let bytes = whole.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, size);

    let part = http
        .get(url("stream"))
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 100-199/{size}").as_str()
    );
    assert_eq!(part.bytes().await.unwrap(), bytes.slice(100..200));
    let unchanged = http
        .get(url("stream"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);
    let past = http
        .get(url("stream"))
        .header("Range", format!("bytes={size}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), 416);

    let download = http.get(url("download")).send().await.unwrap();
    assert_eq!(download.headers()["content-disposition"], "attachment");
    assert_eq!(download.bytes().await.unwrap(), bytes);

    // Form POST works for streams too (py-sonic sends them that way).
    let posted = call(&f.server, "stream", &f.key_auth(), &[("id", id)], true).await;
    assert_eq!(posted.body, bytes.to_vec());

    // Failures are documents in the asked format, with HTTP 200.
    let missing = call(
        &f.server,
        "stream",
        &f.key_auth(),
        &[("id", "tr-99999"), ("f", "json")],
        false,
    )
    .await;
    assert_eq!(missing.content_type, "application/json");
    assert_eq!(missing.code(), 70);
    let denied = call(
        &f.server,
        "stream",
        &[("apiKey", "cz_x")],
        &[("id", id)],
        false,
    )
    .await;
    assert!(denied.content_type.starts_with("text/xml"));
    assert!(denied.text().contains("code=\"44\""));

    // Covers: by album or song id; `size` is accepted.
    let album = song["albumId"].as_str().unwrap();
    let cover = call(
        &f.server,
        "getCoverArt",
        &f.key_auth(),
        &[("id", album), ("size", "64"), ("f", "json")],
        false,
    )
    .await;
    if cover.content_type.starts_with("image/") {
        let by_song = call(
            &f.server,
            "getCoverArt",
            &f.key_auth(),
            &[("id", id)],
            false,
        )
        .await;
        assert_eq!(by_song.body, cover.body);
    } else {
        assert_eq!(cover.code(), 70, "no cover: a document");
    }
    assert!(f.server.metric("cadenza_streams_total").await >= 4.0);
}

#[tokio::test]
async fn listening_data_is_kept_per_user_and_ids_survive_a_restart() {
    let mut f = fixture().await;
    let songs = f.json("search3", &[("query", "")]).await["searchResult3"]["song"].clone();
    let id = |i: usize| songs[i]["id"].as_str().unwrap().to_string();
    let (a, b, c) = (id(0), id(1), id(2));

    // Playlists: create, edit everything at once, replace, and an all-or-nothing create.
    let made = f
        .json(
            "createPlaylist",
            &[
                ("name", "Mix"),
                ("songId", &a),
                ("songId", &b),
                ("songId", &c),
            ],
        )
        .await;
    let list = made["playlist"]["id"].as_str().unwrap().to_string();
    f.json(
        "updatePlaylist",
        &[
            ("playlistId", &list),
            ("name", "Mix 2"),
            ("comment", "loud"),
            ("public", "true"),
            ("songIndexToRemove", "0"),
            ("songIndexToRemove", "2"),
            ("songIdToAdd", &a),
        ],
    )
    .await;
    let got = f.json("getPlaylist", &[("id", &list)]).await["playlist"].clone();
    assert_eq!(got["name"], "Mix 2");
    assert_eq!(got["comment"], "loud");
    assert_eq!(got["public"], true);
    let entries: Vec<&str> = got["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(entries, [b.as_str(), a.as_str()]);
    assert_eq!(
        f.code(
            "createPlaylist",
            &[("name", "Broken"), ("songId", &a), ("songId", "tr-99999")]
        )
        .await,
        70
    );
    let lists = f.json("getPlaylists", &[]).await["playlists"]["playlist"].clone();
    assert_eq!(
        lists.as_array().unwrap().len(),
        1,
        "the failed create left nothing: {lists}"
    );
    // The admin sees the public list but may not change it.
    let admin_auth = [("apiKey", f.admin_key.as_str())];
    let by_admin = call(
        &f.server,
        "updatePlaylist",
        &admin_auth,
        &[("playlistId", &list), ("name", "Mine"), ("f", "json")],
        false,
    )
    .await;
    assert_eq!(by_admin.code(), 50);

    // Stars and ratings are the caller's own.
    f.json(
        "star",
        &[
            ("id", &a),
            ("albumId", songs[0]["albumId"].as_str().unwrap()),
        ],
    )
    .await;
    f.json("setRating", &[("id", &a), ("rating", "4")]).await;
    let song = f.json("getSong", &[("id", &a)]).await["song"].clone();
    assert!(song["starred"].is_string());
    assert_eq!(song["userRating"], 4);
    let admin_view = call(
        &f.server,
        "getSong",
        &admin_auth,
        &[("id", &a), ("f", "json")],
        false,
    )
    .await
    .json();
    assert!(admin_view["song"]["starred"].is_null(), "{admin_view}");
    let starred = f.json("getStarred2", &[]).await["starred2"].clone();
    assert_eq!(starred["song"][0]["id"], a.as_str());
    assert_eq!(starred["album"].as_array().unwrap().len(), 1);
    let albums = f.json("getAlbumList2", &[("type", "starred")]).await;
    assert_eq!(albums["albumList2"]["album"].as_array().unwrap().len(), 1);

    // Scrobbles: now playing, and a play sent twice with its time counts once.
    f.json("scrobble", &[("id", &b), ("submission", "false")])
        .await;
    let playing = f.json("getNowPlaying", &[]).await["nowPlaying"]["entry"].clone();
    assert_eq!(playing[0]["id"], b.as_str());
    assert_eq!(playing[0]["username"], "lisa");
    assert_eq!(playing[0]["playerName"], "protocol-test");
    let now_ms = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 30)
        * 1000;
    let time = now_ms.to_string();
    for _ in 0..2 {
        f.json("scrobble", &[("id", &b), ("time", &time)]).await;
    }
    f.json("scrobble", &[("id", &c)]).await;
    assert_eq!(f.admin.stats().await.unwrap().plays, 2);
    let recent = f.json("getAlbumList2", &[("type", "recent")]).await;
    assert!(!recent["albumList2"]["album"].as_array().unwrap().is_empty());

    // The play queue.
    f.json(
        "savePlayQueue",
        &[
            ("id", &c),
            ("id", &a),
            ("current", &a),
            ("position", "4200"),
        ],
    )
    .await;
    let queue = f.json("getPlayQueue", &[]).await["playQueue"].clone();
    assert_eq!(queue["current"], a.as_str());
    assert_eq!(queue["position"], 4200);
    assert_eq!(queue["changedBy"], "protocol-test");
    assert_eq!(queue["entry"].as_array().unwrap().len(), 2);

    // Everything, ids included, is the same after a restart.
    let before = f.json("getPlaylist", &[("id", &list)]).await;
    let album_before = f
        .json("getAlbum", &[("id", songs[0]["albumId"].as_str().unwrap())])
        .await;
    f.server.restart();
    let after = f.json("getPlaylist", &[("id", &list)]).await;
    assert_eq!(after["playlist"]["entry"], before["playlist"]["entry"]);
    let album_after = f
        .json("getAlbum", &[("id", songs[0]["albumId"].as_str().unwrap())])
        .await;
    assert_eq!(album_after["album"], album_before["album"]);
    assert_eq!(
        f.json("getPlayQueue", &[]).await["playQueue"]["entry"],
        queue["entry"]
    );
    f.json("deletePlaylist", &[("id", &list)]).await;
    assert_eq!(f.code("getPlaylist", &[("id", &list)]).await, 70);
}
