//! Volume settings: a local directory or an S3 bucket, written as a string
//! (`NAME=PATH`, `PATH`, `NAME=s3://BUCKET/PREFIX?endpoint=…&anonymous=true`) or, in the
//! config file, as a table (`{ name = "b", s3 = "s3://bucket/prefix", endpoint = "…" }`).
//!
//! S3 credentials are resolved at start-up, in this order, and nowhere else: `anonymous =
//! true` (unsigned requests); a named credentials file (`credentials_file`, with `profile`,
//! else `AWS_PROFILE`, else `default`); the `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`
//! (/ `AWS_SESSION_TOKEN`) environment variables. With none of them the configuration is
//! refused: Cadenza never asks a cloud instance-metadata service, or any other network
//! source, for credentials.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cadenza_store::{S3Credentials, S3Settings};
use serde::Deserialize;

/// A volume as configured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "VolumeEntry")]
pub struct VolumeSpec {
    /// Stable name: placement hashes it, so never rename a volume.
    pub name: String,
    pub place: Place,
}

/// Where a volume keeps its blobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A directory (relative paths are inside the data dir until the config is resolved).
    Dir(PathBuf),
    S3(S3Spec),
}

/// An S3 volume as configured; credentials are resolved by [`S3Spec::settings`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct S3Spec {
    pub bucket: String,
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Bucket in the URL path (the default; what MinIO and SeaweedFS expect).
    pub path_style: Option<bool>,
    /// Plain HTTP; defaults to on for an `http://` endpoint, off otherwise.
    pub allow_http: Option<bool>,
    pub anonymous: bool,
    pub credentials_file: Option<PathBuf>,
    pub profile: Option<String>,
}

/// The config file's form: a string, or a table.
#[derive(Deserialize)]
#[serde(untagged)]
enum VolumeEntry {
    Text(String),
    Table(VolumeTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VolumeTable {
    name: String,
    path: Option<PathBuf>,
    /// `s3://BUCKET/PREFIX`
    s3: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    path_style: Option<bool>,
    allow_http: Option<bool>,
    #[serde(default)]
    anonymous: bool,
    credentials_file: Option<PathBuf>,
    profile: Option<String>,
}

impl TryFrom<VolumeEntry> for VolumeSpec {
    type Error = String;
    fn try_from(entry: VolumeEntry) -> Result<Self, Self::Error> {
        let table = match entry {
            VolumeEntry::Text(text) => return text.parse(),
            VolumeEntry::Table(table) => table,
        };
        check_name(&table.name, &table.name)?;
        let options = S3Spec {
            endpoint: table.endpoint,
            region: table.region,
            path_style: table.path_style,
            allow_http: table.allow_http,
            anonymous: table.anonymous,
            credentials_file: table.credentials_file,
            profile: table.profile,
            ..S3Spec::default()
        };
        let place = match (table.path, table.s3) {
            (Some(path), None) if options == S3Spec::default() => Place::Dir(path),
            (Some(_), None) => {
                return Err(format!(
                    "volume `{}` has a path and S3 options; give either path or s3",
                    table.name
                ))
            }
            (None, Some(url)) => {
                let (bucket, prefix) = bucket_and_prefix(&url)?;
                Place::S3(S3Spec {
                    bucket,
                    prefix,
                    ..options
                })
            }
            _ => {
                return Err(format!(
                "volume `{}` needs exactly one of path = \"DIR\" or s3 = \"s3://BUCKET/PREFIX\"",
                table.name
            ))
            }
        };
        Ok(VolumeSpec {
            name: table.name,
            place,
        })
    }
}

fn check_name(name: &str, written: &str) -> Result<(), String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "volume `{written}` needs a name of letters, digits, `-`, `_` or `.`; write NAME=PATH or NAME=s3://BUCKET/PREFIX"
        ));
    }
    Ok(())
}

/// `s3://bucket/some/prefix` → (`bucket`, `some/prefix`).
fn bucket_and_prefix(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| format!("`{url}` is not an S3 location; write s3://BUCKET/PREFIX"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!("`{url}` names no bucket; write s3://BUCKET/PREFIX"));
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

fn parse_bool(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("`{key}={value}`: write true or false")),
    }
}

impl FromStr for VolumeSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.starts_with("s3://") {
            return Err(format!(
                "volume `{s}` needs a name; write NAME=s3://BUCKET/PREFIX"
            ));
        }
        let (name, location) = match s.split_once('=') {
            Some((name, location)) => (name.trim().to_string(), location.trim()),
            None => {
                let name = Path::new(s)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (name, s)
            }
        };
        if location.is_empty() {
            return Err(format!("volume `{s}` has no path; write NAME=PATH or PATH"));
        }
        check_name(&name, s)?;
        let place = if location.starts_with("s3://") {
            Place::S3(parse_s3_url(location)?)
        } else {
            Place::Dir(PathBuf::from(location))
        };
        Ok(VolumeSpec { name, place })
    }
}

