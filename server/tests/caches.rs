//! The server remembers checked tokens and song → blob answers for a few seconds (the hot
//! path of range requests skips the catalog). Every change made through this server must
//! still take effect at once: logout, password reset, role change, user and song deletion.

mod common;

use cadenza_api::{Client, Role};
use common::{good_files, upload, TestServer};
use reqwest::header::{AUTHORIZATION, RANGE};
use reqwest::StatusCode;

/// `GET` of `route` with `token` as a bearer token and the first 16 bytes asked for.
async fn status(server: &TestServer, token: &str, route: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/api/v1{route}", server.url))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(RANGE, "bytes=0-15")
        .send()
        .await
        .unwrap()
        .status()
}

fn token(client: &Client) -> String {
    client.token().expect("logged in").to_string()
}

#[tokio::test]
async fn revocations_and_deletions_take_effect_at_once_despite_the_caches() {
    let server = TestServer::start();
    let mut admin = server.admin().await;
    let song = upload(&admin, &good_files()[0]).await.song;
    let stream = format!("/songs/{}/stream", song.id);

    // Logout: the token streamed a moment ago (so it is cached) is refused right after.
    let mut alice = server.listener(&admin, "alice").await;
    let alice_token = token(&alice);
    assert_eq!(
        status(&server, &alice_token, &stream).await,
        StatusCode::PARTIAL_CONTENT
    );
    assert_eq!(status(&server, &alice_token, "/me").await, StatusCode::OK);
    alice.logout().await.unwrap();
    assert_eq!(
        status(&server, &alice_token, &stream).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&server, &alice_token, "/me").await,
        StatusCode::UNAUTHORIZED
    );

    // A password reset revokes every session of that user.
    let bob = server.listener(&admin, "bob").await;
    let bob_token = token(&bob);
    assert_eq!(
        status(&server, &bob_token, &stream).await,
        StatusCode::PARTIAL_CONTENT
    );
    let bob_id = bob.me().await.unwrap().id;
    admin
        .reset_password(bob_id, "a brand new password")
        .await
        .unwrap();
    assert_eq!(
        status(&server, &bob_token, &stream).await,
        StatusCode::UNAUTHORIZED
    );
    server.login("bob", "a brand new password").await;

    // A deleted user's token dies with the account.
    let carol = server.listener(&admin, "carol").await;
    let carol_token = token(&carol);
    assert_eq!(
        status(&server, &carol_token, &stream).await,
        StatusCode::PARTIAL_CONTENT
    );
    admin
        .delete_user(carol.me().await.unwrap().id)
        .await
        .unwrap();
    assert_eq!(
        status(&server, &carol_token, &stream).await,
        StatusCode::UNAUTHORIZED
    );

    // A role change applies to the next request, both ways.
    let dave = server.listener(&admin, "dave").await;
    let dave_id = dave.me().await.unwrap().id;
    assert_eq!(dave.me().await.unwrap().role, Role::Listener);
    assert!(dave.users().await.is_err(), "listeners cannot list users");
    admin.set_role(dave_id, Role::Admin).await.unwrap();
    assert_eq!(dave.me().await.unwrap().role, Role::Admin);
    assert!(dave.users().await.is_ok(), "promoted at once");
    admin.set_role(dave_id, Role::Listener).await.unwrap();
    assert!(dave.users().await.is_err(), "demoted at once");

    // A deleted song stops streaming at once, for tokens and share links alike.
    let share = admin.share_song(song.id, None).await.unwrap();
    let share_url = format!("{}{}", server.url, share.path);
    let anonymous = reqwest::Client::new();
    let admin_token = token(&admin);
    assert_eq!(
        status(&server, &admin_token, &stream).await,
        StatusCode::PARTIAL_CONTENT
    );
    assert_eq!(
        anonymous.get(&share_url).send().await.unwrap().status(),
        StatusCode::OK
    );
    admin.delete_song(song.id).await.unwrap();
    assert_eq!(
        status(&server, &admin_token, &stream).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        anonymous.get(&share_url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    // The admin's own session still works, and logging out ends it too.
    assert_eq!(status(&server, &admin_token, "/me").await, StatusCode::OK);
    admin.logout().await.unwrap();
    assert_eq!(
        status(&server, &admin_token, "/me").await,
        StatusCode::UNAUTHORIZED
    );
}
