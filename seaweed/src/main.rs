//! `cadenza-seaweed [SERVERS] [BUCKET]`: starts SERVERS (default 3) SeaweedFS servers for
//! `scripts/bench.sh`, prints one `endpoint=URL bucket=B pid=P` line each, then `ready`, and
//! runs until SIGTERM or SIGINT, when it stops them all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cadenza_seaweed::Weed;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn main() {
    let mut args = std::env::args().skip(1);
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
