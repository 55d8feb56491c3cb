//! The replication check (cheap: exists + size from listings; deep: re-hash every replica)
//! and repair (copy verified bytes to placement volumes that lack them or hold bad bytes).

use std::collections::{HashMap, HashSet, VecDeque};

use futures::future::join_all;
use futures::StreamExt;

use crate::volume::WriteError;
use crate::{
    BlobHash, BlobHealth, BlobProblem, BlobStore, Inner, Leftover, RepairAction, ReplicaState,
    ReplicaStatus, ReplicationReport, ReplicationRequest, StoreError, VolumeReport,
};

/// A blob the catalog references: what the check expects to find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub hash: String,
    pub size: u64,
    /// What uses it, for the report, e.g. `song 12: Title` or `cover of album 3`.
    pub used_by: String,
}

/// Blobs checked at once. Checks are I/O bound; a few in flight keep the disks busy without
/// starving the server's readers on a small machine.
const CHECK_CONCURRENCY: usize = 4;

fn unix_now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Every object under `blobs/` of a volume with its size; `None` for an unreachable volume.
type Listing = Option<HashMap<BlobHash, u64>>;

/// What checking (and maybe repairing) one catalog blob found.
struct Outcome {
    /// Every replica seen (placement volumes always, others only where a copy exists).
    replicas: Vec<(usize, ReplicaState)>,
    health: BlobHealth,
    repaired: Vec<RepairAction>,
    unrepairable: bool,
}

