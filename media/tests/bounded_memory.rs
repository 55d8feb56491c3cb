//! A file with a 100 MB tag item must not make probing allocate anywhere near that.
//! lofty's allocation limit does not cover everything (it reads an ID3v2 picture
//! with `read_to_end`), so the structural checks measure items first and keep lofty
//! away from oversized ones. (FLAC needs nothing: a metadata block holds at most
//! 16 MiB by format.) Measured with a counting allocator, so this binary
//! holds one test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cadenza_fixtures::GoodFile;
use cadenza_media::{probe_file, MediaError, Probe, MAX_TAG_ITEM_BYTES};

struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const HUGE: u32 = 100 * 1024 * 1024;

fn syncsafe(value: u32) -> [u8; 4] {
    [
        (value >> 21) as u8 & 0x7F,
        (value >> 14) as u8 & 0x7F,
        (value >> 7) as u8 & 0x7F,
        value as u8 & 0x7F,
    ]
}

/// An ID3v2.4 tag whose single `frame_id` frame fills 100 MB (sparse zeros on disk),
/// then a real MP3 stream.
fn write_huge_frame_mp3(path: &Path, frame_id: &[u8; 4], audio: &[u8]) {
    let mut file = File::create(path).expect("create");
    file.write_all(b"ID3\x04\x00\x00").expect("write");
    file.write_all(&syncsafe(HUGE)).expect("write");
    file.write_all(frame_id).expect("write");
    file.write_all(&syncsafe(HUGE - 10)).expect("write");
    file.write_all(&[0, 0]).expect("write");
    file.write_all(b"\x00image/png\x00\x03\x00").expect("write");
    file.set_len(10 + u64::from(HUGE)).expect("grow sparsely");
    let mut file = OpenOptions::new().append(true).open(path).expect("reopen");
    file.write_all(audio).expect("write audio");
}

/// Peak bytes allocated while probing `path`, and the result.
fn measure(path: &Path) -> (usize, Result<Probe, MediaError>) {
    let before = IN_USE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let result = probe_file(path);
    (PEAK.load(Ordering::SeqCst) - before, result)
}

fn fixture(suffix: &str) -> GoodFile {
    cadenza_fixtures::good_files()
        .expect("fixture manifest")
        .into_iter()
        .find(|file| file.path.ends_with(suffix))
        .expect("fixture")
}

#[test]
fn huge_tag_items_are_never_read_into_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let untagged = fixture("untitled.mp3");
    let audio = fs::read(untagged.absolute_path()).expect("fixture");

    // A 100 MB picture: the audio is fine and the frame fits its tag, so the file is
    // accepted; the picture is skipped, not read.
    let path = dir.path().join("huge-cover.mp3");
    write_huge_frame_mp3(&path, b"APIC", &audio);
    let (peak, result) = measure(&path);
    let probe = result.expect("accepted");
    assert!(probe.cover.is_none(), "a 100 MB cover must not be read");
    assert!(untagged.duration_matches(Duration::from_millis(probe.duration_ms)));
    assert!(
        peak < MAX_TAG_ITEM_BYTES,
        "APIC: allocated up to {peak} bytes at once"
    );

    // Any other 100 MB frame: refused, without reading it.
    let path = dir.path().join("huge-object.mp3");
    write_huge_frame_mp3(&path, b"GEOB", &audio);
    let (peak, result) = measure(&path);
    let error = result.expect_err("refused");
    assert_eq!(error.code(), "unreadable_audio");
    assert!(
        error.to_string().contains("ID3v2 frame GEOB holds"),
        "{error}"
    );
    assert!(
        peak < MAX_TAG_ITEM_BYTES,
        "GEOB: allocated up to {peak} bytes at once"
    );
}
