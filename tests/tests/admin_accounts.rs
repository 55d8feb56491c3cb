//! `cadenza-admin` connection handling, login, users, songs, stats, capacity and
//! completions against a real server.

mod admin_support;

use std::net::TcpListener;

use admin_support::*;
use cadenza_api::{PageRequest, Role};
use cadenza_tests::{fixtures_dir, Server, ADMIN_PASSWORD};

#[tokio::test]
async fn login_saves_a_private_token_that_later_commands_use() {
    let server = Server::start();
    let home = tempfile::tempdir().unwrap();

    // No terminal and no --password-stdin: refuse instead of hanging on a prompt.
    let mut command = admin_command(home.path());
    command.args(["login", "--server", &server.url, "--username", "admin"]);
    let refused = run_with_stdin(command, None).expect_code(2);
    refused.expect_one_sentence();
    assert!(
        refused.stderr.contains("--password-stdin"),
        "{}",
        refused.stderr
    );

    // A wrong password is one sentence.
    let mut command = admin_command(home.path());
    command.args([
        "login",
        "--server",
        &server.url,
        "-u",
        "admin",
        "--password-stdin",
    ]);
    let wrong = run_with_stdin(command, Some("not-the-password\n")).expect_code(2);
    wrong.expect_one_sentence();
    assert!(
        wrong.stderr.contains("refused the user name or password"),
        "{}",
        wrong.stderr
    );

    let mut command = admin_command(home.path());
    command.args([
        "login",
        "--server",
        &server.url,
        "-u",
        "admin",
        "--password-stdin",
    ]);
    let login = run_with_stdin(command, Some(&format!("{ADMIN_PASSWORD}\n"))).expect_code(0);
    assert!(login.stdout.contains("Logged in to"), "{}", login.stdout);

    let saved = home.path().join("config/cadenza/admin.toml");
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode, 0o600, "the token file must be private");

    // Later commands need neither --server nor a token.
    let mut command = admin_command(home.path());
    command.args(["users", "list"]);
    let users = run_with_stdin(command, None).expect_code(0);
    assert!(users.stdout.contains("admin"), "{}", users.stdout);

    // Logging out revokes the token and forgets it.
    let mut command = admin_command(home.path());
    command.arg("logout");
    run_with_stdin(command, None).expect_code(0);
    assert!(!saved.exists());
    let mut command = admin_command(home.path());
    command.args(["users", "list"]);
    let after = run_with_stdin(command, None).expect_code(2);
    after.expect_one_sentence();
    assert!(
        after.stderr.contains("cadenza-admin login"),
        "{}",
        after.stderr
    );
}

#[tokio::test]
async fn connection_problems_are_one_sentence_with_exit_code_2() {
    let server = Server::start();
    let token = admin_token(&server).await;
    let home = tempfile::tempdir().unwrap();

    // Refused connection: a port nothing listens on.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut command = admin_command(home.path());
    command
        .env("CADENZA_SERVER", format!("http://127.0.0.1:{closed}"))
        .env("CADENZA_TOKEN", &token)
        .arg("stats");
    let refused = run_with_stdin(command, None).expect_code(2);
    refused.expect_one_sentence();
    assert!(
        refused.stderr.contains("cannot reach the server"),
        "{}",
        refused.stderr
    );

    // Not a URL at all.
    let mut command = admin_command(home.path());
    command
        .args(["--server", "localhost:4533", "stats"])
        .env("CADENZA_TOKEN", &token);
    let invalid = run_with_stdin(command, None).expect_code(2);
    invalid.expect_one_sentence();
    assert!(
        invalid.stderr.contains("not a valid server URL"),
        "{}",
        invalid.stderr
    );

    // A token the server does not know (expired or revoked).
    let stale = admin(&server, "expired-or-made-up", &["stats"]).expect_code(2);
    stale.expect_one_sentence();
    assert!(stale.stderr.contains("CADENZA_TOKEN"), "{}", stale.stderr);

    // A listener is not an admin.
    let client = server.admin().await;
    client
        .create_user("lisa", "lisa-password-1", Role::Listener)
        .await
        .unwrap();
    let lisa = server.login("lisa", "lisa-password-1").await;
    let listener = admin(&server, lisa.token().unwrap(), &["users", "list"]).expect_code(2);
    listener.expect_one_sentence();
    assert!(
        listener.stderr.contains("`lisa` is a listener"),
        "{}",
        listener.stderr
    );
}

