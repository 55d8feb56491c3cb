//! Decodes every accepted fixture through the player's own decoder and checks that the tone
//! the manifest promises is really in the samples (so playback decodes, not merely runs).

use std::time::Duration;

use cadenza::audio::decoder::Decoded;

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

/// Decodes the whole file and mixes it down to mono.
fn decode_mono(path: &std::path::Path) -> (Vec<f32>, u32, Option<Duration>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_owned);
    let mut decoded = Decoded::open(Box::new(file), ext.as_deref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let duration = decoded.duration();
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
        "{}: {:?}",
        path.display(),
        decoded.failure()
    );
    (mono, rate, duration)
}

#[test]
fn every_accepted_fixture_decodes_to_its_tone() {
    let manifest = cadenza_fixtures::load_manifest().expect("fixture manifest");
    let mut checked = 0;
    for file in manifest.good_files() {
        let path = cadenza_fixtures::fixtures_dir().join(&file.path);
        eprintln!("decoding {}", file.path);
        let (samples, rate, _) = decode_mono(&path);
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
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} fixtures were checked");
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
