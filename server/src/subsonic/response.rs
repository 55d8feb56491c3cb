//! The `subsonic-response` document in XML (the default), JSON (`f=json`) or JSONP
//! (`f=jsonp&callback=NAME`).
//!
//! Handlers build their payload once, as a JSON value or, on the busy endpoints, as typed
//! data written straight to JSON (no value per field to build and free). XML is derived
//! from the JSON value (typed data becomes one first) the way the Subsonic schema lays
//! elements out: scalar fields become attributes, objects become child elements, arrays
//! become repeated child elements named after the field, and a field called `value` becomes
//! the element's text (`<genre songCount="3">Rock</genre>`). Null fields are left out of both.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use warp::http::header::{HeaderValue, CONTENT_TYPE};
use warp::reply::Response;
use warp::Reply as _;

use super::params::Params;
use super::{Error, Result, API_VERSION};

/// Server name clients show (`type`).
pub const SERVER_TYPE: &str = "cadenza";
const XML_NAMESPACE: &str = "http://subsonic.org/restapi";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
    /// JSON wrapped in a call of this function.
    Jsonp(String),
}

impl Format {
    pub fn of(params: &Params) -> Result<Format> {
        match params.get("f").map(str::trim) {
            Some("json") => Ok(Format::Json),
            Some("jsonp") => {
                let callback = params.required("callback")?;
                // Only a plain (dotted) identifier: anything else would let a link run script.
                let valid = !callback.is_empty()
                    && callback.len() <= 100
                    && callback.split('.').all(|part| {
                        part.chars()
                            .next()
                            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
                            && part
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
                    });
                if valid {
                    Ok(Format::Jsonp(callback.to_string()))
                } else {
                    Err(Error::generic(
                        "`callback` must be a JavaScript function name such as `handle` or `app.handle`",
                    ))
                }
            }
            _ => Ok(Format::Xml),
        }
    }
}

/// One element of an `ok` document.
pub enum Element {
    /// Built as a JSON value; null fields are left out when it is written.
    Value(Value),
    /// Already written as JSON (for `f=json` and `f=jsonp`), from typed data with no nulls.
    Json(String),
}

