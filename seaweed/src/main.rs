//! `cadenza-seaweed [SERVERS] [BUCKET]`: starts SERVERS (default 3) SeaweedFS servers for
//! `scripts/bench.sh`, prints one `endpoint=URL bucket=B pid=P` line each, then `ready`, and
//! runs until SIGTERM or SIGINT, when it stops them all.
//!
//! `cadenza-seaweed serve DIR BUCKET`: becomes (exec) one SeaweedFS server kept in DIR, for
//! `scripts/cluster.sh`: data and ports stay in DIR (its S3 endpoint in `DIR/endpoint`), so
//! it starts again where it was; the process is weed itself, stopped by the caller's signals.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::os::unix::process::CommandExt;
use std::path::Path;

use cadenza_seaweed::{Persistent, Weed};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("serve") {
        let (Some(dir), Some(bucket)) = (args.nth(1), args.next()) else {
            eprintln!("usage: cadenza-seaweed serve DIR BUCKET");
            std::process::exit(2);
        };
        serve(Path::new(&dir), &bucket);
    }
    let servers: usize = match args.next().map(|n| n.parse()) {
        None => 3,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: cadenza-seaweed [SERVERS] [BUCKET]");
            std::process::exit(2);
        }
    };
    let bucket = args.next().unwrap_or_else(|| "cadenza-bench".into());
    // SAFETY: the handler only stores to an atomic.
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    unsafe {
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGINT, handler);
    }
    let mut weeds = Vec::with_capacity(servers);
    for _ in 0..servers {
        match Weed::start(&bucket) {
            Ok(weed) => {
                println!(
                    "endpoint={} bucket={} pid={}",
                    weed.endpoint(),
                    weed.bucket(),
                    weed.pid().unwrap_or_default()
                );
                weeds.push(weed);
            }
            Err(skip) => {
                eprintln!("cadenza-seaweed: {skip}");
                std::process::exit(1);
            }
        }
    }
    println!("ready");
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    // In parallel: each takes a few seconds to stop.
    std::thread::scope(|scope| {
        for weed in &mut weeds {
            scope.spawn(move || weed.stop());
        }
    });
}

/// Replaces this process with the server kept in `dir`; returns only to exit with an error.
fn serve(dir: &Path, bucket: &str) -> ! {
    let server = Persistent::open(dir, bucket).unwrap_or_else(|e| {
        eprintln!(
            "cadenza-seaweed: cannot keep a server in {}: {e}",
            dir.display()
        );
        std::process::exit(1);
    });
    let mut command = server.command().unwrap_or_else(|skip| {
        eprintln!("cadenza-seaweed: {skip}");
        std::process::exit(1);
    });
    let e = command.exec();
    eprintln!("cadenza-seaweed: cannot run weed: {e}");
    std::process::exit(1);
}
