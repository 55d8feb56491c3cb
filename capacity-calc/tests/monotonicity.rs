//! Property tests: changing one input in one direction moves each output in
//! the expected direction (or leaves it alone), over many random scenarios.
//!
//! A seeded generator stands in for a property-testing crate: the cases are
//! random but the same on every run (ChaCha8's output does not change with rand's
//! version), so a failure always reproduces.

use cadenza_capacity::{evaluate, input, project, Assumptions, Ratio, INPUTS, OUTPUTS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Spread over orders of magnitude in `lo..=hi`: pick a digit count, then a value with
/// that many digits.
fn log_range(rng: &mut ChaCha8Rng, lo: u64, hi: u64) -> u64 {
    let lo_digits = lo.checked_ilog10().unwrap_or(0);
    let d = rng.random_range(lo_digits..=hi.ilog10());
    let low = if d == lo_digits { lo } else { 10u64.pow(d) };
    let high = hi.min(10u64.pow(d + 1) - 1);
    rng.random_range(low..=high)
}

fn frac(n: u64, d: u64) -> Ratio {
    Ratio::new(u128::from(n), u128::from(d)).unwrap()
}

/// A random valid value for each input, in realistic but wide ranges.
fn random_value(key: &str, rng: &mut ChaCha8Rng) -> Ratio {
    let int = |n: u64| Ratio::from(n);
    match key {
        "users" => int(log_range(rng, 0, 10_000_000_000)),
        "dau_share" => frac(rng.random_range(0..=1000), 1000),
        "songs" => int(log_range(rng, 0, 1_000_000_000)),
        "song_size" => int(log_range(rng, 1, 100_000_000)),
        "replication" => frac(rng.random_range(4..=16), 4),
        "metadata_per_song" => int(log_range(rng, 0, 10_000)),
        "metadata_per_user" => int(log_range(rng, 0, 100_000)),
        "metadata_replication" => int(rng.random_range(1..=5)),
        "node_disk" => int(log_range(rng, 1_000_000_000, 100_000_000_000_000)),
        "disk_fill" => frac(rng.random_range(1..=100), 100),
        "streams_per_dau" => frac(rng.random_range(0..=200), 2),
        "searches_per_dau" => frac(rng.random_range(0..=100), 2),
        "song_length" => int(rng.random_range(1..=1_000)),
        "bitrate" => int(rng.random_range(8_000..=1_000_000)),
        "peak_factor" => frac(rng.random_range(10..=60), 10),
        "cdn_hit_ratio" => frac(rng.random_range(0..=1000), 1000),
        "server_egress" => int(log_range(rng, 100_000_000, 100_000_000_000)),
        "server_rps" => int(log_range(rng, 100, 100_000)),
        "headroom" => frac(rng.random_range(0..=95), 100),
        "user_growth" | "catalog_growth" => frac(rng.random_range(0..=100), 100),
        "years" => int(rng.random_range(0..=5)),
        other => panic!("no generator for input {other}"),
    }
}

fn random_assumptions(rng: &mut ChaCha8Rng) -> Assumptions {
    let mut a = Assumptions::default();
    for spec in INPUTS {
        spec.set(&mut a, random_value(spec.key, rng));
    }
    a
}

const TRAFFIC: &[&str] = &[
    "daily_streams",
    "daily_egress",
    "avg_cdn_bandwidth",
    "peak_cdn_bandwidth",
    "avg_origin_bandwidth",
    "peak_origin_bandwidth",
];
const SERVERS: &[&str] = &[
    "servers_for_bandwidth",
    "servers_for_requests",
    "web_servers",
];

/// Raising `input` may raise `up` outputs and lower `down` outputs, and must
/// leave every other output exactly as it was.
struct Law {
    input: &'static str,
    up: Vec<&'static str>,
    down: Vec<&'static str>,
}

fn law(input: &'static str, up: &[&[&'static str]], down: &[&'static str]) -> Law {
    Law {
        input,
        up: up.iter().flat_map(|group| group.iter().copied()).collect(),
        down: down.to_vec(),
    }
}

