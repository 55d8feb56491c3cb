//! Replica files mapped into memory, served as slices of the mapping.
//!
//! A chunk read with `pread` is copied from the page cache into a fresh heap buffer, then from
//! that buffer into the socket. A slice of a mapping skips the first copy and holds no heap
//! memory: at 256 whole-file streams the buffers queued behind slow sockets were tens of
//! megabytes, and for 64 KiB ranges the copy was the largest single cost in the profile
//! (11.8% of the server's time). nginx avoids both with `sendfile`, which hyper cannot use.
//!
//! A slice is handed out only when its pages are in the page cache (`mincore`): the socket
//! write faults the pages in on an async worker, and a page that must come from disk would
//! stall that worker. Anything else is read with `pread` as before (see `local_file`).
//!
//! Memory: the pages of a mapping that were sent count in the process's resident size (VmRSS)
//! as file-backed pages until the mapping is dropped (when its stream ends, or it leaves the
//! open-file cache). They are page-cache pages the kernel holds and can reclaim either way;
//! the heap (RssAnon) no longer grows with the number of streams.
//!
//! The bytes are only ever read by the kernel (the socket write copies them); a replica file
//! shrunk in place under a mapping then fails that write (`EFAULT`) instead of raising
//! `SIGBUS` in the server. Replicas are never changed in place by Cadenza: writes go to a
//! temporary name and are renamed, so a mapping keeps the bytes it was opened on.

use std::fs::File;
use std::ops::Range;

use bytes::Bytes;

/// Maps the whole file read-only. `None` when it cannot be mapped (empty files, systems
/// without the calls, a failing `mmap`): the caller reads with `pread`.
pub(crate) fn map(file: &File, len: u64) -> Option<Bytes> {
    if len == 0 {
        return None;
    }
    imp::map(file, len)
}

/// `range` of `mapped` when every page of it is in the page cache; `None` when some page is
/// not (or the range does not lie inside the mapping).
pub(crate) fn resident_slice(mapped: &Bytes, range: Range<usize>) -> Option<Bytes> {
    if range.start >= range.end || range.end > mapped.len() {
        return None;
    }
    imp::resident(&mapped[range.clone()]).then(|| mapped.slice(range))
}

#[cfg(target_os = "linux")]
mod imp {
    use std::fs::File;
    use std::sync::OnceLock;

    use bytes::Bytes;

    pub(super) fn map(file: &File, len: u64) -> Option<Bytes> {
        let len = usize::try_from(len).ok()?;
        // SAFETY: the mapping is read-only and only its address is used in this process: the
        // bytes are read by the kernel when it writes them to a socket (see the module
        // comment for what happens if the file shrinks underneath).
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(file) }.ok()?;
        Some(Bytes::from_owner(map))
    }

    /// Whether every page under `bytes` (which lie inside a mapping) is in the page cache.
    pub(super) fn resident(bytes: &[u8]) -> bool {
        let page = page_size();
        let start = bytes.as_ptr() as usize;
        let first = start & !(page - 1);
        let end = start + bytes.len();
        let pages = (end - first).div_ceil(page);
        let mut small = [0u8; 64];
        let mut large = Vec::new();
        let status: &mut [u8] = if pages <= small.len() {
            &mut small[..pages]
        } else {
            large.resize(pages, 0);
            &mut large
        };
        // SAFETY: `first..end` lies within one live mapping (the page holding `bytes`' first
        // byte starts at `first`, mappings start on a page boundary) and `status` has one
        // byte per page of it.
        let rc = unsafe {
            libc::mincore(
                first as *mut libc::c_void,
                end - first,
                status.as_mut_ptr().cast(),
            )
        };
        rc == 0 && status.iter().all(|page| page & 1 == 1)
    }

    fn page_size() -> usize {
        static PAGE: OnceLock<usize> = OnceLock::new();
        *PAGE.get_or_init(|| {
            // SAFETY: sysconf has no preconditions.
            let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            usize::try_from(size)
                .ok()
                .filter(|s| s.is_power_of_two())
                .unwrap_or(4096)
        })
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::fs::File;

    use bytes::Bytes;

    pub(super) fn map(_file: &File, _len: u64) -> Option<Bytes> {
        None
    }

    pub(super) fn resident(_bytes: &[u8]) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{content, file_with};

    #[cfg(target_os = "linux")]
    #[test]
    fn resident_slices_are_the_file_s_bytes() {
        let bytes = content(9, 300_000);
        let (_dir, path) = file_with(&bytes);
        let file = File::open(&path).unwrap();
        let mapped = map(&file, bytes.len() as u64).expect("Linux maps files");
        // Just written, so in the page cache.
        for range in [0..1, 5..70_000, 131_072..262_144, 299_999..300_000] {
            let slice = resident_slice(&mapped, range.clone()).expect("resident");
            assert_eq!(slice, &bytes[range]);
        }
        assert!(
            resident_slice(&mapped, 0..300_001).is_none(),
            "past the end"
        );
        assert!(resident_slice(&mapped, 7..7).is_none(), "empty");
        assert!(map(&file, 0).is_none(), "nothing to map");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn pages_not_in_the_page_cache_are_not_sliced() {
        use std::os::fd::AsRawFd;
        let bytes = content(10, 200_000);
        let (_dir, path) = file_with(&bytes);
        let file = File::open(&path).unwrap();
        file.sync_all().unwrap();
        let mapped = map(&file, bytes.len() as u64).unwrap();
        // Clean pages nobody has touched through a mapping are dropped at once.
        // SAFETY: fadvise on an open descriptor has no memory-safety preconditions.
        let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(rc, 0);
        assert!(resident_slice(&mapped, 0..65_536).is_none());
    }
}
