//! Decodes every accepted fixture through the player's own decoder and checks that the tone
//! the manifest promises is really in the samples (so playback decodes, not merely runs),
//! read from disk and streamed back from a server the admin CLI ingested it into.

use std::time::Duration;

use cadenza::audio::decoder::Decoded;
use cadenza::track::Track;
use cadenza_api::PageRequest;
use cadenza_fixtures::GoodFile;
use symphonia::core::io::MediaSource;

/// Power of `freq` in `samples` (mono, at `rate`), by the Goertzel algorithm.
fn goertzel(samples: &[f32], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (samples.len() as f64).powi(2)
}

/// Decodes a whole stream through the player's decoder and mixes it down to mono.
fn decode_mono(source: Box<dyn MediaSource>, hint: Option<&str>, what: &str) -> (Vec<f32>, u32) {
    let mut decoded = Decoded::open(source, hint).unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut mono = Vec::new();
    let mut rate = 0;
    while let Some((format, chunk)) = decoded.next_chunk() {
        rate = format.rate;
        let channels = usize::from(format.channels);
        mono.extend(
            chunk
                .chunks(channels)
                .map(|frame| frame.iter().sum::<f32>() / channels as f32),
        );
    }
    assert!(
        decoded.failure().is_none(),
        "{what}: {:?}",
        decoded.failure()
    );
    (mono, rate)
}

fn decode_file(path: &std::path::Path) -> (Vec<f32>, u32) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ext = path.extension().and_then(|e| e.to_str());
    decode_mono(Box::new(file), ext, &path.display().to_string())
}

/// The decoded audio is as long as the manifest says and holds its tone, and no other.
fn assert_tone(file: &GoodFile, samples: &[f32], rate: u32) {
    let seconds = samples.len() as f64 / f64::from(rate);
    let expected = file.duration_ms as f64 / 1000.0;
    let tolerance = (file.duration_tolerance_ms as f64 / 1000.0).max(0.1);
    assert!(
        (seconds - expected).abs() <= tolerance,
        "{}: decoded {seconds:.3} s, manifest says {expected:.3} s",
        file.path
    );
    // Look inside the tone, away from fades at its edges.
    let start = (file.tone_start_ms as f64 / 1000.0 + 0.2) * f64::from(rate);
    let end = (file.tone_end_ms as f64 / 1000.0 - 0.2) * f64::from(rate);
    let window = &samples[start as usize..(end as usize).min(samples.len())];
    let tone = f64::from(file.tone_hz);
    let power = goertzel(window, rate, tone);
    for other in [tone * 0.75, tone * 1.25, tone * 1.5] {
        let off = goertzel(window, rate, other);
        assert!(
            power > off * 100.0,
            "{}: power at {tone} Hz is {power:e}, at {other} Hz {off:e}",
            file.path
        );
    }
    assert!(
        power > 1e-4,
        "{}: the tone is missing ({power:e})",
        file.path
    );
}

#[test]
fn every_accepted_fixture_decodes_to_its_tone() {
    let manifest = cadenza_fixtures::load_manifest().expect("fixture manifest");
    let mut checked = 0;
    for file in manifest.good_files() {
        eprintln!("decoding {}", file.path);
        let (samples, rate) = decode_file(&file.absolute_path());
        assert_tone(file, &samples, rate);
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} fixtures were checked");
}

/// The whole way a listener gets a song: `cadenza-admin ingest` uploads the fixture
/// library to a real server, and every song, streamed back, decodes to its tone through
/// the player's decoder (with the hint the player gives it).
#[test]
fn every_fixture_ingested_by_cadenza_admin_streams_back_and_decodes_to_its_tone() {
    let manifest = cadenza_fixtures::load_manifest().expect("fixture manifest");
    let server = cadenza_tests::Server::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let client = runtime.block_on(server.admin());
    let token = client.token().expect("a token").to_string();
    let audio = cadenza_fixtures::fixtures_dir().join("audio");
    let ingest = cadenza_tests::admin_cli(&server, &token, &["ingest", audio.to_str().unwrap()]);
    assert!(
        ingest.status.success(),
        "{}",
        String::from_utf8_lossy(&ingest.stdout)
    );
    let page = PageRequest {
        limit: 200,
        offset: 0,
    };
    let songs = runtime.block_on(client.songs(page)).expect("songs").items;
    assert_eq!(songs.len(), manifest.good_files().count());
    for file in manifest.good_files() {
        let song = songs
            .iter()
            .find(|s| s.title == file.title && s.artist == file.artist)
            .unwrap_or_else(|| panic!("{} was not ingested", file.path));
        let bytes = runtime
            .block_on(async { client.stream_song(song.id, None).await?.bytes().await })
            .unwrap_or_else(|e| panic!("streaming {}: {e}", file.path));
        assert_eq!(bytes.len() as u64, file.size_bytes, "{}", file.path);
        let hint = Track::from_song(song).format_hint().to_string();
        let source = Box::new(std::io::Cursor::new(bytes.to_vec()));
        let (samples, rate) = decode_mono(source, Some(&hint), &file.path);
        assert_tone(file, &samples, rate);
    }
}

/// Holding → runs off the end of a track: that ends it like playing to the end would,
/// for every container (symphonia's FLAC reader refuses a seek to the last sample).
#[test]
fn seeking_to_or_past_the_end_ends_the_track_without_an_error() {
    let manifest = cadenza_fixtures::load_manifest().expect("fixture manifest");
    for good in manifest.good_files() {
        let path = good.absolute_path();
        for past in [Duration::ZERO, Duration::from_secs(5)] {
            let file = std::fs::File::open(&path).expect("open fixture");
            let ext = path.extension().and_then(|e| e.to_str()).map(str::to_owned);
            let mut decoded = Decoded::open(Box::new(file), ext.as_deref()).expect("open");
            let end = decoded.duration().unwrap_or(good.duration()) + past;
            decoded
                .seek(end)
                .unwrap_or_else(|e| panic!("{}: seek to {end:?}: {e}", good.path));
            assert!(
                decoded.next_chunk().is_none(),
                "{}: audio after the end",
                good.path
            );
            assert!(
                decoded.failure().is_none(),
                "{}: {:?}",
                good.path,
                decoded.failure()
            );
        }
    }
}
