//! Users and their session tokens.

use super::{user, Subject};
use crate::CatalogError;
use cadenza_api::{CreatePlaylist, Role};

fn usernames_are_unique_ignoring_case(subject: &Subject) {
    let cat = &**subject;
    let bob = cat.create_user("Bob", "h1", Role::Admin).unwrap();
    assert_eq!((bob.username.as_str(), bob.role), ("Bob", Role::Admin));
    let err = cat.create_user("bob", "h2", Role::Listener).unwrap_err();
    assert!(
        matches!(&err, CatalogError::Conflict(m) if m == "user \"Bob\" already exists"),
        "{err}"
    );
    let creds = cat.credentials("BOB").unwrap().unwrap();
    assert_eq!(
        (creds.user.id, creds.password_hash.as_str()),
        (bob.id, "h1")
    );
    assert!(cat.credentials("alice").unwrap().is_none());
    assert_eq!(cat.user_count().unwrap(), 1);
}

fn a_password_change_revokes_the_users_sessions_only(subject: &Subject) {
    let cat = &**subject;
    let bob = cat.create_user("bob", "h1", Role::Listener).unwrap();
    let eve = cat.create_user("eve", "h2", Role::Listener).unwrap();
    cat.insert_token("bob-token", bob.id, 100).unwrap();
    cat.insert_token("eve-token", eve.id, 100).unwrap();
    cat.set_password_hash(bob.id, "h3").unwrap();
    assert_eq!(cat.token_user("bob-token", 10).unwrap(), None);
    assert_eq!(
        cat.token_user("eve-token", 10).unwrap().map(|u| u.id),
        Some(eve.id)
    );
}

fn bad_usernames_are_refused(subject: &Subject) {
    let cat = &**subject;
    for bad in ["", "   ", "a\u{0}b", &"x".repeat(65)] {
        let err = cat.create_user(bad, "h", Role::Listener).unwrap_err();
        assert!(matches!(err, CatalogError::Invalid(_)), "{bad:?}: {err}");
    }
    assert_eq!(cat.user_count().unwrap(), 0);
}

fn roles_and_passwords_change_and_unknown_users_are_named(subject: &Subject) {
    let cat = &**subject;
    let id = user(cat, "carol");
    assert_eq!(cat.set_role(id, Role::Admin).unwrap().role, Role::Admin);
    cat.set_password_hash(id, "new").unwrap();
    assert_eq!(
        cat.credentials("carol").unwrap().unwrap().password_hash,
        "new"
    );
    let err = cat.set_role(999, Role::Admin).unwrap_err();
    assert_eq!(err.to_string(), "user 999 does not exist");
    assert!(matches!(cat.user(999), Err(CatalogError::NotFound(_))));
    assert!(matches!(
        cat.set_password_hash(999, "x"),
        Err(CatalogError::NotFound(_))
    ));
    assert!(matches!(
        cat.delete_user(999),
        Err(CatalogError::NotFound(_))
    ));
}

fn tokens_expire_and_can_be_revoked(subject: &Subject) {
    let cat = &**subject;
    let id = user(cat, "dave");
    cat.insert_token("t-live", id, 2_000).unwrap();
    cat.insert_token("t-old", id, 1_000).unwrap();
    assert_eq!(cat.token_user("t-live", 1_500).unwrap().unwrap().id, id);
    assert!(cat.token_user("t-old", 1_500).unwrap().is_none());
    assert!(
        cat.token_user("t-live", 2_000).unwrap().is_none(),
        "expired at its expiry time"
    );
    assert!(cat.token_user("nope", 0).unwrap().is_none());
    assert_eq!(cat.delete_expired_tokens(1_500).unwrap(), 1);
    cat.delete_token("t-live").unwrap();
    assert!(cat.token_user("t-live", 1_500).unwrap().is_none());
    assert!(matches!(
        cat.insert_token("t", 999, 1),
        Err(CatalogError::NotFound(_))
    ));
    cat.insert_token("dup", id, 5).unwrap();
    assert!(matches!(
        cat.insert_token("dup", id, 5),
        Err(CatalogError::Conflict(_))
    ));
}

fn deleting_a_user_takes_their_tokens_and_playlists(subject: &Subject) {
    let cat = &**subject;
    let id = user(cat, "erin");
    let other = user(cat, "frank");
    cat.insert_token("tok", id, i64::MAX).unwrap();
    let new = CreatePlaylist {
        name: "Mine".into(),
        public: true,
    };
    let list = cat.create_playlist(id, &new, 1).unwrap();
    cat.delete_user(id).unwrap();
    assert!(cat.token_user("tok", 0).unwrap().is_none());
    assert!(matches!(
        cat.playlist(list.id, other),
        Err(CatalogError::NotFound(_))
    ));
    assert_eq!(cat.users().unwrap().len(), 1);
}

super::both!(
    usernames_are_unique_ignoring_case,
    a_password_change_revokes_the_users_sessions_only,
    bad_usernames_are_refused,
    roles_and_passwords_change_and_unknown_users_are_named,
    tokens_expire_and_can_be_revoked,
    deleting_a_user_takes_their_tokens_and_playlists,
);
