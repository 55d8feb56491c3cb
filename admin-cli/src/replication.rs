//! `replication check [--deep] [--repair]`: the server's replication report, with progress.

use anyhow::{Context, Result};
use cadenza_api::{BlobHealth, Client, ReplicaState, ReplicationReport, ReplicationRequest};

use crate::cli::CheckArgs;
use crate::errors::Outcome;
use crate::say;
use crate::ui;

pub async fn check(client: &Client, args: &CheckArgs, json: bool) -> Result<Outcome> {
    let bar = ui::count_bar(0, "blobs");
    let request = ReplicationRequest {
        deep: args.deep,
        repair: args.repair,
    };
    let report = client
        .replication(request, |checked, total| {
            bar.set_length(total);
            bar.set_position(checked);
        })
        .await
        .context("the replication check failed")?;
    bar.finish_and_clear();

    if json {
        ui::print_json(&report)?;
    } else {
        say!("{}", render(&report).trim_end());
    }
    let lost = lost_hashes(&report);
    if !lost.is_empty() {
        eprintln!("{}", lost_warning(&lost));
    }
    Ok(outcome(&report))
}

/// `volumes drain NAME`: the drain's report (a repair's), with progress.
pub async fn drain(client: &Client, name: &str, json: bool) -> Result<Outcome> {
    let bar = ui::count_bar(0, "blobs");
    let report = client
        .drain_volume(name, |checked, total| {
            bar.set_length(total);
            bar.set_position(checked);
        })
        .await
        .with_context(|| format!("draining volume {name} failed"))?;
    bar.finish_and_clear();
    if json {
        ui::print_json(&report)?;
    } else {
        say!("{}", render(&report).trim_end());
    }
    let kept = report.drained.as_ref().map_or(0, |d| d.kept);
    match outcome(&report) {
        Outcome::Success if kept == 0 => Ok(Outcome::Success),
        _ => Ok(Outcome::SomeFailed),
    }
}

/// 1 when something still needs attention: any unhealthy blob without `--repair`, or
/// with it, anything the repair could not fix.
pub fn outcome(report: &ReplicationReport) -> Outcome {
    let unsafe_blobs = report
        .problems
        .iter()
        .any(|p| matches!(p.health, BlobHealth::UnderReplicated | BlobHealth::Lost));
    let failed = if report.repair {
        report.lost > 0 || !report.unrepairable.is_empty()
    } else {
        unsafe_blobs
            || report.lost > 0
            || report.corrupt_replicas > 0
            || report.missing_replicas > 0
    };
    if failed {
        Outcome::SomeFailed
    } else {
        Outcome::Success
    }
}

/// Blobs with no healthy replica left.
fn lost_hashes(report: &ReplicationReport) -> Vec<String> {
    let mut lost: Vec<String> = report
        .problems
        .iter()
        .filter(|p| p.health == BlobHealth::Lost)
        .map(|p| match &p.used_by {
            Some(used_by) => format!("{} ({used_by})", p.hash),
            None => p.hash.clone(),
        })
        .collect();
    for hash in &report.unrepairable {
        if !lost.iter().any(|l| l.starts_with(hash.as_str())) {
            lost.push(hash.clone());
        }
    }
    lost
}

fn lost_warning(lost: &[String]) -> String {
    let mut text = format!(
        "\n!!! DATA LOSS: {} {} no healthy replica on any volume and cannot be repaired.\n!!! Restore {} from a backup or ingest the original files again:\n",
        lost.len(),
        if lost.len() == 1 { "blob has" } else { "blobs have" },
        if lost.len() == 1 { "it" } else { "them" },
    );
    for blob in lost {
        text.push_str(&format!("!!!   {blob}\n"));
    }
    text
}

