//! The catalog's databases as `/readyz` and `/metrics` show them (a PostgreSQL catalog's
//! primary and replicas; nothing for SQLite). The gauges are set at scrape time from the
//! catalog's own health check, in the registry `metrics.rs` renders.

use std::sync::atomic::AtomicU64;

use cadenza_api::CatalogDatabase;
use cadenza_catalog::CatalogNode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

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

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DatabaseLabels {
    database: String,
    role: &'static str,
}

/// A gauge's value for one database, if it has one.
type Value = fn(&CatalogNode) -> Option<f64>;

/// Registers the gauges of each database (up, serving reads, replica lag) in `registry`,
/// as the health check last saw them.
pub fn register(registry: &mut Registry, nodes: &[CatalogNode]) {
    if nodes.is_empty() {
        return;
    }
    let gauges: [(&str, &str, Value); 3] = [
        (
            "cadenza_catalog_database_up",
            "Whether a catalog database answered its last health check",
            |n| Some(f64::from(u8::from(n.up))),
        ),
        (
            "cadenza_catalog_database_serving_reads",
            "Whether catalog reads go to the database now",
            |n| Some(f64::from(u8::from(n.serving_reads))),
        ),
        (
            "cadenza_catalog_replica_lag_seconds",
            "How far a catalog replica is behind its primary, when known",
            |n| if n.primary { None } else { n.lag_seconds },
        ),
    ];
    for (name, help, value) in gauges {
        let family = Family::<DatabaseLabels, Gauge<f64, AtomicU64>>::default();
        for node in nodes {
            if let Some(v) = value(node) {
                let labels = DatabaseLabels {
                    database: node.name.clone(),
                    role: role(node),
                };
                family.get_or_create(&labels).set(v);
            }
        }
        registry.register(name, help, family);
    }
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
        let text = crate::metrics::Metrics::new().render(&[], &nodes);
        assert!(text.contains(
            "cadenza_catalog_database_up{database=\"db1:5432/cadenza\",role=\"primary\"} 0"
        ));
        assert!(text.contains(
            "cadenza_catalog_replica_lag_seconds{database=\"db\\\"2:5432/cadenza\",role=\"replica\"} 0.25"
        ));
        assert!(!text.contains("lag_seconds{database=\"db1"), "{text}");
        let none = crate::metrics::Metrics::new().render(&[], &[]);
        assert!(!none.contains("cadenza_catalog_"), "{none}");
        assert_eq!(database(&nodes[1]).role, "replica");
    }
}