/// `s3://BUCKET/PREFIX?endpoint=…&region=…&path_style=…&allow_http=…&anonymous=…&
/// credentials_file=…&profile=…`
fn parse_s3_url(location: &str) -> Result<S3Spec, String> {
    let (base, query) = location.split_once('?').unwrap_or((location, ""));
    let (bucket, prefix) = bucket_and_prefix(base)?;
    let mut spec = S3Spec {
        bucket,
        prefix,
        ..S3Spec::default()
    };
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "endpoint" => spec.endpoint = Some(value),
            "region" => spec.region = Some(value),
            "path_style" => spec.path_style = Some(parse_bool(&key, &value)?),
            "allow_http" => spec.allow_http = Some(parse_bool(&key, &value)?),
            "anonymous" => spec.anonymous = parse_bool(&key, &value)?,
            "credentials_file" => spec.credentials_file = Some(PathBuf::from(value)),
            "profile" => spec.profile = Some(value),
            other => {
                return Err(format!(
                    "`{location}`: unknown option `{other}` (known: endpoint, region, path_style, allow_http, anonymous, credentials_file, profile)"
                ))
            }
        }
    }
    Ok(spec)
}

impl S3Spec {
    /// `s3://bucket/prefix`
    pub fn url(&self) -> String {
        match self.prefix.as_str() {
            "" => format!("s3://{}", self.bucket),
            prefix => format!("s3://{}/{prefix}", self.bucket),
        }
    }

