//! Probes the files named on the command line and prints what Cadenza would store,
//! or why it would refuse each one: `cargo run -p cadenza-media --example probe -- FILE...`

use std::path::Path;

use cadenza_media::{probe_file, resolve_tags, Tags};

fn main() {
    let mut refused = false;
    for arg in std::env::args_os().skip(1) {
        let path = Path::new(&arg);
        match probe_file(path) {
            Ok(probe) => {
                let name = path.file_name().and_then(|name| name.to_str());
                let tags = resolve_tags(&probe.tags, &Tags::default(), name);
                println!(
                    "{}: {} {} ms, {:?} kbit/s, {:?} Hz, {:?} ch | {} - {} - {} | track {:?} disc {:?} year {:?} genre {:?} | cover {:?} | missing {:?}",
                    path.display(),
                    probe.codec,
                    probe.duration_ms,
                    probe.bitrate_kbps,
                    probe.sample_rate,
                    probe.channels,
                    tags.artist,
                    tags.album,
                    tags.title,
                    tags.track,
                    tags.disc,
                    tags.year,
                    tags.genre,
                    probe.cover.map(|cover| (cover.content_type, cover.bytes.len())),
                    tags.missing,
                );
            }
            Err(error) => {
                refused = true;
                println!("{}: REFUSED {}: {error}", path.display(), error.code());
            }
        }
    }
    std::process::exit(i32::from(refused));
}