pub fn render(r: &ReplicationReport) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    let mode = if r.deep {
        "deep check (every replica re-hashed)"
    } else {
        "quick check (presence and size)"
    };
    line(format!(
        "Checked {} blobs, {mode}, replication factor {}.",
        r.blobs_checked, r.replication_factor
    ));
    let rows = [
        ("fully replicated", r.healthy),
        ("under-replicated", r.under_replicated),
        ("corrupt replicas", r.corrupt_replicas),
        ("missing replicas", r.missing_replicas),
        ("lost (no healthy replica)", r.lost),
        ("over-replicated", r.over_replicated),
        ("orphaned", r.orphaned),
    ];
    for (name, count) in rows {
        line(format!("  {name:<27}{count:>8}"));
    }
    if !r.volumes.is_empty() {
        line("Volumes:".into());
        for v in &r.volumes {
            let state = if v.reachable { "" } else { "  UNREACHABLE" };
            line(format!(
                "  {:<8} ok {:>7}  missing {:>5}  corrupt {:>5}  extra {:>5}{state}",
                v.name, v.ok, v.missing, v.corrupt, v.extra
            ));
        }
    }
    if !r.problems.is_empty() {
        line(format!("Problems ({}):", r.problems.len()));
        for p in &r.problems {
            let replicas: Vec<String> = p
                .replicas
                .iter()
                .map(|rep| format!("{} {}", rep.volume, state_name(rep.state)))
                .collect();
            line(format!(
                "  {} {:<16} {}  [{}]",
                short(&p.hash),
                health_name(p.health),
                p.used_by.as_deref().unwrap_or("unreferenced"),
                replicas.join(", ")
            ));
        }
    }
    if r.repair {
        if r.repaired.is_empty() {
            line("Repaired: nothing needed copying.".into());
        } else {
            line(format!("Repaired ({} copies):", r.repaired.len()));
            for a in &r.repaired {
                line(format!(
                    "  {} {} → {} (was {})",
                    short(&a.hash),
                    a.from_volume,
                    a.to_volume,
                    state_name(a.reason)
                ));
            }
        }
        if !r.unrepairable.is_empty() {
            line(format!("Could not repair ({}):", r.unrepairable.len()));
            for hash in &r.unrepairable {
                line(format!("  {hash}"));
            }
        }
    } else if outcome(r) == Outcome::SomeFailed {
        line(
            "Run again with --repair to copy healthy replicas over the missing and corrupt ones."
                .into(),
        );
    }
    if !r.leftovers.is_empty() {
        line(format!("Interrupted uploads ({}):", r.leftovers.len()));
        for l in &r.leftovers {
            let state = if l.removed {
                "removed"
            } else {
                "left; --repair removes it"
            };
            line(format!(
                "  {} on {}: {} ({} s old), {state}",
                short(&l.hash),
                l.volume,
                l.object,
                l.age_secs
            ));
        }
    }
    if let Some(d) = &r.drained {
        line(format!(
            "Drained {}: {} copies removed, {} kept.",
            d.volume, d.removed, d.kept
        ));
        if d.kept == 0 {
            line(format!(
                "Take {} out of the configuration, then run `cadenza-admin replication check --deep`.",
                d.volume
            ));
        }
    } else if r.is_clean() {
        line("All blobs are fully replicated.".into());
    }
    out
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn health_name(health: BlobHealth) -> &'static str {
    match health {
        BlobHealth::Healthy => "healthy",
        BlobHealth::UnderReplicated => "under-replicated",
        BlobHealth::Lost => "LOST",
        BlobHealth::OverReplicated => "over-replicated",
        BlobHealth::Orphaned => "orphaned",
    }
}

