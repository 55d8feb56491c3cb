//! The real `cadenza` player in a real terminal (tmux), against a real server: what a person
//! sees when they search, play a song and quit.

use std::time::{Duration, Instant};

use cadenza_api::TagOverrides;
use cadenza_tests::tmux::Tmux;
use cadenza_tests::{fixtures_dir, Server};

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
    let screen = tmux.start_player(&server.url, &token, home.path());
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