impl BlobStore {
    /// Checks every catalog blob on every volume and, if asked, repairs. See the crate docs.
    ///
    /// - Cheap mode compares each volume's listing (existence and size); deep mode also
    ///   re-hashes every replica.
    /// - Health: `lost` when no replica is good, `under_replicated` when a placement volume
    ///   lacks a good copy (missing, corrupt or unreachable), `over_replicated` when copies sit
    ///   on volumes outside the placement, `orphaned` for objects no [`BlobInfo`] mentions.
    /// - Repair copies to placement volumes whose replica is missing or corrupt, only from a
    ///   replica whose bytes verify during the copy (the copy is hashed as it streams and only
    ///   completed if it matches, so a corrupt source is never spread, even in cheap mode).
    ///   Sources found corrupt that way are reported as corrupt and repaired too.
    ///   Extra copies and orphans are reported, never deleted.
    /// - `progress(checked, total)` is called at the start, at least every 1% (or 100 blobs),
    ///   and at the end.
    ///
    /// Catalog entries with an invalid hash are reported as lost (and unrepairable).
    pub async fn replication(
        &self,
        blobs: Vec<BlobInfo>,
        request: ReplicationRequest,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<ReplicationReport, StoreError> {
        let inner = &*self.inner;
        let (wanted, invalid) = dedupe(blobs);
        let listings: Vec<Listing> = join_all(inner.volumes.iter().map(|volume| async move {
            let listing = match volume.probe().await {
                Ok(()) => volume.list_blobs().await,
                Err(e) => Err(e),
            };
            listing
                .inspect_err(|e| {
                    tracing::warn!(volume = %volume.name, error = %e,
                    "volume unreachable during the replication check")
                })
                .ok()
        }))
        .await;
        match crate::staging::clean_stale(&inner.staging_dir, crate::staging::STALE_AGE) {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "deleted stale staging files"),
            Err(e) => tracing::warn!(error = %e, "cannot clean the staging directory"),
        }

        let total = (wanted.len() + invalid.len()) as u64;
        let step = (total / 100).clamp(1, 100);
        let mut checked = 0u64;
        progress(0, total);

        let mut report = ReplicationReport {
            deep: request.deep,
            repair: request.repair,
            replication_factor: u32::try_from(inner.replication).unwrap_or(u32::MAX),
            blobs_checked: total,
            healthy: 0,
            under_replicated: 0,
            corrupt_replicas: 0,
            missing_replicas: 0,
            lost: 0,
            over_replicated: 0,
            orphaned: 0,
            volumes: Vec::new(),
            problems: Vec::new(),
            repaired: Vec::new(),
            unrepairable: Vec::new(),
            leftovers: inner.leftovers(&listings, request.repair).await,
            drained: None,
        };
        let mut per_volume: Vec<[u64; 4]> = vec![[0; 4]; inner.volumes.len()];
        let known: HashSet<BlobHash> = wanted.iter().map(|(id, _)| *id).collect();

        let mut outcomes = futures::stream::iter(wanted)
            .map(|(id, info)| {
                let listings = &listings;
                async move {
                    let outcome = inner.check_blob(&id, info.size, listings, request).await;
                    (id, info, outcome)
                }
            })
            .buffered(CHECK_CONCURRENCY);
        while let Some((id, info, outcome)) = outcomes.next().await {
            for &(volume, state) in &outcome.replicas {
                tally(&mut per_volume[volume], state);
                match state {
                    ReplicaState::Corrupt => report.corrupt_replicas += 1,
                    ReplicaState::Missing => report.missing_replicas += 1,
                    _ => {}
                }
            }
            count_health(&mut report, outcome.health);
            if outcome.health != BlobHealth::Healthy {
                report.problems.push(BlobProblem {
                    hash: id.hex(),
                    size: info.size,
                    health: outcome.health,
                    replicas: inner.statuses(&outcome.replicas),
                    used_by: Some(info.used_by),
                });
            }
            report.repaired.extend(outcome.repaired);
            if outcome.unrepairable {
                report.unrepairable.push(id.hex());
            }
            checked += 1;
            if checked.is_multiple_of(step) {
                progress(checked, total);
            }
        }
        drop(outcomes);

        for info in invalid {
            tracing::warn!(hash = %info.hash, used_by = %info.used_by,
                "catalog references an invalid blob hash");
            count_health(&mut report, BlobHealth::Lost);
            if request.repair {
                report.unrepairable.push(info.hash.clone());
            }
            report.problems.push(BlobProblem {
                hash: info.hash,
                size: info.size,
                health: BlobHealth::Lost,
                replicas: Vec::new(),
                used_by: Some(info.used_by),
            });
            checked += 1;
        }

        for (id, size, volumes) in orphans(&listings, &known) {
            let replicas: Vec<_> = volumes.iter().map(|&v| (v, ReplicaState::Extra)).collect();
            for &(volume, state) in &replicas {
                tally(&mut per_volume[volume], state);
            }
            report.orphaned += 1;
            report.problems.push(BlobProblem {
                hash: id.hex(),
                size,
                health: BlobHealth::Orphaned,
                replicas: inner.statuses(&replicas),
                used_by: None,
            });
        }

        report.volumes = inner
            .names
            .iter()
            .zip(&listings)
            .zip(per_volume)
            .map(
                |((name, listing), [ok, missing, corrupt, extra])| VolumeReport {
                    name: name.clone(),
                    reachable: listing.is_some(),
                    ok,
                    missing,
                    corrupt,
                    extra,
                },
            )
            .collect();
        if !checked.is_multiple_of(step) || total == 0 {
            progress(checked, total);
        }
        tracing::info!(
            deep = request.deep,
            repair = request.repair,
            checked = report.blobs_checked,
            problems = report.problems.len(),
            repaired = report.repaired.len(),
            unrepairable = report.unrepairable.len(),
            "replication check finished"
        );
        Ok(report)
    }
}

/// Valid catalog blobs, one per hash (uses joined), and entries whose hash is not a hash.
fn dedupe(blobs: Vec<BlobInfo>) -> (Vec<(BlobHash, BlobInfo)>, Vec<BlobInfo>) {
    let mut wanted: Vec<(BlobHash, BlobInfo)> = Vec::with_capacity(blobs.len());
    let mut index: HashMap<BlobHash, usize> = HashMap::with_capacity(blobs.len());
    let mut invalid = Vec::new();
    for info in blobs {
        let Ok(id) = BlobHash::parse(&info.hash) else {
            invalid.push(info);
            continue;
        };
        match index.get(&id) {
            Some(&i) => {
                let first = &mut wanted[i].1;
                if first.size != info.size {
                    tracing::warn!(blob = %id, sizes = ?(first.size, info.size),
                        "catalog rows disagree on a blob's size; checking the first");
                }
                first.used_by.push_str("; ");
                first.used_by.push_str(&info.used_by);
            }
            None => {
                index.insert(id, wanted.len());
                wanted.push((id, info));
            }
        }
    }
    (wanted, invalid)
}

