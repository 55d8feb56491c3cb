//! The real `cadenza` player in a real terminal: a private tmux server (`-L`), keys sent with
//! send-keys, the screen read with capture-pane.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::bin;

/// A tmux server of its own (`-L`), so the test never touches a user's sessions.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn new(socket: &str) -> Option<Tmux> {
        let available = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        available.then(|| Tmux {
            socket: socket.to_string(),
        })
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "player"])
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "player"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Waits until the screen shows `text`; panics with the last screen otherwise.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_for_within(text, Duration::from_secs(20))
    }

    /// [`Self::wait_for`] with a limit of its own (a download that takes a while).
    pub fn wait_for_within(&self, text: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the player never showed {text:?}; the screen was:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn session_alive(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "has-session", "-t", "player"])
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

impl Tmux {
    /// Starts `cadenza --audio null` against `url` with `token`, in a session named `player`
    /// (100x30), its config and cache under `home`; returns once the first frame is drawn.
    pub fn start_player(&self, url: &str, token: &str, home: &Path) -> String {
        let command = format!(
            "env HOME={home} XDG_CONFIG_HOME={home}/config XDG_CACHE_HOME={home}/cache \
             CADENZA_SERVER={url} CADENZA_TOKEN={token} {player} --audio null",
            home = shell_quote(&home.display().to_string()),
            url = shell_quote(url),
            token = shell_quote(token),
            player = shell_quote(&bin("cadenza").display().to_string()),
        );
        self.run(&[
            "new-session",
            "-d",
            "-s",
            "player",
            "-x",
            "100",
            "-y",
            "30",
            &command,
        ]);
        // The now-playing bar is drawn last: once it shows, the whole first frame is there.
        self.wait_for("nothing playing")
    }

    /// Types `query` into the search box (clearing what was there) and waits for `expect`.
    pub fn search(&self, query: &str, expect: &str) -> String {
        self.keys(&["/"]);
        self.keys(&["C-u"]);
        self.keys(&["-l", query]);
        self.wait_for(expect)
    }
}
