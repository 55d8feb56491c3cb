//! App passwords and API keys: listed without secrets, checked, revoked.

use super::{user, Subject};
use crate::CatalogError;
use cadenza_api::CredentialKind;

fn credentials_are_listed_without_secrets_checked_and_revoked(subject: &Subject) {
    let cat = &**subject;
    let alice = user(cat, "Alice");
    let bob = user(cat, "bob");
    let phone = cat
        .create_client_credential(alice, CredentialKind::AppPassword, "phone", "seed-1", 10)
        .unwrap();
    let key = cat
        .create_client_credential(alice, CredentialKind::ApiKey, " desktop ", "hash-1", 11)
        .unwrap();
    assert_eq!((key.name.as_str(), key.last_used_at), ("desktop", None));

    let (found, secrets) = cat.app_password_secrets("alice").unwrap().unwrap();
    assert_eq!(found.id, alice, "usernames match as logins do");
    assert_eq!(secrets, vec![(phone.id, "seed-1".to_string())]);
    assert!(cat.app_password_secrets("carol").unwrap().is_none());
    let (owner, id) = cat.api_key_user("hash-1").unwrap().unwrap();
    assert_eq!((owner.id, id), (alice, key.id));
    assert!(
        cat.api_key_user("seed-1").unwrap().is_none(),
        "kinds stay apart"
    );

    cat.touch_client_credential(key.id, 99).unwrap();
    let listed = cat.client_credentials(alice).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].last_used_at, Some(99));

    let other = cat.delete_client_credential(bob, key.id).unwrap_err();
    assert!(
        matches!(other, CatalogError::NotFound(_)),
        "not bob's to revoke"
    );
    cat.delete_client_credential(alice, key.id).unwrap();
    assert!(cat.api_key_user("hash-1").unwrap().is_none());
    assert!(matches!(
        cat.create_client_credential(alice, CredentialKind::ApiKey, "  ", "h", 1),
        Err(CatalogError::Invalid(_))
    ));

    cat.delete_user(alice).unwrap();
    assert!(cat.app_password_secrets("alice").unwrap().is_none());
    assert!(matches!(
        cat.client_credentials(alice),
        Err(CatalogError::NotFound(_))
    ));
}

super::both!(credentials_are_listed_without_secrets_checked_and_revoked,);
