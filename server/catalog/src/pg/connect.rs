//! Connection strings: parsed into client settings with Cadenza's defaults, and a name for
//! each database that is safe to print (hosts, ports and database, never the password).

use crate::{CatalogError, CatalogResult};
use postgres::config::{Host, TargetSessionAttrs};
use std::time::Duration;

/// How long connecting may take before a node counts as unreachable (unless the
/// connection string sets `connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A database to connect to.
pub(crate) struct Target {
    pub(crate) config: postgres::Config,
    /// `host:port/database`, for logs, errors and metrics.
    pub(crate) name: String,
}

/// Parses a `postgres://` URL or a `key=value` connection string. The primary's sessions
/// must be able to write: unless the string says otherwise, `target_session_attrs` is
/// `read-write`, so a string listing several hosts finds whichever is the primary now.
pub(crate) fn target(connection: &str, primary: bool) -> CatalogResult<Target> {
    let mut config: postgres::Config = connection.parse().map_err(|e| {
        CatalogError::Invalid(format!(
            "the catalog connection string is not valid ({e}); write \
             postgres://USER:PASSWORD@HOST:PORT/DATABASE"
        ))
    })?;
    if config.get_hosts().is_empty() {
        config.host("localhost");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("cadenza-server");
    }
    if primary && !connection.contains("target_session_attrs") {
        config.target_session_attrs(TargetSessionAttrs::ReadWrite);
    }
    let name = name(&config);
    Ok(Target { config, name })
}

/// `host:port[,host:port...]/database`.
pub(crate) fn name(config: &postgres::Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports
                .get(i)
                .or_else(|| (ports.len() == 1).then(|| &ports[0]))
                .copied()
                .unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    let database = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{}/{database}", hosts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_hold_the_password() {
        let t = target("postgres://cadenza:hunter2@db.example:6543/music", true).unwrap();
        assert_eq!(t.name, "db.example:6543/music");
        assert_eq!(
            t.config.get_target_session_attrs(),
            TargetSessionAttrs::ReadWrite
        );
        let t = target("host=a,b port=1,2 dbname=x password=hunter2", false).unwrap();
        assert_eq!(t.name, "a:1,b:2/x");
        assert_eq!(t.config.get_target_session_attrs(), TargetSessionAttrs::Any);
        let t = target("postgres://u@h/d?target_session_attrs=any", true).unwrap();
        assert_eq!(t.config.get_target_session_attrs(), TargetSessionAttrs::Any);
        let err = target("postgres://u:hunter2@h:notaport/d", true)
            .err()
            .unwrap();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("postgres://USER"), "{err}");
    }
}
