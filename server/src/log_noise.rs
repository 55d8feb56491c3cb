//! Log lines that report no problem of ours, kept out of the log unless it runs at debug:
//! - warp logs every client that closes its connection mid-response (a player skipping a
//!   track, a benchmark ending) as `ERROR warp::server::run: server connection error:
//!   hyper::Error(IncompleteMessage)` (or a reset / broken pipe);
//! - lofty warns `MPEG: Using bitrate to estimate duration` for every MP3 without a Xing/VBRI
//!   header, which is most of them.
//!
//! Any other connection error (a malformed request, a timeout) still logs at its level.

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Drops the events described in the module docs.
pub struct QuietNoise;

impl<S: Subscriber> Layer<S> for QuietNoise {
    fn event_enabled(&self, event: &Event<'_>, _cx: Context<'_, S>) -> bool {
        !is_noise(event.metadata().target(), event)
    }
}

/// What a client closing its connection looks like in hyper's error (Debug form).
const HANGUPS: [&str; 4] = [
    "IncompleteMessage",
    "kind: ConnectionReset",
    "kind: BrokenPipe",
    "kind: ConnectionAborted",
];

fn is_noise(target: &str, event: &Event<'_>) -> bool {
    // Events bridged from the `log` crate (lofty) have the target `log` here.
    if !(target.starts_with("warp::server") || target == "log") {
        return false;
    }
    let mut message = Message(String::new());
    event.record(&mut message);
    let text = message.0;
    if target == "log" {
        return text.contains("Using bitrate to estimate duration");
    }
    text.starts_with("server connection error") && HANGUPS.iter().any(|h| text.contains(h))
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn hangups_and_lofty_estimates_are_dropped_real_errors_kept() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::registry().with(QuietNoise).with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || writer.clone()),
        );
        tracing::subscriber::with_default(subscriber, || {
            let hangup = "hyper::Error(IncompleteMessage)";
            tracing::error!(target: "warp::server::run", "server connection error: {:?}", hangup);
            tracing::error!(target: "warp::server::run", "server connection error: hyper::Error(Io, Os {{ code: 104, kind: ConnectionReset }})");
            tracing::error!(target: "warp::server::run", "server connection error: hyper::Error(Parse(Header))");
            tracing::warn!(target: "log", "MPEG: Using bitrate to estimate duration");
            tracing::warn!(target: "log", "ID3v2: bad frame");
            tracing::error!("IncompleteMessage in our own code");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("IncompleteMessage)"), "{text}");
        assert!(!text.contains("ConnectionReset"), "{text}");
        assert!(!text.contains("estimate duration"), "{text}");
        assert!(text.contains("Parse(Header)"), "{text}");
        assert!(text.contains("ID3v2: bad frame"), "{text}");
        assert!(text.contains("in our own code"), "{text}");
    }
}