/// Blobs on volumes that the catalog does not mention: (hash, size, volumes holding it).
fn orphans(listings: &[Listing], known: &HashSet<BlobHash>) -> Vec<(BlobHash, u64, Vec<usize>)> {
    let mut found: HashMap<BlobHash, (u64, Vec<usize>)> = HashMap::new();
    for (volume, listing) in listings.iter().enumerate() {
        for (id, &size) in listing.iter().flatten() {
            if !known.contains(id) {
                found
                    .entry(*id)
                    .or_insert((size, Vec::new()))
                    .1
                    .push(volume);
            }
        }
    }
    let mut orphans: Vec<_> = found
        .into_iter()
        .map(|(id, (size, v))| (id, size, v))
        .collect();
    orphans.sort_by_key(|(id, _, _)| *id);
    orphans
}

/// Per-volume counters in VolumeReport order: ok, missing, corrupt, extra.
fn tally(counts: &mut [u64; 4], state: ReplicaState) {
    match state {
        ReplicaState::Ok => counts[0] += 1,
        ReplicaState::Missing => counts[1] += 1,
        ReplicaState::Corrupt => counts[2] += 1,
        ReplicaState::Extra => counts[3] += 1,
        ReplicaState::Unreachable => {}
    }
}

fn count_health(report: &mut ReplicationReport, health: BlobHealth) {
    match health {
        BlobHealth::Healthy => report.healthy += 1,
        BlobHealth::UnderReplicated => report.under_replicated += 1,
        BlobHealth::Lost => report.lost += 1,
        BlobHealth::OverReplicated => report.over_replicated += 1,
        BlobHealth::Orphaned => report.orphaned += 1,
    }
}

/// A good copy: right size (and hash, in deep mode or once a copy proved it).
fn is_good(state: ReplicaState) -> bool {
    matches!(state, ReplicaState::Ok | ReplicaState::Extra)
}

enum CopyError {
    /// The source's bytes are not the blob.
    SourceCorrupt(String),
    /// The source could not be read.
    SourceUnreadable(StoreError),
    /// The target refused the write.
    Target(StoreError),
}

impl Inner {
    /// Uploads to reachable S3 volumes that were cut short, older than the stale age; aborted
    /// (and their markers deleted) when `repair`.
    async fn leftovers(&self, listings: &[Listing], repair: bool) -> Vec<Leftover> {
        let mut found = Vec::new();
        let now = unix_now_secs();
        for (volume, listing) in self.volumes.iter().zip(listings) {
            let (Some(s3), Some(_)) = (volume.s3(), listing) else {
                continue;
            };
            let markers = match s3.upload_markers().await {
                Ok(markers) => markers,
                Err(e) => {
                    tracing::warn!(volume = %volume.name, error = %e, "cannot list upload markers");
                    continue;
                }
            };
            for (meta, hash, upload) in markers {
                let age = now.saturating_sub(meta.last_modified.timestamp().max(0) as u64);
                if age < self.stale_upload_age.as_secs() {
                    continue;
                }
                let removed = repair
                    && match s3.abort_upload(&meta.location, &hash, &upload).await {
                        Ok(()) => true,
                        Err(e) => {
                            tracing::warn!(volume = %volume.name, error = %e,
                                marker = %meta.location, "cannot abort an abandoned upload");
                            false
                        }
                    };
                found.push(Leftover {
                    volume: volume.name.to_string(),
                    object: meta.location.to_string(),
                    hash: hash.hex(),
                    age_secs: age,
                    removed,
                });
            }
        }
        found
    }

    fn statuses(&self, replicas: &[(usize, ReplicaState)]) -> Vec<ReplicaStatus> {
        replicas
            .iter()
            .map(|&(volume, state)| ReplicaStatus {
                volume: self.names[volume].clone(),
                state,
            })
            .collect()
    }

