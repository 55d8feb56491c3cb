//! Runs the real `cadenza-capacity` binary the way an engineer would.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cadenza-capacity"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 errors")
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("valid JSON")
}

/// The line of the text table that starts with `key`, and the one after it.
fn table_row<'a>(table: &'a str, key: &str) -> (&'a str, &'a str) {
    let lines: Vec<&str> = table.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no row {key} in\n{table}"));
    (lines[at], lines.get(at + 1).copied().unwrap_or(""))
}

#[test]
fn default_table_shows_the_classic_numbers_with_their_formulas() {
    let table = ok(&[]);
    let (row, with_values) = table_row(&table, "raw_audio");
    assert!(
        row.contains("500 TB") && row.contains("songs × song_size"),
        "{row}"
    );
    assert!(
        with_values.contains("= 100,000,000 × 5 MB"),
        "{with_values}"
    );
    let (row, with_values) = table_row(&table, "replicated_audio");
    assert!(row.contains("1.5 PB"), "{row}");
    assert!(with_values.contains("= 500 TB × 3"), "{with_values}");
    assert!(table_row(&table, "song_metadata").0.contains("10 GB"));
    assert!(table_row(&table, "user_metadata").0.contains("1 TB"));
    assert!(table_row(&table, "listening_hour").0.contains("72 MB"));
    assert!(table_row(&table, "web_servers").0.contains("167"));
    // Columns line up: every output's formula starts in the same column.
    let formula_columns: Vec<usize> = [
        ("raw_audio", "songs × song_size"),
        ("storage_nodes", "max(ceil("),
        ("daily_streams", "daily_active_users × streams_per_dau"),
        ("web_servers", "max(servers_for_bandwidth"),
    ]
    .iter()
    .map(|(key, formula)| table_row(&table, key).0.find(formula).unwrap())
    .collect();
    assert!(
        formula_columns.windows(2).all(|w| w[0] == w[1]),
        "{formula_columns:?}\n{table}"
    );
    assert!(table.contains("Projection: users +20% a year"));
}

#[test]
fn json_carries_exact_values_and_formulas() {
    let report = json(&["--json"]);
    let output = |key: &str| {
        report["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["key"] == key)
            .unwrap_or_else(|| panic!("no {key}"))
            .clone()
    };
    assert_eq!(output("raw_audio")["exact"], "500000000000000");
    assert_eq!(output("replicated_audio")["exact"], "1500000000000000");
    assert_eq!(output("song_metadata")["exact"], "10000000000");
    assert_eq!(output("user_metadata")["exact"], "1000000000000");
    assert_eq!(
        output("replicated_audio")["value"],
        1_500_000_000_000_000u64
    );
    assert_eq!(output("replicated_audio")["unit"], "B");
    assert_eq!(
        output("replicated_audio")["formula"],
        "raw_audio × replication"
    );
    assert_eq!(
        output("replicated_audio")["inputs"][1]["name"],
        "replication"
    );
    // Fractions stay exact: 42 PB/day is 35e15/9000 bit/s.
    assert_eq!(output("avg_cdn_bandwidth")["exact"], "35000000000000/9");
    assert_eq!(report["projection"]["rows"].as_array().unwrap().len(), 4);
    assert_eq!(report["inputs"][0]["key"], "users");
    assert_eq!(report["inputs"][0]["origin"], "default");
}

#[test]
fn bad_input_exits_2_and_names_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--cdn-hit-ratio", "1.5"],
            "--cdn-hit-ratio: '1.5' is above 1; give a ratio between 0 and 1",
        ),
        (&["--users", "-5"], "--users: '-5' is negative"),
        (
            &["--song-size", "5 furlongs"],
            "--song-size: '5 furlongs' has an unknown unit",
        ),
        (&["--server-egress", "0"], "--server-egress: '0' is zero"),
        (&["--set", "usres=5"], "did you mean 'users'"),
        (&["--sweep", "users=1..10"], "--sweep users"),
        (
            &["--scenario", "/nonexistent/plan.toml"],
            "cannot read scenario file /nonexistent/plan.toml",
        ),
        (&["--users"], "a value is required"),
        (&["--json", "--markdown"], "cannot be used with"),
    ];
    for (args, message) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(stdout(&out).is_empty(), "{args:?} printed a report");
    }
}

