//! The catalog's databases as `/readyz` and `/metrics` show them (a PostgreSQL catalog's
//! primary and replicas; nothing for SQLite). Kept apart from `metrics.rs`: these lines
//! are rendered from the catalog's own health check at scrape time, not counted here.

use std::fmt::Write;

use cadenza_api::CatalogDatabase;
use cadenza_catalog::CatalogNode;

pub fn database(node: &CatalogNode) -> CatalogDatabase {
    CatalogDatabase {
        name: node.name.clone(),
        role: role(node).into(),
        up: node.up,
        lag_seconds: node.lag_seconds,
        serving_reads: node.serving_reads,
        error: node.error.clone(),
    }
}

fn role(node: &CatalogNode) -> &'static str {
    if node.primary {
        "primary"
    } else {
        "replica"
    }
}

/// A gauge's value for one database, if it has one.
type Gauge = fn(&CatalogNode) -> Option<f64>;

/// Prometheus text lines: up, serving reads and lag for each database.
pub fn metrics(nodes: &[CatalogNode]) -> String {
    let mut out = String::new();
    if nodes.is_empty() {
        return out;
    }
    let gauges: [(&str, &str, Gauge); 3] = [
        (
            "cadenza_catalog_database_up",
            "Whether a catalog database answered its last health check.",
            |n| Some(f64::from(u8::from(n.up))),
        ),
        (
            "cadenza_catalog_database_serving_reads",
            "Whether catalog reads go to the database now.",
            |n| Some(f64::from(u8::from(n.serving_reads))),
        ),
        (
            "cadenza_catalog_replica_lag_seconds",
            "How far a catalog replica is behind its primary, when known.",
            |n| if n.primary { None } else { n.lag_seconds },
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for node in nodes {
            if let Some(v) = value(node) {
                let _ = writeln!(
                    out,
                    "{name}{{database=\"{}\",role=\"{}\"}} {v}",
                    escape(&node.name),
                    role(node)
                );
            }
        }
    }
    out
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_database_gets_its_lines() {
        let nodes = [
            CatalogNode {
                name: "db1:5432/cadenza".into(),
                primary: true,
                up: false,
                lag_seconds: None,
                serving_reads: false,
                error: Some("refused".into()),
            },
            CatalogNode {
                name: "db\"2:5432/cadenza".into(),
                primary: false,
                up: true,
                lag_seconds: Some(0.25),
                serving_reads: true,
                error: None,
            },
        ];
        let text = metrics(&nodes);
        assert!(text.contains(
            "cadenza_catalog_database_up{database=\"db1:5432/cadenza\",role=\"primary\"} 0"
        ));
        assert!(text.contains(
            "cadenza_catalog_replica_lag_seconds{database=\"db\\\"2:5432/cadenza\",role=\"replica\"} 0.25"
        ));
        assert!(!text.contains("lag_seconds{database=\"db1"), "{text}");
        assert!(metrics(&[]).is_empty());
        assert_eq!(database(&nodes[1]).role, "replica");
    }
}
