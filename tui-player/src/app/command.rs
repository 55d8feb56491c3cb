//! The `:` command line. Every action's name (as in the config file's `[keys]` table) is a
//! command, so anything a key does can be typed; a few commands take an argument a key cannot
//! give: `volume 40`, `seek 1:30` / `seek +10`, `search words`, `repeat all`, `shuffle off`,
//! `new_playlist Name`. `q` and `vol` are short for `quit` and `volume`.

use std::time::Duration;

use cadenza_units::parse_duration;

use super::queue::Repeat;
use super::{App, Prompt, PromptKind};
use crate::action::Action;
use crate::net::NetRequest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Act(Action),
    Volume(u8),
    Seek(SeekTo),
    Search(String),
    Repeat(Repeat),
    Shuffle(bool),
    NewPlaylist(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekTo {
    At(Duration),
    Forward(Duration),
    Back(Duration),
}

const USAGE: &str = "try volume 50, seek 1:30, seek +10, search words, repeat off|all|one, \
                     shuffle on|off, new_playlist Name, or an action's name such as next or quit";

pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim().trim_start_matches(':').trim();
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (line, ""),
    };
    let word = word.to_lowercase().replace('-', "_");
    let needs = |what: &str| format!("{word} needs {what}, e.g. {word} {}", example(&word));
    match word.as_str() {
        "" => Err(format!("type a command: {USAGE}")),
        "q" => Ok(Command::Act(Action::Quit)),
        "vol" | "volume" => match rest.trim_end_matches('%').parse::<u8>() {
            Ok(v) if v <= 100 => Ok(Command::Volume(v)),
            _ => Err(needs("a volume from 0 to 100")),
        },
        "seek" => {
            let seek = if let Some(t) = rest.strip_prefix('+') {
                parse_duration(t).map(SeekTo::Forward)
            } else if let Some(t) = rest.strip_prefix('-') {
                parse_duration(t).map(SeekTo::Back)
            } else {
                parse_duration(rest).map(SeekTo::At)
            };
            seek.map(Command::Seek)
                .map_err(|_| needs("a time (90, 1m30s or m:ss; + or - for a step)"))
        }
        "search" if !rest.is_empty() => Ok(Command::Search(rest.to_string())),
        "search" => Err(needs("words to look for")),
        "repeat" => match rest.to_lowercase().as_str() {
            "off" => Ok(Command::Repeat(Repeat::Off)),
            "all" => Ok(Command::Repeat(Repeat::All)),
            "one" => Ok(Command::Repeat(Repeat::One)),
            "" => Ok(Command::Act(Action::CycleRepeat)),
            _ => Err(needs("off, all or one")),
        },
        "shuffle" => match rest.to_lowercase().as_str() {
            "on" => Ok(Command::Shuffle(true)),
            "off" => Ok(Command::Shuffle(false)),
            "" => Ok(Command::Act(Action::ToggleShuffle)),
            _ => Err(needs("on or off")),
        },
        "new_playlist" if !rest.is_empty() => Ok(Command::NewPlaylist(rest.to_string())),
        name => match Action::from_name(name) {
            Some(action) if rest.is_empty() => Ok(Command::Act(action)),
            Some(_) => Err(format!("{name} takes no argument")),
            None => Err(format!("unknown command “{name}”: {USAGE}")),
        },
    }
}

fn example(word: &str) -> &'static str {
    match word {
        "vol" | "volume" => "40",
        "seek" => "1:30",
        "repeat" => "all",
        "shuffle" => "on",
        _ => "chill",
    }
}

impl App {
    pub(super) fn open_command_line(&mut self) {
        self.prompt = Some(Prompt {
            kind: PromptKind::Command,
            text: String::new(),
        });
    }

    pub(super) fn run_command(&mut self, line: &str) {
        let command = match parse(line) {
            Ok(command) => command,
            Err(why) => {
                self.error(why);
                return;
            }
        };
        match command {
            Command::Act(action) => self.act(action),
            Command::Volume(volume) => self.set_volume(volume),
            Command::Seek(to) => match to {
                SeekTo::At(at) => self.seek_to(at),
                SeekTo::Forward(step) => self.seek_by(step, true),
                SeekTo::Back(step) => self.seek_by(step, false),
            },
            Command::Search(words) => {
                self.act(Action::Search);
                self.search.query = words;
                self.search.editing = false;
                self.search.due = None;
                self.send_search();
            }
            Command::Repeat(wanted) => {
                while self.queue.repeat() != wanted {
                    self.queue.cycle_repeat();
                }
                self.cancel_preload();
                self.info(format!("repeat {}", wanted.label()));
            }
            Command::Shuffle(on) => {
                if self.queue.shuffle() != on {
                    self.act(Action::ToggleShuffle);
                } else {
                    self.info(if on { "shuffle on" } else { "shuffle off" });
                }
            }
            Command::NewPlaylist(name) => self.net(NetRequest::CreatePlaylist { name }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_their_arguments() {
        assert_eq!(parse("q"), Ok(Command::Act(Action::Quit)));
        assert_eq!(parse(":next"), Ok(Command::Act(Action::Next)));
        assert_eq!(parse("clear-queue"), Ok(Command::Act(Action::ClearQueue)));
        assert_eq!(parse("vol 40"), Ok(Command::Volume(40)));
        assert_eq!(parse("volume 100%"), Ok(Command::Volume(100)));
        assert_eq!(
            parse("seek 1:30"),
            Ok(Command::Seek(SeekTo::At(Duration::from_secs(90))))
        );
        assert_eq!(
            parse("seek +10"),
            Ok(Command::Seek(SeekTo::Forward(Duration::from_secs(10))))
        );
        assert_eq!(
            parse("seek -1:00"),
            Ok(Command::Seek(SeekTo::Back(Duration::from_secs(60))))
        );
        assert_eq!(
            parse("seek +1m30s"),
            Ok(Command::Seek(SeekTo::Forward(Duration::from_secs(90))))
        );
        assert_eq!(
            parse("search  Björk  geyser "),
            Ok(Command::Search("Björk  geyser".into()))
        );
        assert_eq!(parse("repeat one"), Ok(Command::Repeat(Repeat::One)));
        assert_eq!(parse("shuffle off"), Ok(Command::Shuffle(false)));
        assert_eq!(
            parse("new_playlist Road trip"),
            Ok(Command::NewPlaylist("Road trip".into()))
        );
    }

    #[test]
    fn bad_commands_say_what_is_wrong_and_what_works() {
        let unknown = parse("fly").unwrap_err();
        assert!(unknown.contains("unknown command “fly”") && unknown.contains("volume 50"));
        assert!(parse("vol 101").unwrap_err().contains("0 to 100"));
        assert!(parse("seek 1:75").unwrap_err().contains("e.g. seek 1:30"));
        assert!(parse("repeat sometimes")
            .unwrap_err()
            .contains("off, all or one"));
        assert!(parse("next 3").unwrap_err().contains("takes no argument"));
        assert!(parse("").unwrap_err().contains("type a command"));
    }
}
