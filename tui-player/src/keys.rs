//! Key bindings: defaults that follow terminal-player habits, overridable per action from the
//! config file (`[keys] next = ["n", "ctrl-right"]`).

use std::collections::HashMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::action::Action;

/// A key with its modifiers, normalised (Shift is part of the character, not a modifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chord {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Chord {
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Self {
        let mods = match code {
            // Terminals disagree on whether 'J' comes with Shift; the letter says it already.
            KeyCode::Char(_) | KeyCode::BackTab => mods - KeyModifiers::SHIFT,
            _ => mods,
        };
        Self {
            code,
            mods: mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT),
        }
    }

    pub fn from_event(event: &KeyEvent) -> Self {
        Self::new(event.code, event.modifiers)
    }

    /// Parses `"space"`, `"J"`, `"ctrl-n"`, `"alt-left"`, `"pgdown"`, `"?"`.
    pub fn parse(text: &str) -> Result<Chord, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(stripped) = ["ctrl-", "alt-", "shift-"]
                .iter()
                .find(|p| lower.starts_with(*p) && rest.len() > p.len())
            {
                mods |= match *stripped {
                    "ctrl-" => KeyModifiers::CONTROL,
                    "alt-" => KeyModifiers::ALT,
                    _ => KeyModifiers::SHIFT,
                };
                rest = &rest[stripped.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "space" => KeyCode::Char(' '),
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdown" | "pagedown" => KeyCode::PageDown,
            "insert" => KeyCode::Insert,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(c),
                    _ => {
                        return Err(format!(
                            "`{text}` is not a key: use a character (`n`, `J`, `?`), a name \
                             (space, enter, esc, tab, backtab, left, right, up, down, home, end, \
                             pgup, pgdown, f1..f12) with optional ctrl-/alt-/shift-"
                        ))
                    }
                }
            }
        };
        Ok(Chord::new(code, mods))
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdown"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

fn defaults() -> Vec<(Action, &'static [&'static str])> {
    use Action::*;
    vec![
        (TogglePause, &["space"]),
        (Next, &["n"]),
        (Previous, &["p"]),
        (SeekForward, &["right"]),
        (SeekBackward, &["left"]),
        (VolumeUp, &["+", "="]),
        (VolumeDown, &["-"]),
        (Search, &["/"]),
        (FocusNext, &["tab"]),
        (FocusPrevious, &["backtab"]),
        (Up, &["k", "up"]),
        (Down, &["j", "down"]),
        (PageUp, &["pgup", "ctrl-u"]),
        (PageDown, &["pgdown", "ctrl-d"]),
        (Top, &["g", "home"]),
        (Bottom, &["G", "end"]),
        (Select, &["enter"]),
        (Back, &["esc", "backspace"]),
        (AddToQueue, &["a"]),
        (PlayNext, &["A"]),
        (Remove, &["d", "delete"]),
        (ClearQueue, &["c"]),
        (MoveUp, &["K"]),
        (MoveDown, &["J"]),
        (ToggleShuffle, &["s"]),
        (CycleRepeat, &["r"]),
        (AddToPlaylist, &["P"]),
        (NewPlaylist, &["C"]),
        (RenamePlaylist, &["R"]),
        (DeletePlaylist, &["D"]),
        (Refresh, &["ctrl-r", "f5"]),
        (CommandLine, &[":"]),
        (Help, &["?"]),
        (Quit, &["q"]),
    ]
}

/// The active bindings.
#[derive(Debug, Clone)]
pub struct KeyMap {
    by_chord: HashMap<Chord, Action>,
    by_action: HashMap<Action, Vec<Chord>>,
}

impl Default for KeyMap {
    fn default() -> Self {
        match Self::with_overrides(&HashMap::new()) {
            Ok(map) => map,
            // The defaults are constants covered by a test; this cannot fail.
            Err(_) => Self {
                by_chord: HashMap::new(),
                by_action: HashMap::new(),
            },
        }
    }
}