    async fn check_blob(
        &self,
        id: &BlobHash,
        size: u64,
        listings: &[Listing],
        request: ReplicationRequest,
    ) -> Outcome {
        let placed = self.placement(id);
        let mut replicas = Vec::new();
        for (volume, is_placed) in self.read_order(id) {
            let state = self
                .replica_state(id, size, volume, is_placed, &listings[volume], request.deep)
                .await;
            if let Some(state) = state {
                replicas.push((volume, state));
            }
        }
        let mut outcome = Outcome {
            replicas,
            health: BlobHealth::Healthy,
            repaired: Vec::new(),
            unrepairable: false,
        };
        let needs_repair = outcome.replicas.iter().any(|&(v, state)| {
            placed.contains(&v) && matches!(state, ReplicaState::Missing | ReplicaState::Corrupt)
        });
        if request.repair && needs_repair {
            self.repair(id, size, &placed, &mut outcome).await;
        }
        let good = outcome.replicas.iter().filter(|(_, s)| is_good(*s)).count();
        let placed_good = outcome
            .replicas
            .iter()
            .filter(|&&(v, s)| placed.contains(&v) && s == ReplicaState::Ok)
            .count();
        let strays = outcome.replicas.iter().any(|&(v, _)| !placed.contains(&v));
        outcome.health = if good == 0 {
            BlobHealth::Lost
        } else if placed_good < placed.len() {
            BlobHealth::UnderReplicated
        } else if strays {
            BlobHealth::OverReplicated
        } else {
            BlobHealth::Healthy
        };
        if request.repair && good == 0 {
            outcome.unrepairable = true;
        }
        outcome
    }

    /// The state of one volume's replica; `None` when a non-placement volume has no copy
    /// (or cannot be asked): that is no replica at all.
    async fn replica_state(
        &self,
        id: &BlobHash,
        size: u64,
        volume: usize,
        is_placed: bool,
        listing: &Listing,
        deep: bool,
    ) -> Option<ReplicaState> {
        let present = if is_placed {
            ReplicaState::Ok
        } else {
            ReplicaState::Extra
        };
        let Some(listing) = listing else {
            return is_placed.then_some(ReplicaState::Unreachable);
        };
        match listing.get(id) {
            None => is_placed.then_some(ReplicaState::Missing),
            Some(&found) if found != size => {
                tracing::warn!(blob = %id, volume = %self.names[volume], found, expected = size,
                    "replica has the wrong size");
                self.corrupt(id, volume);
                Some(ReplicaState::Corrupt)
            }
            // S3 replicas carry the hash they were written with: a HEAD compares it.
            Some(_) if !deep && self.volumes[volume].is_remote() => {
                match self.volumes[volume].head(id).await {
                    Ok(Some(meta)) if meta.stored_hash.is_some_and(|h| h != *id) => {
                        tracing::warn!(blob = %id, volume = %self.names[volume],
                            "replica's stored hash is another blob's");
                        self.corrupt(id, volume);
                        Some(ReplicaState::Corrupt)
                    }
                    Ok(Some(_)) => Some(present),
                    Ok(None) => is_placed.then_some(ReplicaState::Missing),
                    Err(e) => {
                        tracing::warn!(blob = %id, error = %e, "cannot ask for replica metadata");
                        Some(ReplicaState::Unreachable)
                    }
                }
            }
            Some(_) if !deep => Some(present),
            Some(_) => match self.volumes[volume].hash_replica(id).await {
                Ok(Some(digest)) if digest.hash == *id && digest.size == size => {
                    self.mark_verified(id, volume, digest.fingerprint);
                    Some(present)
                }
                Ok(Some(digest)) => {
                    tracing::warn!(blob = %id, volume = %self.names[volume], found = %digest.hash,
                        "replica bytes do not match their hash");
                    self.corrupt(id, volume);
                    Some(ReplicaState::Corrupt)
                }
                // Deleted since the listing.
                Ok(None) => is_placed.then_some(ReplicaState::Missing),
                Err(e) => {
                    tracing::warn!(blob = %id, error = %e, "cannot read replica");
                    Some(ReplicaState::Unreachable)
                }
            },
        }
    }