    /// The store's settings, credentials resolved from `env` (see the module docs).
    pub fn settings(
        &self,
        volume: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<S3Settings, String> {
        let credentials = self.credentials(volume, env)?;
        let plain_http = self
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"));
        Ok(S3Settings {
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            path_style: self.path_style.unwrap_or(true),
            allow_http: self.allow_http.unwrap_or(plain_http),
            credentials,
        })
    }

    fn credentials(
        &self,
        volume: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<S3Credentials, String> {
        let named = format!("S3 volume `{volume}` ({})", self.url());
        if self.anonymous {
            if self.credentials_file.is_some() {
                return Err(format!(
                    "{named}: anonymous = true and a credentials_file are both set; choose one"
                ));
            }
            return Ok(S3Credentials::Anonymous);
        }
        if let Some(file) = &self.credentials_file {
            let profile = self
                .profile
                .clone()
                .or_else(|| env("AWS_PROFILE").filter(|p| !p.is_empty()))
                .unwrap_or_else(|| "default".into());
            return credentials_from_file(file, &profile).map_err(|e| format!("{named}: {e}"));
        }
        let key = env("AWS_ACCESS_KEY_ID").filter(|v| !v.is_empty());
        let secret = env("AWS_SECRET_ACCESS_KEY").filter(|v| !v.is_empty());
        match (key, secret) {
            (Some(access_key_id), Some(secret_access_key)) => Ok(S3Credentials::Keys {
                access_key_id,
                secret_access_key,
                session_token: env("AWS_SESSION_TOKEN").filter(|v| !v.is_empty()),
            }),
            (Some(_), None) | (None, Some(_)) => Err(format!(
                "{named}: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not one of them"
            )),
            (None, None) => Err(format!(
                "{named} has no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                 name a credentials file (credentials_file=PATH, profile=NAME), or set \
                 anonymous=true for an endpoint that accepts unsigned requests. Cadenza never \
                 asks a cloud instance-metadata service for credentials."
            )),
        }
    }
}

/// Keys of one profile of an AWS-style credentials file (INI: `[profile]`, `key = value`).
fn credentials_from_file(path: &Path, profile: &str) -> Result<S3Credentials, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the credentials file {}: {e}", path.display()))?;
    let mut section = String::new();
    let mut keys: HashMap<String, String> = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name
                .trim()
                .trim_start_matches("profile ")
                .trim()
                .to_string();
        } else if section == profile {
            if let Some((key, value)) = line.split_once('=') {
                keys.insert(key.trim().to_string(), value.trim().to_string());
            }
        }
    }
    let mut take = |key: &str| keys.remove(key).filter(|v| !v.is_empty());
    match (take("aws_access_key_id"), take("aws_secret_access_key")) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(S3Credentials::Keys {
            access_key_id,
            secret_access_key,
            session_token: take("aws_session_token"),
        }),
        _ => Err(format!(
            "the credentials file {} has no aws_access_key_id and aws_secret_access_key in profile [{profile}]",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn s3(spec: &str) -> S3Spec {
        match spec.parse::<VolumeSpec>().unwrap().place {
            Place::S3(s3) => s3,
            other => panic!("expected S3, got {other:?}"),
        }
    }

    #[test]
    fn directory_and_s3_strings_parse() {
        let dir: VolumeSpec = "a=/mnt/a".parse().unwrap();
        assert_eq!(dir.place, Place::Dir("/mnt/a".into()));
        let spec =
            s3("b=s3://music/blobs/v1?endpoint=http://127.0.0.1:8333&anonymous=true&region=eu-1");
        assert_eq!(
            (spec.bucket.as_str(), spec.prefix.as_str()),
            ("music", "blobs/v1")
        );
        assert_eq!(spec.endpoint.as_deref(), Some("http://127.0.0.1:8333"));
        assert!(spec.anonymous);
        let settings = spec.settings("b", &no_env).unwrap();
        assert!(settings.allow_http && settings.path_style);
        assert_eq!(settings.credentials, S3Credentials::Anonymous);
        assert_eq!(settings.region.as_deref(), Some("eu-1"));
        assert_eq!(s3("c=s3://bucket").prefix, "");
        for bad in [
            "s3://bucket/x",
            "b=s3:///x",
            "b=s3://bucket?endpont=x",
            "b=s3://bucket?anonymous=maybe",
            "b c=s3://bucket",
        ] {
            assert!(bad.parse::<VolumeSpec>().is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn tables_parse() {
        #[derive(Deserialize)]
        struct File {
            volumes: Vec<VolumeSpec>,
        }
        let file: File = toml::from_str(
            r#"volumes = [
                "a=/mnt/a",
                { name = "b", path = "/mnt/b" },
                { name = "c", s3 = "s3://bkt/pre", endpoint = "https://s3.example", region = "r", path_style = false, credentials_file = "/c", profile = "p" },
            ]"#,
        )
        .unwrap();
        assert_eq!(file.volumes[1].place, Place::Dir("/mnt/b".into()));
        let Place::S3(c) = &file.volumes[2].place else {
            panic!("{:?}", file.volumes[2]);
        };
        assert_eq!((c.bucket.as_str(), c.prefix.as_str()), ("bkt", "pre"));
        assert_eq!(c.path_style, Some(false));
        assert_eq!(c.profile.as_deref(), Some("p"));
        for bad in [
            r#"volumes = [{ name = "x" }]"#,
            r#"volumes = [{ name = "x", path = "/a", s3 = "s3://b" }]"#,
            r#"volumes = [{ name = "x", path = "/a", anonymous = true }]"#,
            r#"volumes = [{ name = "x", s3 = "s3://b", endpont = "y" }]"#,
        ] {
            assert!(
                toml::from_str::<File>(bad).is_err(),
                "{bad} must be refused"
            );
        }
    }

    #[test]
    fn credentials_come_from_anonymous_a_file_or_the_environment_only() {
        let spec = s3("b=s3://bkt?endpoint=https://s3.example");
        // Nothing configured: refused, naming every way to fix it.
        let err = spec.settings("b", &no_env).unwrap_err();
        for says in [
            "AWS_ACCESS_KEY_ID",
            "credentials_file",
            "anonymous",
            "never",
        ] {
            assert!(err.contains(says), "{err}");
        }
        let env = |key: &str| match key {
            "AWS_ACCESS_KEY_ID" => Some("AKIA1".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("s3cret".to_string()),
            _ => None,
        };
        let settings = spec.settings("b", &env).unwrap();
        assert!(!settings.allow_http, "https endpoint");
        assert!(matches!(settings.credentials,
            S3Credentials::Keys { ref access_key_id, ref session_token, .. }
                if access_key_id == "AKIA1" && session_token.is_none()));
        assert!(
            !format!("{settings:?}").contains("s3cret"),
            "secrets stay out of Debug"
        );
        let half = |key: &str| (key == "AWS_ACCESS_KEY_ID").then(|| "AKIA1".to_string());
        assert!(spec.settings("b", &half).unwrap_err().contains("both"));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        std::fs::write(
            &file,
            "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\n[profile music]\naws_access_key_id=M\naws_secret_access_key=MS\naws_session_token=T\n",
        )
        .unwrap();
        let with_file = |profile: Option<&str>| S3Spec {
            credentials_file: Some(file.clone()),
            profile: profile.map(str::to_string),
            ..spec.clone()
        };
        let keys = |spec: S3Spec| match spec.settings("b", &no_env).unwrap().credentials {
            S3Credentials::Keys {
                access_key_id,
                session_token,
                ..
            } => (access_key_id, session_token),
            S3Credentials::Anonymous => panic!("expected keys"),
        };
        assert_eq!(keys(with_file(None)), ("D".into(), None));
        assert_eq!(
            keys(with_file(Some("music"))),
            ("M".into(), Some("T".into()))
        );
        let err = with_file(Some("nope")).settings("b", &no_env).unwrap_err();
        assert!(err.contains("[nope]"), "{err}");
        let both = S3Spec {
            anonymous: true,
            ..with_file(None)
        };
        assert!(both
            .settings("b", &no_env)
            .unwrap_err()
            .contains("choose one"));
    }
}