#[tokio::test]
async fn users_songs_stats_capacity_and_completions() {
    let server = Server::start();
    let token = admin_token(&server).await;

    // users add / list / set-role / reset-password / delete
    let mut command = admin_command(tempfile::tempdir().unwrap().path());
    command
        .env("CADENZA_SERVER", &server.url)
        .env("CADENZA_TOKEN", &token)
        .args(["users", "add", "bob", "--password-stdin"]);
    run_with_stdin(command, Some("bob-password-1\n")).expect_code(0);
    let list = admin(&server, &token, &["users", "list", "--json"]).expect_code(0);
    assert!(
        list.stdout.contains("\"username\": \"bob\""),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout.contains("\"role\": \"listener\""),
        "{}",
        list.stdout
    );
    admin(&server, &token, &["users", "set-role", "bob", "admin"]).expect_code(0);
    let mut command = admin_command(tempfile::tempdir().unwrap().path());
    command
        .env("CADENZA_SERVER", &server.url)
        .env("CADENZA_TOKEN", &token)
        .args(["users", "reset-password", "bob", "--password-stdin"]);
    run_with_stdin(command, Some("bob-password-2\n")).expect_code(0);
    let bob = server.login("bob", "bob-password-2").await;
    assert_eq!(bob.me().await.unwrap().role, Role::Admin);
    admin(&server, &token, &["users", "delete", "bob"]).expect_code(0);
    let gone = admin(&server, &token, &["users", "delete", "bob"]).expect_code(1);
    assert!(
        gone.stderr.contains("there is no user `bob`"),
        "{}",
        gone.stderr
    );

    // songs show / delete
    let fixture = fixtures_dir().join("audio/Kid Carrier/Calibration/01 Calibration Tone.wav");
    admin(&server, &token, &["ingest", fixture.to_str().unwrap()]).expect_code(0);
    let client = server.admin().await;
    let song = client
        .songs(PageRequest {
            limit: 1,
            offset: 0,
        })
        .await
        .unwrap()
        .items
        .remove(0);
    let id = song.id.to_string();
    let shown = admin(&server, &token, &["songs", "show", &id]).expect_code(0);
    assert!(
        shown.stdout.contains("Calibration Tone"),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains(&song.hash), "{}", shown.stdout);

    // stats, and capacity calibrated with the server's measurements
    let stats = admin(&server, &token, &["stats", "--json"]).expect_code(0);
    assert!(stats.stdout.contains("\"songs\": 1"), "{}", stats.stdout);
    let readable = admin(&server, &token, &["stats"]).expect_code(0);
    assert!(
        readable.stdout.contains("1 song, 1 album, 1 artist"),
        "{}",
        readable.stdout
    );
    let capacity = admin(
        &server,
        &token,
        &["capacity", "--calibrate", "--listeners-per-server", "1500"],
    )
    .expect_code(0);
    assert!(capacity.stdout.contains("measured"), "{}", capacity.stdout);
    let plain = admin(&server, &token, &["capacity"]).expect_code(0);
    assert_ne!(plain.stdout, capacity.stdout);
    // One song is too few to average over: shown with its sample, not used. The
    // listener benchmark's count is used.
    let row = |key: &str| {
        let line = capacity
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(key));
        line.unwrap_or_default().to_string()
    };
    let size = row("song_size");
    assert!(
        size.contains("over 1 song") && size.contains("not used"),
        "{}",
        capacity.stdout
    );
    let listeners = row("server_listeners");
    assert!(
        listeners.contains("1,500") && listeners.ends_with("used"),
        "{}",
        capacity.stdout
    );
    admin(
        &server,
        &token,
        &["capacity", "--listeners-per-server", "9"],
    )
    .expect_code(2);
    // The same count, read from the file the listener benchmark leaves.
    let bench = tempfile::tempdir().unwrap();
    let limit = bench.path().join("listeners.txt");
    std::fs::write(
        &limit,
        "RESULT listeners=2000 underruns=0\nLIMIT listeners=1500 failed_at=1750\n",
    )
    .unwrap();
    let limit_arg = limit.to_str().unwrap();
    let from_file = admin(
        &server,
        &token,
        &["capacity", "--calibrate", "--listeners-from", limit_arg],
    )
    .expect_code(0);
    assert_eq!(from_file.stdout, capacity.stdout);
    std::fs::write(&limit, "RESULT listeners=2000 underruns=0\n").unwrap();
    let no_limit = admin(
        &server,
        &token,
        &["capacity", "--calibrate", "--listeners-from", limit_arg],
    )
    .expect_code(2);
    assert!(
        no_limit.stderr.contains("holds no listener limit"),
        "{}",
        no_limit.stderr
    );

    admin(&server, &token, &["songs", "delete", &id]).expect_code(0);
    let missing = admin(&server, &token, &["songs", "show", &id]).expect_code(1);
    missing.expect_one_sentence();

    for shell in ["bash", "zsh", "fish"] {
        let script = admin(&server, &token, &["completions", shell]).expect_code(0);
        assert!(
            script.stdout.contains("ingest"),
            "{shell}: {}",
            script.stdout
        );
    }
}
