//! Draining a volume online: it leaves the placement, the repair copies every blob it held
//! to the blob's new placement (verified bytes only), and then its copies are deleted.
//!
//! The drain lasts for the life of the process: afterwards, take the volume out of the
//! configuration (a restart with it still configured puts it back into the placement, which
//! loses nothing; draining again finishes the job). Copies of the server that share the
//! volumes must be restarted without it too, or they keep writing new blobs to it.

use std::collections::HashSet;

use crate::{
    lock, BlobHash, BlobInfo, BlobStore, DrainSummary, ReplicationReport, ReplicationRequest,
    StoreError,
};

impl BlobStore {
    /// Takes volume `name` out of the placement (new blobs go elsewhere from now on); its
    /// index. Refused for an unknown volume, and when the other volumes are fewer than R.
    pub fn begin_drain(&self, name: &str) -> Result<usize, StoreError> {
        let inner = &self.inner;
        let Some(volume) = inner.names.iter().position(|n| n == name) else {
            return Err(StoreError::Config(format!(
                "there is no volume named {name:?} (volumes: {})",
                inner.names.join(", ")
            )));
        };
        let mut draining = lock(&inner.draining);
        let others = (0..inner.names.len())
            .filter(|v| *v != volume && !draining.contains(v))
            .count();
        if others < inner.replication {
            return Err(StoreError::Config(format!(
                "cannot drain {name:?}: the other volumes are fewer than the {} replicas each blob needs; add a volume first",
                inner.replication
            )));
        }
        draining.insert(volume);
        Ok(volume)
    }

    /// Moves every catalog blob off volume `name` while the store keeps serving (see the
    /// module docs). The report is the repair's (`repaired` lists the copies made), with what
    /// was removed from the volume in `drained`; run a deep check afterwards to verify every
    /// blob's hash where it now lives.
    pub async fn drain(
        &self,
        name: &str,
        blobs: Vec<BlobInfo>,
        progress: impl FnMut(u64, u64) + Send,
    ) -> Result<ReplicationReport, StoreError> {
        let inner = &self.inner;
        let volume = self.begin_drain(name)?;
        tracing::info!(volume = name, "draining: blobs move to their new placement");
        let wanted: HashSet<BlobHash> = blobs
            .iter()
            .filter_map(|b| BlobHash::parse(&b.hash).ok())
            .collect();
        let sizes: std::collections::HashMap<BlobHash, u64> = blobs
            .iter()
            .filter_map(|b| Some((BlobHash::parse(&b.hash).ok()?, b.size)))
            .collect();
        let repair = ReplicationRequest {
            deep: false,
            repair: true,
        };
        let mut report = self.replication(blobs, repair, progress).await?;
        let vol = &inner.volumes[volume];
        let held = vol.list_blobs().await?;
        let (mut removed, mut kept) = (0u64, 0u64);
        for (id, size) in held {
            if !wanted.contains(&id) || sizes.get(&id) != Some(&size) {
                kept += 1;
                continue;
            }
            let _guard = inner.lock_blob(&id).await;
            if inner.fully_placed(&id, size).await {
                vol.delete(&id).await?;
                inner.forget_verified(&id, volume);
                removed += 1;
            } else {
                kept += 1;
            }
        }
        tracing::info!(volume = name, removed, kept, "drain finished");
        report.drained = Some(DrainSummary {
            volume: name.to_string(),
            removed,
            kept,
        });
        Ok(report)
    }
}

impl crate::Inner {
    /// Every placement volume holds a replica of the right size.
    async fn fully_placed(&self, id: &BlobHash, size: u64) -> bool {
        for volume in self.placement(id) {
            match self.volumes[volume].head(id).await {
                Ok(Some(meta)) if meta.size == size => {}
                _ => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{content, TestStore};
    use crate::{BlobInfo, ReplicationRequest, StoreError};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn draining_moves_every_blob_off_the_volume_and_nothing_is_lost() {
        let t = TestStore::new(4, 2, 0);
        let mut blobs = Vec::new();
        for seed in 0..12 {
            let bytes = content(seed, 3000 + seed as usize);
            let hash = t.put(&bytes).await;
            blobs.push((hash, bytes));
        }
        let infos: Vec<BlobInfo> = blobs
            .iter()
            .map(|(hash, bytes)| BlobInfo {
                hash: hash.clone(),
                size: bytes.len() as u64,
                used_by: "song".into(),
            })
            .collect();
        let on_v0 = blobs
            .iter()
            .filter(|(h, _)| t.holders(h).contains(&0))
            .count();
        assert!(on_v0 > 0);
        let report = t.store.drain("v0", infos.clone(), |_, _| {}).await.unwrap();
        let drained = report.drained.unwrap();
        assert_eq!((drained.removed, drained.kept), (on_v0 as u64, 0));
        for (hash, bytes) in &blobs {
            assert!(!t.holders(hash).contains(&0), "{hash} still on v0");
            assert_eq!(t.holders(hash).len(), 2);
            assert_eq!(&t.read_all(hash, bytes.len() as u64).await.unwrap(), bytes);
        }
        let deep = ReplicationRequest {
            deep: true,
            repair: false,
        };
        let check = t
            .store
            .replication(infos.clone(), deep, |_, _| {})
            .await
            .unwrap();
        assert!(check.is_clean(), "{check:?}");

        // Two volumes left for R=2: one more drain is fine, then none is.
        t.store.drain("v1", infos.clone(), |_, _| {}).await.unwrap();
        let err = t.store.drain("v2", infos.clone(), |_, _| {}).await;
        assert!(
            matches!(err, Err(StoreError::Config(ref m)) if m.contains("add a volume")),
            "{err:?}"
        );
        assert!(matches!(
            t.store.drain("nope", infos, |_, _| {}).await,
            Err(StoreError::Config(_))
        ));
    }
}
