//! CDN links: short-lived signed URLs named by a blob's content hash, so that a shared cache
//! in front of the servers (nginx) can keep audio under the hash alone and check each
//! request's right to it without asking a server.
//!
//! An authorised `GET /api/v1/songs/{id}/stream` is answered with a redirect to
//! `/cdn/blobs/{sha256}?e=EXPIRES&s=SIG`. The signature is what nginx's `secure_link` module
//! computes for `secure_link_md5 "$secure_link_expires$uri SECRET"`: the MD5 of
//! `"{expires}{uri} {secret}"`, base64url without padding. The edge verifies it on every
//! request (cached or not); the server verifies it again when it is asked for the bytes, so a
//! server with no proxy in front works the same. MD5 is what nginx offers; what makes the
//! link unforgeable is the secret, and the expiry bounds how long a leaked link is good for.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use md5::{Digest, Md5};
use thiserror::Error;

/// Where the blob with content hash `hash` is served in CDN mode.
pub fn blob_path(hash: &str) -> String {
    format!("{CDN_PREFIX}{hash}")
}

/// The path prefix of CDN links (the nginx location matches it).
pub const CDN_PREFIX: &str = "/cdn/blobs/";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CdnLinkError {
    #[error(
        "this CDN link is not valid (changed, cut short or signed with another secret); \
         ask the API for the stream again"
    )]
    BadSignature,
    #[error("this CDN link expired; ask the API for the stream again to get a fresh one")]
    Expired,
}

#[derive(Clone)]
pub struct CdnSigner {
    secret: String,
    ttl_secs: i64,
}

impl std::fmt::Debug for CdnSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CdnSigner(<secret>, ttl {}s)", self.ttl_secs)
    }
}

impl CdnSigner {
    pub fn new(secret: &str, ttl_secs: u64) -> Self {
        Self {
            secret: secret.to_string(),
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(i64::MAX),
        }
    }

    /// `secure_link_md5 "$secure_link_expires$uri SECRET"`, as nginx encodes it.
    pub fn sign(&self, uri: &str, expires: i64) -> String {
        let digest = Md5::digest(format!("{expires}{uri} {}", self.secret));
        URL_SAFE_NO_PAD.encode(digest)
    }

    /// The signed link to the blob `hash`, valid from `now` for the configured TTL.
    pub fn link(&self, hash: &str, now: i64) -> String {
        let uri = blob_path(hash);
        let expires = now.saturating_add(self.ttl_secs);
        let sig = self.sign(&uri, expires);
        format!("{uri}?e={expires}&s={sig}")
    }

    /// Checks the signature (in constant time) first, then the expiry, so a forged link is
    /// never reported as merely expired (nginx answers 403 and 410 in the same order).
    pub fn verify(
        &self,
        uri: &str,
        expires: i64,
        signature: &str,
        now: i64,
    ) -> Result<(), CdnLinkError> {
        let expected = self.sign(uri, expires);
        let given = signature.trim().as_bytes();
        let same = expected.len() == given.len()
            && expected
                .as_bytes()
                .iter()
                .zip(given)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(CdnLinkError::BadSignature);
        }
        if now >= expires {
            return Err(CdnLinkError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;
    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn signatures_match_nginx_secure_link_md5() {
        // The shell line of nginx's secure_link documentation, without its client address:
        // echo -n '2147483647/s/link secret' | openssl md5 -binary | openssl base64 | tr +/ -_ | tr -d =
        let signer = CdnSigner::new("secret", 60);
        assert_eq!(signer.sign("/s/link", 2147483647), "0Xgm37lo5nFEuHMDKl_vQg");
    }

    #[test]
    fn a_link_verifies_until_it_expires() {
        let signer = CdnSigner::new("a cdn secret of some length", 300);
        let link = signer.link(HASH, NOW);
        let (path, query) = link.split_once('?').unwrap();
        assert_eq!(path, format!("/cdn/blobs/{HASH}"));
        let expires = NOW + 300;
        let sig = query
            .strip_prefix(&format!("e={expires}&s="))
            .expect("expiry first, then signature");
        assert_eq!(signer.verify(path, expires, sig, NOW), Ok(()));
        assert_eq!(
            signer.verify(path, expires, sig, expires),
            Err(CdnLinkError::Expired)
        );
    }

    #[test]
    fn tampering_is_caught_before_expiry() {
        let signer = CdnSigner::new("a cdn secret of some length", 300);
        let path = blob_path(HASH);
        let sig = signer.sign(&path, NOW + 300);
        let other = blob_path(&HASH.replace('9', "8"));
        for (uri, expires, sig) in [
            (other.as_str(), NOW + 300, sig.as_str()),
            (path.as_str(), NOW + 3000, sig.as_str()),
            (path.as_str(), NOW + 300, &sig[..10]),
            (path.as_str(), NOW + 300, ""),
        ] {
            assert_eq!(
                signer.verify(uri, expires, sig, NOW),
                Err(CdnLinkError::BadSignature),
                "{uri} {expires} {sig}"
            );
        }
        let stale = signer.sign(&path, NOW - 1);
        assert_eq!(
            CdnSigner::new("another secret entirely", 300).verify(&path, NOW - 1, &stale, NOW),
            Err(CdnLinkError::BadSignature),
            "a wrong secret is refused even when the link would have expired"
        );
    }
}
