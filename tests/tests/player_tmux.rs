//! The real `cadenza` player in a real terminal (tmux), against a real server: what a person
//! sees when they search, play a song and quit.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cadenza_api::TagOverrides;
use cadenza_tests::{bin, fixtures_dir, Server};

/// A tmux server of its own (`-L`), so the test never touches a user's sessions.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(socket: &str) -> Option<Tmux> {
        let available = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        available.then(|| Tmux {
            socket: socket.to_string(),
        })
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "player"])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "player"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Waits until the screen shows `text`; panics with the last screen otherwise.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
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

    fn session_alive(&self) -> bool {
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

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[tokio::test]
async fn search_play_and_quit_in_a_real_terminal() {
    let Some(tmux) = Tmux::new(&format!("cadenza-test-{}", std::process::id())) else {
        panic!("tmux is missing: run scripts/setup.sh (it installs tmux)");
    };
    let server = Server::start();
    let admin = server.admin().await;
    for song in [
        "audio/Björk/Frequency Garden/01 Glacier Hum.mp3",
        "audio/Kid Carrier/Dial Tone Blues/01 Busy Signal.mp3",
    ] {
        admin
            .upload_song_file(&fixtures_dir().join(song), &TagOverrides::default())
            .await
            .expect("upload a fixture");
    }
    let token = admin.token().expect("logged in").to_string();

    let home = tempfile::tempdir().expect("temp home");
    let home: &Path = home.path();
    let command = format!(
        "env HOME={home} XDG_CONFIG_HOME={home}/config XDG_CACHE_HOME={home}/cache \
         CADENZA_SERVER={url} CADENZA_TOKEN={token} {player} --audio null",
        home = shell_quote(&home.display().to_string()),
        url = shell_quote(&server.url),
        token = shell_quote(&token),
        player = shell_quote(&bin("cadenza").display().to_string()),
    );
    tmux.run(&[
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
    let screen = tmux.wait_for("nothing playing");
    assert!(screen.contains("Search"), "idle player:\n{screen}");

    tmux.keys(&["/"]);
    tmux.keys(&["-l", "glac"]);
    let screen = tmux.wait_for("Glacier Hum");
    assert!(
        screen.contains("Björk"),
        "search results name the artist:\n{screen}"
    );
    assert!(
        !screen.contains("Busy Signal"),
        "only matches are listed:\n{screen}"
    );

    tmux.keys(&["Down"]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("▶ Glacier Hum");
    assert!(
        screen.contains("Frequency Garden"),
        "now playing shows the album:\n{screen}"
    );

    tmux.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux.session_alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!tmux.session_alive(), "q quits the player");
}