#[test]
fn sweep_prints_how_outputs_grow() {
    let table = ok(&["--sweep", "users=1e6..1e9:x10"]);
    assert!(
        table.contains("Sweep of users from 1,000,000 to 1,000,000,000, ×10 per step"),
        "{table}"
    );
    let (header, _) = table_row(&table, "users");
    for users in ["1,000,000", "10,000,000", "100,000,000", "1,000,000,000"] {
        assert!(header.contains(users), "{header}");
    }
    let (servers, _) = table_row(&table, "web_servers");
    let counts: Vec<u64> = servers
        .split_whitespace()
        .skip(1)
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(counts, [1, 2, 17, 167], "{servers}");
    assert!(servers.trim_end().ends_with("×167"), "{servers}");
    // Storage does not depend on users: listed once, not per step.
    assert!(
        table.contains("Unchanged: replicated_audio 1.5 PB"),
        "{table}"
    );

    let report = json(&["--sweep", "replication=1.5,2,3", "--json"]);
    let rows = report["sweep"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["replication"]["exact"], "1.5");
    assert_eq!(
        rows[0]["values"]["replicated_audio"]["exact"],
        "750000000000000"
    );
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn toml_scenario_with_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "launch.toml",
        "name = \"Cadenza launch\"\nusers = \"2M\"\nsongs = 500_000\nsong_size = \"7 MB\"\ncdn_hit_ratio = 0.95\n",
    );
    let table = ok(&["--scenario", &file, "--set", "replication=2"]);
    assert!(
        table.starts_with("Capacity estimate: Cadenza launch"),
        "{table}"
    );
    // 500,000 songs × 7 MB = 3.5 TB; × 2 = 7 TB.
    assert!(
        table_row(&table, "raw_audio").0.contains("3.5 TB"),
        "{table}"
    );
    assert!(
        table_row(&table, "replicated_audio").0.contains("7 TB"),
        "{table}"
    );
    let (users, _) = table_row(&table, "users");
    assert!(
        users.contains("2,000,000") && users.contains("scenario"),
        "{users}"
    );
    assert!(table_row(&table, "replication").0.contains("--set"));

    let bad = write(dir.path(), "bad.toml", "cdn_hit_ratio = 1.5\n");
    let out = run(&["--scenario", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.toml: cdn_hit_ratio: '1.5' is above 1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn printed_scenario_reproduces_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--users",
        "3M",
        "--song-size",
        "4.5MiB",
        "--dau-share",
        "1/3",
    ];
    let mut print = args.to_vec();
    print.push("--print-scenario");
    let file = write(dir.path(), "saved.toml", &ok(&print));
    let mut direct = args.to_vec();
    direct.push("--json");
    let from_flags = json(&direct);
    let from_file = json(&["--scenario", &file, "--json"]);
    assert_eq!(from_flags["outputs"], from_file["outputs"]);
    assert_eq!(from_flags["projection"], from_file["projection"]);
}

#[test]
fn markdown_and_iec() {
    let md = ok(&["--markdown"]);
    assert!(md.starts_with("# Capacity estimate: Spotify-scale defaults"));
    assert!(md.contains("## Storage") && md.contains("## Servers"));
    assert!(
        md.contains("**1.5 PB**") && md.contains("`raw_audio × replication`"),
        "{md}"
    );
    let iec = ok(&["--iec"]);
    assert!(
        table_row(&iec, "replicated_audio").0.contains("1.33 PiB"),
        "{iec}"
    );
    assert!(iec.contains("Units: IEC"));
}

#[test]
fn help_lists_defaults_and_sources() {
    let help = ok(&["--help"]);
    assert!(help.contains("--cdn-hit-ratio <RATIO>"));
    assert!(help.contains("[default: 90%;"));
    assert!(help.contains("[default: 160 kbit/s; Spotify's 'high' quality"));
    assert!(help.contains("Exit status: 0 ok, 2 bad input"));
}

#[test]
fn shipped_example_scenario_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/indie-launch.toml");
    let table = ok(&["--scenario", path]);
    assert!(
        table.starts_with("Capacity estimate: Indie launch"),
        "{table}"
    );
    // 2M songs × 9 MB = 18 TB; 54 TB over 4 TB × 85% nodes = 16 nodes.
    assert!(
        table_row(&table, "raw_audio").0.contains("18 TB"),
        "{table}"
    );
    assert!(
        table_row(&table, "storage_nodes").0.contains("16"),
        "{table}"
    );
}
