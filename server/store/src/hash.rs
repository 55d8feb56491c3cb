//! Blob identity: the SHA-256 of the bytes, and where a blob lives on a volume.

use std::fmt;

use object_store::path::Path;
use sha2::{Digest, Sha256};

use crate::StoreError;

/// A validated SHA-256 content hash. Parsing is the only way in, so every object path the
/// store builds comes from 64 lowercase hex characters and nothing a client typed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobHash([u8; 32]);

impl BlobHash {
    /// Accepts exactly 64 lowercase hex characters.
    pub fn parse(hash: &str) -> Result<Self, StoreError> {
        let invalid = || StoreError::InvalidHash {
            hash: hash.chars().take(80).collect(),
        };
        if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hash, &mut bytes).map_err(|_| invalid())?;
        Ok(BlobHash(bytes))
    }

    pub fn of(bytes: &[u8]) -> Self {
        BlobHash(Sha256::digest(bytes).into())
    }

    pub(crate) fn from_digest(digest: [u8; 32]) -> Self {
        BlobHash(digest)
    }

    /// A byte spread uniformly over blobs, for lock striping.
    pub(crate) fn stripe(&self) -> u8 {
        self.0[0]
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// `blobs/ab/cd/<hex>`: two fan-out levels keep directories small on local volumes.
    pub fn path(&self) -> Path {
        let hex = self.hex();
        Path::from_iter([BLOBS_PREFIX, &hex[0..2], &hex[2..4], &hex])
    }

    /// The inverse of [`BlobHash::path`]; `None` for anything else found under `blobs/`.
    pub(crate) fn from_path(path: &Path) -> Option<Self> {
        let parts: Vec<_> = path.parts().collect();
        let [root, a, b, name] = parts.as_slice() else {
            return None;
        };
        let name = name.as_ref();
        let hash = BlobHash::parse(name).ok()?;
        (root.as_ref() == BLOBS_PREFIX && a.as_ref() == &name[0..2] && b.as_ref() == &name[2..4])
            .then_some(hash)
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobHash({})", self.hex())
    }
}

pub(crate) const BLOBS_PREFIX: &str = "blobs";

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn parses_lowercase_sha256_hex_only() {
        assert_eq!(BlobHash::parse(ABC).unwrap(), BlobHash::of(b"abc"));
        for bad in [
            "",
            &ABC[..63],
            &format!("{ABC}0"),
            &ABC.to_uppercase(),
            "../../../../etc/passwd/../../../../../../../../../../../../../../../../../../..",
            &format!("{}/x", &ABC[..62]),
        ] {
            assert!(
                matches!(BlobHash::parse(bad), Err(StoreError::InvalidHash { .. })),
                "{bad:?} must be rejected"
            );
        }
    }

    #[test]
    fn path_fans_out_and_round_trips() {
        let hash = BlobHash::of(b"abc");
        assert_eq!(hash.path().as_ref(), format!("blobs/ba/78/{ABC}"));
        assert_eq!(BlobHash::from_path(&hash.path()), Some(hash));
        assert_eq!(
            BlobHash::from_path(&Path::from(format!("blobs/ba/79/{ABC}"))),
            None
        );
        assert_eq!(BlobHash::from_path(&Path::from("blobs/ba/78/x")), None);
    }
}
