//! Everything a key can do. Key bindings map to these; the app handles only these.

macro_rules! actions {
    ($($variant:ident => $name:literal, $help:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            /// Every action, in the order the help overlay lists them.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The name used in the config file's `[keys]` table.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// One line for the help overlay.
            pub fn help(self) -> &'static str {
                match self {
                    $(Action::$variant => $help,)*
                }
            }

            pub fn from_name(name: &str) -> Option<Action> {
                match name {
                    $($name => Some(Action::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

actions! {
    TogglePause => "toggle_pause", "play / pause";
    Next => "next", "next track";
    Previous => "previous", "previous track (or restart this one)";
    SeekForward => "seek_forward", "seek forward 5 s";
    SeekBackward => "seek_backward", "seek back 5 s";
    VolumeUp => "volume_up", "volume up";
    VolumeDown => "volume_down", "volume down";
    Search => "search", "search (type to search, Enter to go to results)";
    FocusNext => "focus_next", "next pane";
    FocusPrevious => "focus_previous", "previous pane";
    Up => "up", "move up";
    Down => "down", "move down";
    PageUp => "page_up", "page up";
    PageDown => "page_down", "page down";
    Top => "top", "go to the top";
    Bottom => "bottom", "go to the bottom";
    Select => "select", "play the song / open the artist, album, playlist or podcast";
    Back => "back", "back / close";
    AddToQueue => "add_to_queue", "queue the selection (also albums and playlists)";
    PlayNext => "play_next", "play the selection next (also albums, playlists)";
    Remove => "remove", "remove from the queue or the playlist";
    ClearQueue => "clear_queue", "clear the queue";
    MoveUp => "move_up", "move the item up (queue or playlist)";
    MoveDown => "move_down", "move the item down (queue or playlist)";
    ToggleShuffle => "toggle_shuffle", "shuffle on / off";
    CycleRepeat => "cycle_repeat", "repeat: off, all, one";
    AddToPlaylist => "add_to_playlist", "add the selected song to a playlist";
    NewPlaylist => "new_playlist", "create a playlist";
    RenamePlaylist => "rename_playlist", "rename the playlist";
    DeletePlaylist => "delete_playlist", "delete the playlist";
    Refresh => "refresh", "reload this view";
    CommandLine => "command_line", "type a command (:volume 50, :seek 1:30, :quit…)";
    Help => "help", "show / hide this help";
    Quit => "quit", "quit";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &action in Action::ALL {
            assert_eq!(Action::from_name(action.name()), Some(action));
            assert!(seen.insert(action.name()), "{} twice", action.name());
            assert!(!action.help().is_empty());
        }
        assert_eq!(Action::from_name("fly"), None);
    }
}