    /// Copies verified bytes to every placement volume whose replica is missing or corrupt.
    /// Updates `outcome.replicas` with sources found corrupt on the way.
    async fn repair(&self, id: &BlobHash, size: u64, placed: &[usize], outcome: &mut Outcome) {
        let _guard = self.lock_blob(id).await;
        let mut targets: VecDeque<(usize, ReplicaState)> = outcome
            .replicas
            .iter()
            .filter(|&&(v, s)| {
                placed.contains(&v) && matches!(s, ReplicaState::Missing | ReplicaState::Corrupt)
            })
            .copied()
            .collect();
        let mut sources: VecDeque<usize> = outcome
            .replicas
            .iter()
            .filter(|(_, s)| is_good(*s))
            .map(|&(v, _)| v)
            .collect();
        'targets: while let Some((target, reason)) = targets.pop_front() {
            loop {
                let Some(&source) = sources.front() else {
                    tracing::error!(blob = %id, "no verified replica left to repair from");
                    outcome.unrepairable = true;
                    break 'targets;
                };
                match self.copy(id, size, source, target).await {
                    Ok(()) => {
                        tracing::info!(blob = %id, from = %self.names[source],
                            to = %self.names[target], ?reason, "replica repaired");
                        self.count(&self.counters.repaired_replicas, 1);
                        outcome.repaired.push(RepairAction {
                            hash: id.hex(),
                            from_volume: self.names[source].clone(),
                            to_volume: self.names[target].clone(),
                            reason,
                        });
                        break;
                    }
                    Err(CopyError::SourceCorrupt(detail)) => {
                        tracing::warn!(blob = %id, volume = %self.names[source], %detail,
                            "repair source is corrupt; trying another");
                        self.corrupt(id, source);
                        sources.pop_front();
                        if let Some(entry) = outcome.replicas.iter_mut().find(|(v, _)| *v == source)
                        {
                            entry.1 = ReplicaState::Corrupt;
                        }
                        if placed.contains(&source) {
                            targets.push_back((source, ReplicaState::Corrupt));
                        }
                    }
                    Err(CopyError::SourceUnreadable(e)) => {
                        tracing::warn!(blob = %id, volume = %self.names[source], error = %e,
                            "cannot read repair source; trying another");
                        sources.pop_front();
                    }
                    Err(CopyError::Target(e)) => {
                        tracing::error!(blob = %id, volume = %self.names[target], error = %e,
                            "cannot write repaired replica");
                        outcome.unrepairable = true;
                        break;
                    }
                }
            }
        }
    }

    /// Streams `source`'s replica into `target`, completing the write only if the bytes hash
    /// right: what lands is exactly what was verified.
    async fn copy(
        &self,
        id: &BlobHash,
        size: u64,
        source: usize,
        target: usize,
    ) -> Result<(), CopyError> {
        let stream = match self.volumes[source].open(id, None).await {
            Ok(opened) => self.volumes[source].stream(opened),
            Err(e) => return Err(CopyError::SourceUnreadable(self.volumes[source].error(e))),
        };
        match self.volumes[target]
            .write_verified(id, size, Box::pin(stream))
            .await
        {
            Ok(()) => {
                self.forget_verified(id, target);
                Ok(())
            }
            Err(WriteError::Mismatch(detail)) => Err(CopyError::SourceCorrupt(detail)),
            Err(WriteError::SourceRead(e)) => Err(CopyError::SourceUnreadable(e)),
            Err(WriteError::Target(e)) => Err(CopyError::Target(self.volumes[target].error(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{content, corrupt_same_size, FailingStore, TestStore, WriteFailure};

    fn infos(blobs: &[(&str, usize)]) -> Vec<BlobInfo> {
        blobs
            .iter()
            .enumerate()
            .map(|(i, (hash, size))| BlobInfo {
                hash: hash.to_string(),
                size: *size as u64,
                used_by: format!("song {i}"),
            })
            .collect()
    }

    async fn check(
        t: &TestStore,
        blobs: &[(&str, usize)],
        deep: bool,
        repair: bool,
    ) -> ReplicationReport {
        t.store
            .replication(infos(blobs), ReplicationRequest { deep, repair }, |_, _| {})
            .await
            .unwrap()
    }

    fn state_on(report: &ReplicationReport, hash: &str, volume: &str) -> Option<ReplicaState> {
        let problem = report.problems.iter().find(|p| p.hash == hash)?;
        problem
            .replicas
            .iter()
            .find(|r| r.volume == volume)
            .map(|r| r.state)
    }

    #[tokio::test]
    async fn a_healthy_store_reports_clean() {
        let t = TestStore::new(3, 2, 0);
        let a = content(1, 5000);
        let b = content(2, 7000);
        let (ha, hb) = (t.put(&a).await, t.put(&b).await);
        for deep in [false, true] {
            let report = check(&t, &[(&ha, 5000), (&hb, 7000)], deep, false).await;
            assert!(report.is_clean(), "{report:?}");
            assert_eq!((report.blobs_checked, report.healthy), (2, 2));
            assert_eq!(report.volumes.iter().map(|v| v.ok).sum::<u64>(), 4);
            assert!(report.volumes.iter().all(|v| v.reachable));
        }
    }

    #[tokio::test]
    async fn finds_missing_and_corrupt_replicas_and_repairs_them() {
        let t = TestStore::new(3, 3, 0);
        let bytes = content(3, 20_000);
        let hash = t.put(&bytes).await;
        let placed = t.store.placement(&hash);
        let (missing, corrupt) = (placed[0], placed[1]);
        std::fs::remove_file(t.replica(missing, &hash)).unwrap();
        corrupt_same_size(&t.replica(corrupt, &hash));
        let blobs = [(hash.as_str(), bytes.len())];
        let (vm, vc) = (format!("v{missing}"), format!("v{corrupt}"));

        // Cheap mode sees the missing replica but not same-size corruption.
        let cheap = check(&t, &blobs, false, false).await;
        assert_eq!(cheap.under_replicated, 1);
        assert_eq!((cheap.missing_replicas, cheap.corrupt_replicas), (1, 0));
        assert_eq!(state_on(&cheap, &hash, &vm), Some(ReplicaState::Missing));
        assert_eq!(state_on(&cheap, &hash, &vc), Some(ReplicaState::Ok));

        // Deep mode re-hashes and sees both.
        let deep = check(&t, &blobs, true, false).await;
        assert_eq!((deep.missing_replicas, deep.corrupt_replicas), (1, 1));
        assert_eq!(state_on(&deep, &hash, &vm), Some(ReplicaState::Missing));
        assert_eq!(state_on(&deep, &hash, &vc), Some(ReplicaState::Corrupt));
        assert_eq!(deep.problems[0].used_by.as_deref(), Some("song 0"));
        assert!(deep.repaired.is_empty(), "no repair unless asked");

        let repaired = check(&t, &blobs, true, true).await;
        let mut actions: Vec<_> = repaired
            .repaired
            .iter()
            .map(|a| (a.to_volume.clone(), a.reason, a.from_volume.clone()))
            .collect();
        actions.sort_by(|a, b| a.0.cmp(&b.0));
        let good = format!("v{}", placed[2]);
        let mut expected = vec![
            (vm.clone(), ReplicaState::Missing, good.clone()),
            (vc.clone(), ReplicaState::Corrupt, good.clone()),
        ];
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(actions, expected);
        assert!(repaired.unrepairable.is_empty());
        for volume in 0..3 {
            assert_eq!(std::fs::read(t.replica(volume, &hash)).unwrap(), bytes);
        }
        assert!(check(&t, &blobs, true, false).await.is_clean());
        assert_eq!(t.store.counters().repaired_replicas, 2);
    }

    #[tokio::test]
    async fn cheap_repair_never_copies_from_a_corrupt_source() {
        let t = TestStore::new(3, 3, 0);
        let bytes = content(4, 9_000);
        let hash = t.put(&bytes).await;
        let placed = t.store.placement(&hash);
        // The best source (first in placement order after the missing one) is silently corrupt.
        std::fs::remove_file(t.replica(placed[2], &hash)).unwrap();
        corrupt_same_size(&t.replica(placed[0], &hash));
        let report = check(&t, &[(&hash, bytes.len())], false, true).await;
        let bad = format!("v{}", placed[0]);
        assert_eq!(state_on(&report, &hash, &bad), Some(ReplicaState::Corrupt));
        assert!(report
            .repaired
            .iter()
            .all(|a| a.from_volume == format!("v{}", placed[1])));
        assert_eq!(report.repaired.len(), 2, "{:?}", report.repaired);
        for volume in 0..3 {
            assert_eq!(std::fs::read(t.replica(volume, &hash)).unwrap(), bytes);
        }
        assert!(check(&t, &[(&hash, bytes.len())], true, false)
            .await
            .is_clean());
    }

    #[tokio::test]
    async fn a_blob_corrupt_everywhere_is_lost_and_unrepairable() {
        let t = TestStore::new(3, 2, 0);
        let bytes = content(5, 3_000);
        let hash = t.put(&bytes).await;
        for volume in t.holders(&hash) {
            corrupt_same_size(&t.replica(volume, &hash));
        }
        let blobs = [(hash.as_str(), bytes.len())];
        let deep = check(&t, &blobs, true, true).await;
        assert_eq!(deep.lost, 1);
        assert_eq!(deep.problems[0].health, BlobHealth::Lost);
        assert_eq!(deep.unrepairable, vec![hash.clone()]);
        assert!(deep.repaired.is_empty());
        // Cheap mode cannot see same-size corruption; with nothing missing it repairs nothing.
        let cheap = check(&t, &blobs, false, true).await;
        assert_eq!(
            cheap.problems.len(),
            0,
            "cheap mode sees the right sizes: {cheap:?}"
        );
        for volume in t.holders(&hash) {
            assert_ne!(std::fs::read(t.replica(volume, &hash)).unwrap(), bytes);
        }
    }

    #[tokio::test]
    async fn cheap_repair_discovers_that_every_source_is_corrupt() {
        let t = TestStore::new(3, 3, 0);
        let bytes = content(6, 3_000);
        let hash = t.put(&bytes).await;
        let placed = t.store.placement(&hash);
        std::fs::remove_file(t.replica(placed[0], &hash)).unwrap();
        corrupt_same_size(&t.replica(placed[1], &hash));
        corrupt_same_size(&t.replica(placed[2], &hash));
        let report = check(&t, &[(&hash, bytes.len())], false, true).await;
        assert_eq!(report.lost, 1, "{report:?}");
        assert_eq!(report.unrepairable, vec![hash.clone()]);
        assert!(report.repaired.is_empty());
        assert!(
            !t.replica(placed[0], &hash).exists(),
            "no bad bytes were copied"
        );
    }

    #[tokio::test]
    async fn reports_orphans_strays_and_wrong_sizes_without_deleting() {
        let t = TestStore::new(3, 1, 0);
        let kept = content(7, 4_000);
        let hash = t.put(&kept).await;
        let orphan = t.put(b"nobody refers to me").await;
        let home = t.store.placement(&hash)[0];
        let stray = (home + 1) % 3;
        std::fs::create_dir_all(t.replica(stray, &hash).parent().unwrap()).unwrap();
        std::fs::copy(t.replica(home, &hash), t.replica(stray, &hash)).unwrap();

        let report = check(&t, &[(&hash, 4_000)], false, true).await;
        assert_eq!(
            (report.over_replicated, report.orphaned),
            (1, 1),
            "{report:?}"
        );
        assert_eq!(
            state_on(&report, &hash, &format!("v{stray}")),
            Some(ReplicaState::Extra)
        );
        let orphaned = report.problems.iter().find(|p| p.hash == orphan).unwrap();
        assert_eq!(
            (orphaned.health, orphaned.size, orphaned.used_by.clone()),
            (BlobHealth::Orphaned, 19, None)
        );
        assert!(report.repaired.is_empty());
        assert!(t.replica(stray, &hash).exists() && !t.holders(&orphan).is_empty());

        // The catalog thinks the blob has another size: every copy is corrupt, so it is lost.
        let wrong = check(&t, &[(&hash, 4_001)], false, false).await;
        assert_eq!(wrong.lost, 1);
        assert_eq!(wrong.corrupt_replicas, 2);
    }

    #[tokio::test]
    async fn invalid_and_duplicate_catalog_entries() {
        let t = TestStore::new(2, 2, 0);
        let hash = t.put(b"shared cover").await;
        let blobs = vec![
            BlobInfo {
                hash: hash.clone(),
                size: 12,
                used_by: "cover of album 1".into(),
            },
            BlobInfo {
                hash: hash.clone(),
                size: 12,
                used_by: "cover of album 2".into(),
            },
            BlobInfo {
                hash: "not-a-hash".into(),
                size: 1,
                used_by: "song 9".into(),
            },
        ];
        let request = ReplicationRequest {
            deep: true,
            repair: true,
        };
        let report = t
            .store
            .replication(blobs, request, |_, _| {})
            .await
            .unwrap();
        assert_eq!(
            (report.blobs_checked, report.healthy, report.lost),
            (2, 1, 1)
        );
        assert_eq!(report.unrepairable, vec!["not-a-hash".to_string()]);
        assert_eq!(report.problems.len(), 1);
    }

    #[tokio::test]
    async fn progress_reaches_the_total() {
        let t = TestStore::new(2, 1, 0);
        let mut blobs = Vec::new();
        for i in 0..250u32 {
            let bytes = i.to_le_bytes();
            blobs.push(BlobInfo {
                hash: t.put(&bytes).await,
                size: 4,
                used_by: format!("song {i}"),
            });
        }
        let mut calls = Vec::new();
        let report = t
            .store
            .replication(blobs, ReplicationRequest::default(), |checked, total| {
                calls.push((checked, total))
            })
            .await
            .unwrap();
        assert!(report.is_clean());
        assert_eq!(calls.first(), Some(&(0, 250)));
        assert_eq!(calls.last(), Some(&(250, 250)));
        assert!(
            calls.len() >= 100,
            "at least every 1%: {} calls",
            calls.len()
        );
        assert!(calls.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[tokio::test]
    async fn an_unwritable_target_is_reported_unrepairable() {
        let failing = std::sync::Mutex::new(None);
        let t = TestStore::with_volumes(2, 2, 0, |i, config| {
            if i == 1 {
                let (config, store) = FailingStore::wrap(config, WriteFailure::Refuse);
                store
                    .failing
                    .store(false, std::sync::atomic::Ordering::SeqCst);
                *failing.lock().unwrap() = Some(store);
                config
            } else {
                config
            }
        });
        let failing = failing.lock().unwrap().take().unwrap();
        let hash = t.put(b"abc").await;
        std::fs::remove_file(t.replica(1, &hash)).unwrap();
        failing
            .failing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let report = check(&t, &[(&hash, 3)], false, true).await;
        assert_eq!(report.under_replicated, 1);
        assert_eq!(report.unrepairable, vec![hash.clone()]);
        assert!(report.repaired.is_empty());
    }

    #[tokio::test]
    async fn an_unreachable_volume_is_reported() {
        let t = TestStore::new(3, 3, 0);
        let hash = t.put(b"abc").await;
        // A volume directory replaced by a plain file cannot be read or written.
        std::fs::remove_dir_all(&t.dirs[2]).unwrap();
        std::fs::write(&t.dirs[2], b"not a directory").unwrap();
        let report = check(&t, &[(&hash, 3)], false, true).await;
        assert!(!report.volumes[2].reachable);
        assert_eq!(
            state_on(&report, &hash, "v2"),
            Some(ReplicaState::Unreachable)
        );
        assert_eq!(report.under_replicated, 1);
        assert!(report.repaired.is_empty() && report.unrepairable.is_empty());
        assert_eq!(t.read_all(&hash, 3).await.unwrap(), b"abc");
    }
}
