//! The config file (`<config dir>/cadenza/config.toml`): server, cache size, key bindings and
//! colours. Every field is optional.
//!
//! ```toml
//! server = "http://music.home:4533"
//! cache_max = "2GiB"
//! [keys]
//! next = ["n", "ctrl-right"]
//! [colors]
//! accent = "magenta"
//! ```
//!
//! `cache_max` is a size as every Cadenza program reads one (`cadenza-units`: `2GiB`, `500MB`,
//! or a number of bytes). `cache_max_mb` (whole MiB) is its deprecated old form, still read so
//! existing files keep working.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cadenza_units::ByteSize;
use ratatui::style::Color;
use serde::Deserialize;

use crate::keys::KeyMap;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server: Option<String>,
    cache_max: Option<ByteSize>,
    /// Deprecated: `cache_max` in whole MiB.
    cache_max_mb: Option<u64>,
    #[serde(default)]
    keys: HashMap<String, KeyList>,
    #[serde(default)]
    colors: HashMap<String, String>,
}

/// `next = "n"` or `next = ["n", "ctrl-right"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum KeyList {
    One(String),
    Many(Vec<String>),
}

/// Colours of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// Titles, the focused pane's border, the gauge.
    pub accent: Color,
    /// Background of the selected row.
    pub selected_bg: Color,
    pub selected_fg: Color,
    /// Secondary text (durations, artists, hints).
    pub muted: Color,
    pub error: Color,
    /// The track that plays, in the queue.
    pub playing: Color,
}

impl Default for Theme {
    fn default() -> Self {
        Self {
            accent: Color::Cyan,
            selected_bg: Color::Blue,
            selected_fg: Color::White,
            muted: Color::DarkGray,
            error: Color::Red,
            playing: Color::Green,
        }
    }
}

impl Theme {
    fn with_overrides(overrides: &HashMap<String, String>) -> Result<Self, String> {
        let mut theme = Theme::default();
        for (name, value) in overrides {
            let color: Color = value.parse().map_err(|_| {
                format!(
                    "[colors] {name}: `{value}` is not a colour; use a name (red, lightblue), \
                     an index (0-255) or #rrggbb"
                )
            })?;
            let slot = match name.as_str() {
                "accent" => &mut theme.accent,
                "selected_bg" => &mut theme.selected_bg,
                "selected_fg" => &mut theme.selected_fg,
                "muted" => &mut theme.muted,
                "error" => &mut theme.error,
                "playing" => &mut theme.playing,
                other => {
                    return Err(format!(
                        "unknown colour `{other}` in [colors]; colours are: accent, selected_bg, \
                         selected_fg, muted, error, playing"
                    ))
                }
            };
            *slot = color;
        }
        Ok(theme)
    }
}

/// The config, checked and ready to use.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: Option<String>,
    pub cache_max_bytes: u64,
    pub keys: KeyMap,
    pub theme: Theme,
}

/// 1 GiB unless configured.
pub const DEFAULT_CACHE_MAX: u64 = 1 << 30;

/// Less would not hold one song.
const MIN_CACHE_MAX: u64 = 1 << 20;

impl Default for Config {
    fn default() -> Self {
        Self {
            server: None,
            cache_max_bytes: DEFAULT_CACHE_MAX,
            keys: KeyMap::default(),
            theme: Theme::default(),
        }
    }
}

impl Config {
    /// `<config dir>/cadenza/config.toml`.
    pub fn default_path() -> Option<PathBuf> {
        dirs::config_dir().map(|d| d.join("cadenza").join("config.toml"))
    }

    /// Reads `path`; a missing file is the default config.
    pub fn load(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        let keys: HashMap<String, Vec<String>> = raw
            .keys
            .into_iter()
            .map(|(action, list)| {
                let list = match list {
                    KeyList::One(k) => vec![k],
                    KeyList::Many(ks) => ks,
                };
                (action, list)
            })
            .collect();
        let (key, cache_max_bytes) = match (raw.cache_max, raw.cache_max_mb) {
            (Some(_), Some(_)) => {
                return Err(
                    "give the cache size once, as cache_max (e.g. cache_max = \"2GiB\"); \
                            cache_max_mb is its deprecated old form"
                        .into(),
                )
            }
            (Some(size), None) => ("cache_max", size.0),
            (None, Some(mib)) => ("cache_max_mb", mib.saturating_mul(1 << 20)),
            (None, None) => ("cache_max", DEFAULT_CACHE_MAX),
        };
        if cache_max_bytes < MIN_CACHE_MAX {
            return Err(format!(
                "{key} is too small: the cache needs at least 1 MiB, e.g. cache_max = \"2GiB\""
            ));
        }
        Ok(Self {
            server: raw.server,
            cache_max_bytes,
            keys: KeyMap::with_overrides(&keys)?,
            theme: Theme::with_overrides(&raw.colors)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;

    #[test]
    fn a_full_config_parses() {
        let config = Config::parse(
            r##"
            server = "http://music.home:4533"
            cache_max_mb = 10
            [keys]
            next = "l"
            quit = ["q", "ctrl-q"]
            [colors]
            accent = "magenta"
            selected_bg = "#203040"
            "##,
        )
        .unwrap();
        assert_eq!(config.server.as_deref(), Some("http://music.home:4533"));
        assert_eq!(config.cache_max_bytes, 10 * 1024 * 1024);
        assert_eq!(config.keys.label(Action::Next), "l");
        assert_eq!(config.keys.label(Action::Quit), "q / ctrl-q");
        assert_eq!(config.theme.accent, Color::Magenta);
        assert_eq!(config.theme.selected_bg, Color::Rgb(0x20, 0x30, 0x40));
    }

    #[test]
    fn mistakes_are_named() {
        let err = Config::parse("srever = \"x\"").unwrap_err();
        assert!(err.contains("srever"), "{err}");
        let err = Config::parse("[colors]\naccent = \"blurple\"").unwrap_err();
        assert!(err.contains("blurple"), "{err}");
        let err = Config::parse("cache_max_mb = 0").unwrap_err();
        assert!(err.contains("at least 1"), "{err}");
    }

    #[test]
    fn the_cache_size_is_a_size_and_the_old_key_still_reads() {
        let bytes = |text: &str| Config::parse(text).map(|c| c.cache_max_bytes);
        assert_eq!(bytes("cache_max = \"2GiB\""), Ok(2 << 30));
        assert_eq!(bytes("cache_max = \"500MB\""), Ok(500_000_000));
        assert_eq!(bytes("cache_max = 10485760"), Ok(10 << 20));
        assert_eq!(
            bytes("cache_max_mb = 2048"),
            Ok(2 << 30),
            "the deprecated key, in MiB"
        );
        let err = bytes("cache_max = \"2G\"").unwrap_err();
        assert!(err.contains("'2G'") && err.contains("GiB"), "{err}");
        let err = bytes("cache_max = \"500KiB\"").unwrap_err();
        assert!(err.contains("cache_max is too small"), "{err}");
        let err = bytes("cache_max = \"1GiB\"\ncache_max_mb = 1024").unwrap_err();
        assert!(err.contains("once"), "{err}");
    }

    #[test]
    fn a_missing_file_is_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(&dir.path().join("none.toml")).unwrap();
        assert_eq!(config.cache_max_bytes, DEFAULT_CACHE_MAX);
    }
}