fn laws() -> Vec<Law> {
    let bandwidth_servers: &[&str] = &["servers_for_bandwidth", "web_servers"];
    let request_servers: &[&str] = &["servers_for_requests", "web_servers"];
    vec![
        law(
            "users",
            &[
                &[
                    "user_metadata",
                    "user_metadata_replicated",
                    "daily_active_users",
                ],
                TRAFFIC,
                &["peak_stream_starts", "peak_search_qps"],
                SERVERS,
            ],
            &[],
        ),
        law(
            "dau_share",
            &[
                &[
                    "daily_active_users",
                    "peak_stream_starts",
                    "peak_search_qps",
                ],
                TRAFFIC,
                SERVERS,
            ],
            &[],
        ),
        law(
            "songs",
            &[&[
                "raw_audio",
                "replicated_audio",
                "song_metadata",
                "song_metadata_replicated",
                "storage_nodes",
            ]],
            &[],
        ),
        law(
            "song_size",
            &[&["raw_audio", "replicated_audio", "storage_nodes"]],
            &[],
        ),
        law(
            "replication",
            &[&["replicated_audio", "storage_nodes"]],
            &[],
        ),
        law(
            "metadata_per_song",
            &[&["song_metadata", "song_metadata_replicated"]],
            &[],
        ),
        law(
            "metadata_per_user",
            &[&["user_metadata", "user_metadata_replicated"]],
            &[],
        ),
        law(
            "metadata_replication",
            &[&["song_metadata_replicated", "user_metadata_replicated"]],
            &[],
        ),
        law("node_disk", &[], &["storage_nodes"]),
        law("disk_fill", &[], &["storage_nodes"]),
        law(
            "streams_per_dau",
            &[TRAFFIC, &["peak_stream_starts"], SERVERS],
            &[],
        ),
        law(
            "searches_per_dau",
            &[&["peak_search_qps"], request_servers],
            &[],
        ),
        law(
            "song_length",
            &[&["stream_size"], &TRAFFIC[1..], bandwidth_servers],
            &[],
        ),
        law(
            "bitrate",
            &[
                &["stream_size", "listening_hour"],
                &TRAFFIC[1..],
                bandwidth_servers,
            ],
            &[],
        ),
        law(
            "peak_factor",
            &[
                &[
                    "peak_cdn_bandwidth",
                    "peak_origin_bandwidth",
                    "peak_stream_starts",
                    "peak_search_qps",
                ],
                SERVERS,
            ],
            &[],
        ),
        law(
            "cdn_hit_ratio",
            &[],
            &[
                "avg_origin_bandwidth",
                "peak_origin_bandwidth",
                "servers_for_bandwidth",
                "web_servers",
            ],
        ),
        law(
            "server_egress",
            &[],
            &["servers_for_bandwidth", "web_servers"],
        ),
        law("server_rps", &[], &["servers_for_requests", "web_servers"]),
        law("headroom", &[SERVERS], &[]),
        // Growth only shapes the projection, never today's numbers.
        law("user_growth", &[], &[]),
        law("catalog_growth", &[], &[]),
        law("years", &[], &[]),
    ]
}

#[test]
fn every_input_has_a_law() {
    let laws = laws();
    for spec in INPUTS {
        assert!(
            laws.iter().any(|l| l.input == spec.key),
            "no law for {}",
            spec.key
        );
    }
    for l in &laws {
        assert!(input(l.input).is_some(), "{}", l.input);
        for name in l.up.iter().chain(&l.down) {
            assert!(OUTPUTS.iter().any(|o| o.key == *name), "{name}");
        }
    }
}

#[test]
fn each_input_moves_outputs_only_in_its_direction() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5EED_CAFE);
    for law in laws() {
        let spec = input(law.input).unwrap();
        for case in 0..250 {
            let base = random_assumptions(&mut rng);
            let x = random_value(law.input, &mut rng);
            let y = random_value(law.input, &mut rng);
            let (low, high) = if x <= y { (x, y) } else { (y, x) };
            let mut a = base.clone();
            spec.set(&mut a, low);
            let mut b = base;
            spec.set(&mut b, high);
            let before = evaluate(&a).unwrap_or_else(|e| panic!("{a:?}: {e}"));
            let after = evaluate(&b).unwrap_or_else(|e| panic!("{b:?}: {e}"));
            for (o1, o2) in before.iter().zip(&after) {
                let key = o1.key();
                let context = || {
                    format!(
                        "{} {low:?} -> {high:?} (case {case}): {key} {:?} -> {:?}",
                        law.input, o1.value, o2.value
                    )
                };
                if law.up.contains(&key) {
                    assert!(o2.value >= o1.value, "fell: {}", context());
                } else if law.down.contains(&key) {
                    assert!(o2.value <= o1.value, "rose: {}", context());
                } else {
                    assert_eq!(o1.value, o2.value, "changed: {}", context());
                }
            }
        }
    }
}

#[test]
fn more_users_never_need_fewer_servers() {
    // A dense grid of user counts over nine orders of magnitude, for many
    // random scenarios: the server count never drops as users grow.
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let users: Vec<u64> = (0..10)
        .chain((0..=8).flat_map(|e| (10..=99).map(move |m| m * 10u64.pow(e))))
        .collect();
    assert!(users.windows(2).all(|w| w[0] < w[1]));
    for _ in 0..20 {
        let base = random_assumptions(&mut rng);
        let mut last = Ratio::ZERO;
        for &n in &users {
            let a = Assumptions {
                users: n,
                ..base.clone()
            };
            let outputs = evaluate(&a).unwrap();
            let servers = outputs
                .iter()
                .find(|o| o.key() == "web_servers")
                .unwrap()
                .value;
            assert!(
                servers >= last,
                "{n} users need {servers:?} < {last:?} servers"
            );
            last = servers;
        }
    }
}

#[test]
fn projections_never_shrink() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for _ in 0..200 {
        let base = random_assumptions(&mut rng);
        let series = project(&base).unwrap();
        for pair in series.rows.windows(2) {
            for name in [
                "users",
                "songs",
                "storage_nodes",
                "replicated_audio",
                "web_servers",
                "peak_origin_bandwidth",
            ] {
                let (a, b) = (
                    pair[0].get(name).unwrap().value,
                    pair[1].get(name).unwrap().value,
                );
                assert!(b >= a, "{name} fell from {a:?} to {b:?} in {base:?}");
            }
        }
    }
}
