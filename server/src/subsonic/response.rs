//! The `subsonic-response` document in XML (the default), JSON (`f=json`) or JSONP
//! (`f=jsonp&callback=NAME`).
//!
//! Handlers build their payload once as a JSON value; XML is derived from it the way the
//! Subsonic schema lays elements out: scalar fields become attributes, objects become
//! child elements, arrays become repeated child elements named after the field, and a
//! field called `value` becomes the element's text (`<genre songCount="3">Rock</genre>`).
//! Null fields are left out of both.

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

/// What an endpoint answers.
pub enum Reply {
    /// An `ok` document with these elements in it (none for `ping` and the like).
    Ok(Vec<(&'static str, Value)>),
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
        Reply::Ok(vec![(name, value)])
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
    document(format, "failed", vec![("error", Value::Object(detail))])
}

fn document(format: &Format, status: &str, elements: Vec<(&'static str, Value)>) -> Response {
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

fn json(status: &str, elements: Vec<(&'static str, Value)>) -> String {
    let mut root = Map::new();
    root.insert("status".into(), status.into());
    root.insert("version".into(), API_VERSION.into());
    root.insert("type".into(), SERVER_TYPE.into());
    root.insert("serverVersion".into(), env!("CARGO_PKG_VERSION").into());
    root.insert("openSubsonic".into(), true.into());
    for (name, mut value) in elements {
        drop_nulls(&mut value);
        root.insert(name.into(), value);
    }
    let mut outer = Map::new();
    outer.insert("subsonic-response".into(), Value::Object(root));
    Value::Object(outer).to_string()
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

fn xml(status: &str, elements: Vec<(&'static str, Value)>) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<subsonic-response xmlns=\"{XML_NAMESPACE}\" status=\"{status}\" \
         version=\"{API_VERSION}\" type=\"{SERVER_TYPE}\" serverVersion=\"{}\" \
         openSubsonic=\"true\">",
        env!("CARGO_PKG_VERSION")
    ));
    for (name, value) in &elements {
        element(&mut out, name, value);
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
                json!({"genre": [{"value": "R&B", "songCount": 2}, {"value": "Jazz", "songCount": null}]}),
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
                json!({"id": "al-1", "name": "\"Q\" <x>", "song": [{"id": "tr-1"}], "genres": []}),
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
            vec![("error", json!({"code": 70, "message": null}))],
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
}
