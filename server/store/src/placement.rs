//! Rendezvous (highest-random-weight) placement: every volume scores every blob, the R highest
//! scores hold it. Adding a volume only moves the blobs the new volume now wins; removing one
//! only moves the blobs it held (unlike hash-mod-N, which reshuffles nearly everything).

use sha2::{Digest, Sha256};

/// The `replication` volume indexes that hold `hash`, best first (the read preference order).
/// Ties (astronomically unlikely) go to the lower index so the order is total.
pub(crate) fn rendezvous<S: AsRef<str>>(
    hash: &str,
    volumes: &[S],
    replication: usize,
) -> Vec<usize> {
    let mut scored: Vec<(u64, usize)> = volumes
        .iter()
        .enumerate()
        .map(|(index, name)| (score(hash, name.as_ref()), index))
        .collect();
    scored.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(replication)
        .map(|(_, index)| index)
        .collect()
}

/// First 8 bytes of SHA-256(hash || 0 || volume name). The separator keeps ("ab","c") and
/// ("a","bc") apart; scoring by name (not index) keeps placement stable when the volume list
/// is reordered in the configuration.
fn score(hash: &str, volume: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(hash.as_bytes())
        .chain_update([0u8])
        .chain_update(volume.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BlobHash;

    fn hashes(count: u32) -> Vec<String> {
        (0..count)
            .map(|i| BlobHash::of(&i.to_le_bytes()).hex())
            .collect()
    }

    #[test]
    fn picks_r_distinct_volumes_deterministically() {
        let volumes = ["v0", "v1", "v2", "v3", "v4"];
        for hash in hashes(500) {
            let placed = rendezvous(&hash, &volumes, 3);
            assert_eq!(placed.len(), 3);
            let mut unique = placed.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), 3, "{placed:?} repeats a volume");
            assert!(placed.iter().all(|&v| v < volumes.len()));
            assert_eq!(placed, rendezvous(&hash, &volumes, 3));
        }
    }

    #[test]
    fn preference_order_is_a_prefix_for_smaller_r() {
        let volumes = ["a", "b", "c", "d"];
        for hash in hashes(100) {
            let all = rendezvous(&hash, &volumes, 4);
            assert_eq!(rendezvous(&hash, &volumes, 2), all[..2]);
        }
    }

    #[test]
    fn spreads_primaries_evenly() {
        let volumes = ["v0", "v1", "v2", "v3"];
        let mut primaries = [0u32; 4];
        for hash in hashes(10_000) {
            primaries[rendezvous(&hash, &volumes, 1)[0]] += 1;
        }
        for count in primaries {
            assert!((2_000..3_000).contains(&count), "uneven: {primaries:?}");
        }
    }

    /// Share of replicas that land somewhere new when a 4th volume joins 3, asserting that
    /// every new placement is on the new volume (nothing shuffles between the old ones).
    fn moved_replica_share(replication: usize) -> f64 {
        let old = ["v0", "v1", "v2"];
        let new = ["v0", "v1", "v2", "v3"];
        let total = 10_000u32;
        let mut moved = 0u32;
        for hash in hashes(total) {
            let before = rendezvous(&hash, &old, replication);
            let after = rendezvous(&hash, &new, replication);
            for volume in after.iter().filter(|v| !before.contains(v)) {
                assert_eq!(
                    *volume, 3,
                    "blob {hash} moved between old volumes: {before:?} -> {after:?}"
                );
                moved += 1;
            }
        }
        f64::from(moved) / (f64::from(total) * replication as f64)
    }

    #[test]
    fn adding_a_volume_moves_only_its_share() {
        // The new volume wins R/4 of the blobs, one replica each: 1/4 of all replicas move.
        for replication in 1..=3 {
            let share = moved_replica_share(replication);
            assert!(
                (0.15..0.35).contains(&share),
                "R={replication}: moved share {share}"
            );
        }
    }

    #[test]
    fn reordering_the_volume_list_keeps_placement_by_name() {
        let a = ["x", "y", "z"];
        let b = ["z", "x", "y"];
        for hash in hashes(100) {
            let by_name = |list: &[&str], placed: Vec<usize>| -> Vec<String> {
                placed.into_iter().map(|i| list[i].to_string()).collect()
            };
            assert_eq!(
                by_name(&a, rendezvous(&hash, &a, 2)),
                by_name(&b, rendezvous(&hash, &b, 2))
            );
        }
    }
}