impl KeyMap {
    /// The defaults, with each action named in `overrides` bound to exactly the keys given.
    pub fn with_overrides(overrides: &HashMap<String, Vec<String>>) -> Result<Self, String> {
        let mut by_action: HashMap<Action, Vec<Chord>> = HashMap::new();
        for (action, keys) in defaults() {
            let chords = keys
                .iter()
                .map(|k| Chord::parse(k))
                .collect::<Result<Vec<_>, _>>()?;
            by_action.insert(action, chords);
        }
        let mut overridden = Vec::new();
        for (name, keys) in overrides {
            let action = Action::from_name(name).ok_or_else(|| {
                let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
                format!(
                    "unknown action `{name}` in [keys]; actions are: {}",
                    names.join(", ")
                )
            })?;
            let chords = keys
                .iter()
                .map(|k| Chord::parse(k).map_err(|e| format!("[keys] {name}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            by_action.insert(action, chords);
            overridden.push(action);
        }
        // A key given to an overridden action leaves the action it had by default.
        let mut by_chord = HashMap::new();
        for &action in Action::ALL {
            if overridden.contains(&action) {
                continue;
            }
            for chord in by_action.get(&action).into_iter().flatten() {
                by_chord.insert(*chord, action);
            }
        }
        for action in &overridden {
            let chords = by_action.get(action).cloned().unwrap_or_default();
            for chord in &chords {
                if let Some(previous) = by_chord.insert(*chord, *action) {
                    if !overridden.contains(&previous) {
                        if let Some(keys) = by_action.get_mut(&previous) {
                            keys.retain(|c| c != chord);
                        }
                    } else if previous != *action {
                        return Err(format!(
                            "[keys]: `{chord}` is bound to both {} and {}",
                            previous.name(),
                            action.name()
                        ));
                    }
                }
            }
        }
        Ok(Self {
            by_chord,
            by_action,
        })
    }

    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        self.by_chord.get(&Chord::from_event(event)).copied()
    }

    pub fn keys_for(&self, action: Action) -> &[Chord] {
        self.by_action.get(&action).map_or(&[], Vec::as_slice)
    }

    /// `"n"`, `"k / ↑"`: the keys of an action as the help and hints show them.
    pub fn label(&self, action: Action) -> String {
        let keys: Vec<String> = self
            .keys_for(action)
            .iter()
            .map(ToString::to_string)
            .collect();
        if keys.is_empty() {
            "(unbound)".into()
        } else {
            keys.join(" / ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn defaults_follow_terminal_player_habits() {
        let map = KeyMap::default();
        let none = KeyModifiers::NONE;
        assert_eq!(
            map.action(&key(KeyCode::Char(' '), none)),
            Some(Action::TogglePause)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('n'), none)),
            Some(Action::Next)
        );
        assert_eq!(
            map.action(&key(KeyCode::Right, none)),
            Some(Action::SeekForward)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('?'), none)),
            Some(Action::Help)
        );
        // Shift arrives with capitals on some terminals and not on others.
        assert_eq!(
            map.action(&key(KeyCode::Char('J'), KeyModifiers::SHIFT)),
            Some(Action::MoveDown)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('J'), none)),
            Some(Action::MoveDown)
        );
        for &action in Action::ALL {
            assert!(!map.keys_for(action).is_empty(), "{action:?} has no key");
        }
    }

    #[test]
    fn overrides_replace_and_steal_keys() {
        let overrides =
            HashMap::from([("next".to_string(), vec!["ctrl-n".to_string(), "l".into()])]);
        let map = KeyMap::with_overrides(&overrides).unwrap();
        assert_eq!(
            map.action(&key(KeyCode::Char('n'), KeyModifiers::CONTROL)),
            Some(Action::Next)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('n'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(map.label(Action::Next), "ctrl-n / l");

        let steal = HashMap::from([("quit".to_string(), vec!["space".to_string()])]);
        let map = KeyMap::with_overrides(&steal).unwrap();
        assert_eq!(
            map.action(&key(KeyCode::Char(' '), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        assert_eq!(map.label(Action::TogglePause), "(unbound)");
    }

    #[test]
    fn bad_overrides_say_what_is_wrong() {
        let bad = HashMap::from([("fly".to_string(), vec!["x".to_string()])]);
        let err = KeyMap::with_overrides(&bad).unwrap_err();
        assert!(
            err.contains("unknown action `fly`") && err.contains("toggle_pause"),
            "{err}"
        );
        let bad = HashMap::from([("next".to_string(), vec!["hyper-x".to_string()])]);
        let err = KeyMap::with_overrides(&bad).unwrap_err();
        assert!(err.contains("`hyper-x` is not a key"), "{err}");
    }
}
