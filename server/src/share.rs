//! Share links: a URL that streams one song without a token until it expires.
//!
//! The link carries its expiry and `HMAC-SHA256(secret, "song:{id}:{expires}")` in hex, so
//! any server copy holding the same secret can check it without shared state.

use cadenza_api::{SongId, API_PREFIX};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ShareError {
    #[error("this share link is not valid (it was changed or cut short); ask for a new link")]
    BadSignature,
    #[error("this share link expired; ask whoever shared it for a new link")]
    Expired,
}

#[derive(Clone)]
pub struct ShareSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for ShareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShareSigner(<secret>)")
    }
}

impl ShareSigner {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, song: SongId, expires: i64) -> HmacSha256 {
        // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
        let mut mac = HmacSha256::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(format!("song:{song}:{expires}").as_bytes());
        mac
    }

    pub fn sign(&self, song: SongId, expires: i64) -> String {
        hex::encode(self.mac(song, expires).finalize().into_bytes())
    }

    /// Checks the signature (in constant time) first, then the expiry, so a forged link is
    /// never reported as merely expired.
    pub fn verify(
        &self,
        song: SongId,
        expires: i64,
        signature: &str,
        now: i64,
    ) -> Result<(), ShareError> {
        let given = hex::decode(signature.trim()).map_err(|_| ShareError::BadSignature)?;
        self.mac(song, expires)
            .verify_slice(&given)
            .map_err(|_| ShareError::BadSignature)?;
        if now >= expires {
            return Err(ShareError::Expired);
        }
        Ok(())
    }

    /// The link's path and query, relative to the server root.
    pub fn path(&self, song: SongId, expires: i64) -> String {
        format!(
            "{API_PREFIX}/share/songs/{song}/stream?expires={expires}&sig={}",
            self.sign(song, expires)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let signer = ShareSigner::new(b"0123456789abcdef0123456789abcdef");
        let sig = signer.sign(7, NOW + 60);
        assert_eq!(sig.len(), 64);
        assert_eq!(signer.verify(7, NOW + 60, &sig, NOW), Ok(()));
        assert_eq!(
            signer.verify(7, NOW + 60, &sig, NOW + 60),
            Err(ShareError::Expired)
        );
        assert_eq!(
            signer.verify(7, NOW + 60, &sig.to_uppercase(), NOW),
            Ok(()),
            "hex case does not matter"
        );
    }

    #[test]
    fn tampering_with_any_part_is_caught() {
        let signer = ShareSigner::new(b"0123456789abcdef0123456789abcdef");
        let sig = signer.sign(7, NOW + 60);
        assert_eq!(
            signer.verify(8, NOW + 60, &sig, NOW),
            Err(ShareError::BadSignature),
            "other song"
        );
        assert_eq!(
            signer.verify(7, NOW + 6000, &sig, NOW),
            Err(ShareError::BadSignature),
            "extended expiry"
        );
        let mut flipped = sig.clone().into_bytes();
        flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            signer.verify(7, NOW + 60, &flipped, NOW),
            Err(ShareError::BadSignature)
        );
        assert_eq!(
            signer.verify(7, NOW + 60, &sig[..32], NOW),
            Err(ShareError::BadSignature),
            "truncated"
        );
        assert_eq!(
            signer.verify(7, NOW + 60, "not hex", NOW),
            Err(ShareError::BadSignature)
        );
        let other = ShareSigner::new(b"another secret, another server!!");
        assert_eq!(
            other.verify(7, NOW + 60, &sig, NOW),
            Err(ShareError::BadSignature),
            "other secret"
        );
        assert_eq!(
            signer.verify(7, NOW - 10, &signer.sign(7, NOW - 10), NOW),
            Err(ShareError::Expired)
        );
    }

    #[test]
    fn the_path_carries_expiry_and_signature() {
        let signer = ShareSigner::new(b"k");
        let path = signer.path(3, 99);
        assert_eq!(
            path,
            format!(
                "/api/v1/share/songs/3/stream?expires=99&sig={}",
                signer.sign(3, 99)
            )
        );
    }
}