fn state_name(state: ReplicaState) -> &'static str {
    match state {
        ReplicaState::Ok => "ok",
        ReplicaState::Missing => "missing",
        ReplicaState::Corrupt => "corrupt",
        ReplicaState::Extra => "extra",
        ReplicaState::Unreachable => "unreachable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cadenza_api::{BlobProblem, RepairAction, ReplicaStatus, VolumeReport};

    fn clean() -> ReplicationReport {
        ReplicationReport {
            deep: true,
            repair: false,
            replication_factor: 3,
            blobs_checked: 4,
            healthy: 4,
            under_replicated: 0,
            corrupt_replicas: 0,
            missing_replicas: 0,
            lost: 0,
            over_replicated: 0,
            orphaned: 0,
            volumes: vec![VolumeReport {
                name: "vol1".into(),
                reachable: true,
                ok: 4,
                missing: 0,
                corrupt: 0,
                extra: 0,
            }],
            problems: vec![],
            repaired: vec![],
            unrepairable: vec![],
            leftovers: vec![],
            drained: None,
        }
    }

    fn problem(hash: &str, health: BlobHealth, state: ReplicaState) -> BlobProblem {
        BlobProblem {
            hash: hash.into(),
            size: 10,
            health,
            replicas: vec![
                ReplicaStatus {
                    volume: "vol1".into(),
                    state,
                },
                ReplicaStatus {
                    volume: "vol2".into(),
                    state: ReplicaState::Ok,
                },
            ],
            used_by: Some("song 1: Geyser".into()),
        }
    }

    fn damaged() -> ReplicationReport {
        ReplicationReport {
            healthy: 2,
            under_replicated: 2,
            corrupt_replicas: 1,
            missing_replicas: 1,
            problems: vec![
                problem(
                    "a".repeat(64).as_str(),
                    BlobHealth::UnderReplicated,
                    ReplicaState::Missing,
                ),
                problem(
                    "b".repeat(64).as_str(),
                    BlobHealth::UnderReplicated,
                    ReplicaState::Corrupt,
                ),
            ],
            ..clean()
        }
    }

    #[test]
    fn a_clean_report_exits_0() {
        assert_eq!(outcome(&clean()), Outcome::Success);
        assert!(render(&clean()).contains("All blobs are fully replicated."));
    }

    #[test]
    fn damage_without_repair_exits_1_and_lists_both() {
        let r = damaged();
        assert_eq!(outcome(&r), Outcome::SomeFailed);
        let text = render(&r);
        assert!(text.contains("vol1 missing"), "{text}");
        assert!(text.contains("vol1 corrupt"), "{text}");
        assert!(text.contains("--repair"), "{text}");
    }

    #[test]
    fn a_full_repair_exits_0() {
        let r = ReplicationReport {
            repair: true,
            repaired: vec![RepairAction {
                hash: "a".repeat(64),
                from_volume: "vol2".into(),
                to_volume: "vol1".into(),
                reason: ReplicaState::Missing,
            }],
            ..damaged()
        };
        assert_eq!(outcome(&r), Outcome::Success);
        assert!(render(&r).contains("vol2 → vol1 (was missing)"));
    }

    #[test]
    fn lost_blobs_exit_1_even_with_repair_and_are_shouted() {
        let lost = "c".repeat(64);
        let r = ReplicationReport {
            repair: true,
            lost: 1,
            problems: vec![problem(&lost, BlobHealth::Lost, ReplicaState::Corrupt)],
            unrepairable: vec![lost.clone()],
            leftovers: vec![],
            drained: None,
            ..clean()
        };
        assert_eq!(outcome(&r), Outcome::SomeFailed);
        let hashes = lost_hashes(&r);
        assert_eq!(hashes.len(), 1, "{hashes:?}");
        let warning = lost_warning(&hashes);
        assert!(warning.contains("DATA LOSS: 1 blob has"), "{warning}");
        assert!(warning.contains("song 1: Geyser"), "{warning}");
    }

    #[test]
    fn orphans_alone_do_not_fail_the_check() {
        let r = ReplicationReport {
            orphaned: 1,
            problems: vec![problem("d", BlobHealth::Orphaned, ReplicaState::Ok)],
            ..clean()
        };
        assert_eq!(outcome(&r), Outcome::Success);
    }
}