/// What an endpoint answers.
pub enum Reply {
    /// An `ok` document with these elements in it (none for `ping` and the like).
    Ok(Vec<(&'static str, Element)>),
    /// Bytes (streams, downloads, covers) sent as they are.
    Raw(Response),
}

impl Reply {
    /// An `ok` document with no payload.
    pub fn empty() -> Reply {
        Reply::Ok(Vec::new())
    }

    /// An `ok` document with one element.
    pub fn with(name: &'static str, value: Value) -> Reply {
        Reply::Ok(vec![(name, Element::Value(value))])
    }

    /// An `ok` document with one element from typed data, written in the answer's format
    /// at once: JSON straight from the data (the busy endpoints answer this way, without
    /// building a JSON value per field), XML through a JSON value, so both formats follow
    /// the same layout rules as [`Reply::with`].
    pub fn typed(format: &Format, name: &'static str, payload: &impl Serialize) -> Result<Reply> {
        let failed =
            |e: serde_json::Error| Error::generic(format!("could not write the answer: {e}"));
        let element = match format {
            Format::Xml => Element::Value(serde_json::to_value(payload).map_err(failed)?),
            Format::Json | Format::Jsonp(_) => {
                Element::Json(serde_json::to_string(payload).map_err(failed)?)
            }
        };
        Ok(Reply::Ok(vec![(name, element)]))
    }

    pub fn into_response(self, format: &Format) -> Response {
        match self {
            Reply::Ok(elements) => document(format, "ok", elements),
            Reply::Raw(response) => response,
        }
    }
}

/// A `failed` document for `error` (HTTP 200, as clients expect).
pub fn error(format: &Format, error: &Error) -> Response {
    let mut detail = Map::new();
    detail.insert("code".into(), error.code.into());
    detail.insert("message".into(), error.message.clone().into());
    document(
        format,
        "failed",
        vec![("error", Element::Value(Value::Object(detail)))],
    )
}

fn document(format: &Format, status: &str, elements: Vec<(&'static str, Element)>) -> Response {
    let (body, content_type) = match format {
        Format::Xml => (xml(status, elements), "text/xml; charset=utf-8"),
        Format::Json => (json(status, elements), "application/json"),
        Format::Jsonp(callback) => (
            format!("{callback}({});", json(status, elements)),
            "application/javascript; charset=utf-8",
        ),
    };
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The document's JSON: its fields in the byte order of their names (as a sorted map would
/// write them), elements written as they came.
fn json(status: &str, elements: Vec<(&'static str, Element)>) -> String {
    let mut fields: BTreeMap<&str, Element> = BTreeMap::new();
    fields.insert("status", Element::Value(status.into()));
    fields.insert("version", Element::Value(API_VERSION.into()));
    fields.insert("type", Element::Value(SERVER_TYPE.into()));
    fields.insert(
        "serverVersion",
        Element::Value(env!("CARGO_PKG_VERSION").into()),
    );
    fields.insert("openSubsonic", Element::Value(true.into()));
    for (name, element) in elements {
        fields.insert(name, element);
    }
    let capacity = 128
        + fields
            .values()
            .map(|e| match e {
                Element::Json(text) => text.len() + 32,
                Element::Value(_) => 64,
            })
            .sum::<usize>();
    let mut out = String::with_capacity(capacity);
    out.push_str("{\"subsonic-response\":{");
    for (i, (name, element)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(name).to_string());
        out.push(':');
        match element {
            Element::Json(text) => out.push_str(&text),
            Element::Value(mut value) => {
                drop_nulls(&mut value);
                out.push_str(&value.to_string());
            }
        }
    }
    out.push_str("}}");
    out
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn xml(status: &str, elements: Vec<(&'static str, Element)>) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<subsonic-response xmlns=\"{XML_NAMESPACE}\" status=\"{status}\" \
         version=\"{API_VERSION}\" type=\"{SERVER_TYPE}\" serverVersion=\"{}\" \
         openSubsonic=\"true\">",
        env!("CARGO_PKG_VERSION")
    ));
    for (name, payload) in &elements {
        match payload {
            Element::Value(value) => element(&mut out, name, value),
            // Typed payloads are built as values when the answer is XML; a JSON text here
            // would be a mistake in this module, and is parsed rather than lost.
            Element::Json(text) => {
                if let Ok(value) = serde_json::from_str::<Value>(text) {
                    element(&mut out, name, &value);
                }
            }
        }
    }
    out.push_str("</subsonic-response>\n");
    out
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

fn element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Object(map) => {
            out.push('<');
            out.push_str(name);
            let mut text = None;
            for (key, field) in map {
                match (key.as_str(), scalar(field)) {
                    ("value", Some(s)) => text = Some(s),
                    (_, Some(s)) => {
                        out.push(' ');
                        out.push_str(key);
                        out.push_str("=\"");
                        out.push_str(&escape(&s));
                        out.push('"');
                    }
                    _ => {}
                }
            }
            let nested = map.values().any(|v| {
                matches!(v, Value::Object(_)) || matches!(v, Value::Array(a) if !a.is_empty())
            });
            if text.is_none() && !nested {
                out.push_str("/>");
                return;
            }
            out.push('>');
            if let Some(text) = text {
                out.push_str(&escape(&text));
            }
            for (key, field) in map {
                match field {
                    Value::Object(_) => element(out, key, field),
                    Value::Array(items) => {
                        for item in items {
                            element(out, key, item);
                        }
                    }
                    _ => {}
                }
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Value::Null => {}
        Value::Array(items) => {
            for item in items {
                element(out, name, item);
            }
        }
        other => {
            let text = scalar(other).unwrap_or_default();
            out.push('<');
            out.push_str(name);
            out.push('>');
            out.push_str(&escape(&text));
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn xml_follows_the_subsonic_layout() {
        let body = xml(
            "ok",
            vec![(
                "genres",
                Element::Value(
                    json!({"genre": [{"value": "R&B", "songCount": 2}, {"value": "Jazz", "songCount": null}]}),
                ),
            )],
        );
        assert!(body.contains("status=\"ok\" version=\"1.16.1\""), "{body}");
        assert!(
            body.contains(
                "<genres><genre songCount=\"2\">R&amp;B</genre><genre>Jazz</genre></genres>"
            ),
            "{body}"
        );
        let album = xml(
            "ok",
            vec![(
                "album",
                Element::Value(
                    json!({"id": "al-1", "name": "\"Q\" <x>", "song": [{"id": "tr-1"}], "genres": []}),
                ),
            )],
        );
        assert!(
            album.contains(
                "<album id=\"al-1\" name=\"&quot;Q&quot; &lt;x&gt;\"><song id=\"tr-1\"/></album>"
            ),
            "{album}"
        );
    }

    #[test]
    fn json_has_the_open_subsonic_fields_and_no_nulls() {
        let body = json(
            "failed",
            vec![(
                "error",
                Element::Value(json!({"code": 70, "message": null})),
            )],
        );
        let v: Value = serde_json::from_str(&body).unwrap();
        let r = &v["subsonic-response"];
        assert_eq!(r["status"], "failed");
        assert_eq!(r["openSubsonic"], true);
        assert_eq!(r["type"], SERVER_TYPE);
        assert_eq!(r["error"], json!({"code": 70}));
    }

    #[test]
    fn jsonp_callbacks_must_be_names() {
        let f = |c: &str| Format::of(&Params::from_pairs(&[("f", "jsonp"), ("callback", c)]));
        assert_eq!(
            f("app.handle_1").unwrap(),
            Format::Jsonp("app.handle_1".into())
        );
        assert!(f("alert(1)//").is_err());
        assert!(f("a..b").is_err());
        assert_eq!(
            Format::of(&Params::from_pairs(&[("f", "jsonp")]))
                .unwrap_err()
                .code,
            10
        );
        assert_eq!(Format::of(&Params::default()).unwrap(), Format::Xml);
    }

    /// The typed elements answer exactly what the JSON-value builders they replaced did:
    /// the same JSON text (field order, nulls left out) and the same XML. The builders
    /// below are those replaced ones, kept here as the reference.
    mod typed_matches_value {
        use super::*;
        use crate::subsonic::model::{self, Marks};
        use cadenza_api::{Album, ArtistRef, Song};
        use cadenza_catalog::{Annotation, Item};

        fn song(id: i64, album_artist: bool, full: bool) -> Song {
            Song {
                id,
                title: "Fast / \"Loud\" & <Slow>".into(),
                artist: "A, B".into(),
                artist_id: 4,
                album: "Side/Two".into(),
                album_id: 7,
                track: full.then_some(3),
                disc: full.then_some(1),
                genre: full.then(|| "R&B".into()),
                year: full.then_some(1999),
                duration_ms: 180_001,
                codec: "vorbis".into(),
                content_type: "audio/ogg".into(),
                bitrate_kbps: full.then_some(320),
                sample_rate: full.then_some(44_100),
                channels: full.then_some(2),
                size: 5_000_000,
                hash: "00".into(),
                created_at: 1_704_794_400,
                artists: vec![
                    ArtistRef {
                        id: 4,
                        name: "A".into(),
                    },
                    ArtistRef {
                        id: 5,
                        name: "B".into(),
                    },
                ],
                genres: if full {
                    vec!["R&B".into(), "Jazz".into()]
                } else {
                    Vec::new()
                },
                album_artist: album_artist.then(|| ArtistRef {
                    id: 9,
                    name: "Various".into(),
                }),
            }
        }

        fn album(id: i64, full: bool) -> Album {
            Album {
                id,
                title: "Side/Two".into(),
                artist: "A".into(),
                artist_id: 4,
                year: full.then_some(1999),
                genre: full.then(|| "R&B".into()),
                song_count: 2,
                duration_ms: 360_002,
                has_cover: full,
                created_at: 1_704_794_400,
            }
        }

        fn old_path(song: &Song) -> String {
            let clean = |s: &str| s.replace('/', "_");
            let track = song.track.map(|t| format!("{t:02} - ")).unwrap_or_default();
            format!(
                "{}/{}/{track}{}.{}",
                clean(&song.artist),
                clean(&song.album),
                clean(&song.title),
                model::suffix(&song.codec)
            )
        }

        fn old_child(song: &Song, marks: &Marks) -> Value {
            let item = Item::Song(song.id);
            let a = |id: i64, name: &str| json!({ "id": format!("ar-{id}"), "name": name });
            let artists: Vec<Value> = song.artists.iter().map(|r| a(r.id, &r.name)).collect();
            let album_artists: Vec<Value> =
                song.album_artist.iter().map(|r| a(r.id, &r.name)).collect();
            let genres: Vec<Value> = song.genres.iter().map(|g| json!({ "name": g })).collect();
            let mark = marks.0.get(&item);
            json!({
                "id": format!("tr-{}", song.id),
                "parent": format!("al-{}", song.album_id),
                "isDir": false,
                "title": song.title,
                "album": song.album,
                "artist": song.artist,
                "track": song.track,
                "year": song.year,
                "genre": song.genre,
                "coverArt": format!("al-{}", song.album_id),
                "size": song.size,
                "contentType": song.content_type,
                "suffix": model::suffix(&song.codec),
                "duration": song.duration_ms.div_ceil(1000),
                "bitRate": song.bitrate_kbps,
                "samplingRate": song.sample_rate,
                "channelCount": song.channels,
                "path": old_path(song),
                "isVideo": false,
                "discNumber": song.disc,
                "created": model::iso(song.created_at),
                "albumId": format!("al-{}", song.album_id),
                "artistId": format!("ar-{}", song.artist_id),
                "type": "music",
                "mediaType": "song",
                "starred": mark.and_then(|m| m.starred_at).map(model::iso),
                "userRating": mark.and_then(|m| m.rating),
                "artists": artists,
                "displayArtist": song.artist,
                "albumArtists": album_artists,
                "displayAlbumArtist": song.album_artist.as_ref().map(|a| &a.name),
                "genres": genres,
            })
        }

        fn old_album_id3(album: &Album, marks: &Marks) -> Value {
            let mark = marks.0.get(&Item::Album(album.id));
            let genres: Vec<Value> = album.genre.iter().map(|g| json!({ "name": g })).collect();
            json!({
                "id": format!("al-{}", album.id),
                "name": album.title,
                "artist": album.artist,
                "artistId": format!("ar-{}", album.artist_id),
                "coverArt": album.has_cover.then(|| format!("al-{}", album.id)),
                "songCount": album.song_count,
                "duration": album.duration_ms.div_ceil(1000),
                "created": model::iso(album.created_at),
                "year": album.year,
                "genre": album.genre,
                "starred": mark.and_then(|m| m.starred_at).map(model::iso),
                "userRating": mark.and_then(|m| m.rating),
                "artists": [{ "id": format!("ar-{}", album.artist_id), "name": album.artist }],
                "displayArtist": album.artist,
                "genres": genres,
            })
        }

        fn old_album_child(album: &Album, marks: &Marks) -> Value {
            let mark = marks.0.get(&Item::Album(album.id));
            json!({
                "id": format!("al-{}", album.id),
                "parent": format!("ar-{}", album.artist_id),
                "isDir": true,
                "title": album.title,
                "name": album.title,
                "album": album.title,
                "artist": album.artist,
                "year": album.year,
                "genre": album.genre,
                "coverArt": album.has_cover.then(|| format!("al-{}", album.id)),
                "duration": album.duration_ms.div_ceil(1000),
                "created": model::iso(album.created_at),
                "albumId": format!("al-{}", album.id),
                "artistId": format!("ar-{}", album.artist_id),
                "starred": mark.and_then(|m| m.starred_at).map(model::iso),
                "userRating": mark.and_then(|m| m.rating),
            })
        }

        fn marks() -> Marks {
            let mut marks = Marks::default();
            let star = |starred_at, rating| Annotation { starred_at, rating };
            marks
                .0
                .insert(Item::Song(1), star(Some(1_704_794_400), Some(4)));
            marks.0.insert(Item::Song(2), star(None, Some(2)));
            marks
                .0
                .insert(Item::Album(7), star(Some(1_704_794_401), None));
            marks.0.insert(Item::Artist(4), star(None, Some(5)));
            marks
        }

        /// The document from the typed element and from the reference value agree in both
        /// formats, byte for byte.
        fn same_documents(name: &'static str, typed: &impl Serialize, reference: Value) {
            let text = serde_json::to_string(typed).unwrap();
            let typed_json = json("ok", vec![(name, Element::Json(text))]);
            let value_json = json("ok", vec![(name, Element::Value(reference.clone()))]);
            assert_eq!(typed_json, value_json);
            let typed_xml = xml(
                "ok",
                vec![(name, Element::Value(serde_json::to_value(typed).unwrap()))],
            );
            let value_xml = xml("ok", vec![(name, Element::Value(reference))]);
            assert_eq!(typed_xml, value_xml);
        }

        #[test]
        fn child_album_and_artist_elements() {
            let marks = marks();
            let songs = vec![
                song(1, true, true),
                song(2, false, false),
                song(3, true, false),
            ];
            for s in &songs {
                same_documents("song", &model::child(s, &marks), old_child(s, &marks));
            }
            let list: Vec<Value> = songs.iter().map(|s| old_child(s, &marks)).collect();
            let children = model::children(&songs, &marks);
            same_documents(
                "randomSongs",
                &model::SongList { song: children },
                json!({ "song": list }),
            );

            let albums = vec![album(7, true), album(8, false)];
            let artists = vec![cadenza_api::Artist {
                id: 4,
                name: "A & <B>".into(),
                album_count: 2,
                song_count: 3,
            }];
            let old_artists =
                json!([{ "id": "ar-4", "name": "A & <B>", "albumCount": 2, "userRating": 5 }]);
            let with_songs =
                model::album_id3(&albums[0], &marks).with_songs(model::children(&songs, &marks));
            let mut old = old_album_id3(&albums[0], &marks);
            old["song"] = json!(list);
            same_documents("album", &with_songs, old);

            let artist = model::artists_id3(&artists, &marks);
            let id3 = model::Found {
                album: model::albums_id3(&albums, &marks),
                artist,
                song: model::children(&songs, &marks),
            };
            let old_id3: Vec<Value> = albums.iter().map(|a| old_album_id3(a, &marks)).collect();
            same_documents(
                "searchResult3",
                &id3,
                json!({ "artist": old_artists, "album": old_id3, "song": list }),
            );
            let folders = model::Found {
                album: model::album_children(&albums, &marks),
                artist: model::artists_id3(&artists, &marks),
                song: model::children(&songs, &marks),
            };
            let old_folders: Vec<Value> =
                albums.iter().map(|a| old_album_child(a, &marks)).collect();
            same_documents(
                "searchResult2",
                &folders,
                json!({ "artist": old_artists, "album": old_folders, "song": list }),
            );

            for comment in [Some("mine & <yours>".to_string()), None] {
                let playlist = cadenza_api::Playlist {
                    id: 6,
                    name: "Road".into(),
                    owner_id: 1,
                    owner: "ann".into(),
                    public: true,
                    song_count: 3,
                    duration_ms: 540_003,
                    created_at: 1_704_794_400,
                    updated_at: 1_704_794_460,
                    comment,
                };
                let old = json!({
                    "id": "pl-6",
                    "name": playlist.name,
                    "comment": playlist.comment,
                    "owner": playlist.owner,
                    "public": playlist.public,
                    "songCount": playlist.song_count,
                    "duration": 541,
                    "created": model::iso(playlist.created_at),
                    "changed": model::iso(playlist.updated_at),
                    "entry": list,
                });
                let typed =
                    model::playlist(&playlist).with_entries(model::children(&songs, &marks));
                same_documents("playlist", &typed, old);
            }
        }
    }
}
