//! A whole cluster for a test: `scripts/cluster.sh` itself (the command people run) on a
//! temp folder with free loopback ports and the binaries cargo built, stopped with
//! `cluster.sh down` when the guard drops (also when the test fails).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cadenza_api::Client;

use crate::{bin, profile_dir};

pub struct Cluster {
    dir: tempfile::TempDir,
    settings: Vec<(String, String)>,
    /// The edge's URL: the one address clients use.
    pub url: String,
}

/// The parts of a cluster, as `cluster.sh part` names them: the cadenza-server copies...
pub const SERVERS: [&str; 3] = ["web1", "web2", "web3"];
/// ...and the SeaweedFS servers, one volume each (R=3).
pub const SEAWEEDS: [&str; 3] = ["weed1", "weed2", "weed3"];

impl Cluster {
    /// `cluster.sh up` with `settings` (e.g. `("CLUSTER_CDN", "0")`) on a fresh folder.
    pub fn up(settings: &[(&str, &str)]) -> Cluster {
        // Builds the binaries the script runs, once per test process.
        bin("cadenza-server");
        let mut cluster = Cluster {
            dir: tempfile::tempdir().expect("temp dir for the cluster"),
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            url: String::new(),
        };
        cluster.start();
        cluster
    }

    /// `cluster.sh up` again on the same folder (after [`Self::down`]).
    pub fn start(&mut self) {
        let out = self.script(&["up"]);
        self.url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            self.url.starts_with("http://127.0.0.1:"),
            "cluster.sh up printed no URL: {:?}",
            self.url
        );
    }

    /// `cluster.sh down`: stops every process, keeps the data.
    pub fn down(&self) {
        self.script(&["down"]);
    }

    /// `cluster.sh part NAME stop|kill|start`.
    pub fn part(&self, name: &str, action: &str) {
        self.script(&["part", name, action]);
    }

    /// Runs cluster.sh with this cluster's folder and settings; panics (with its output)
    /// when it fails.
    pub fn script(&self, args: &[&str]) -> Output {
        let out = self.try_script(args);
        assert!(
            out.status.success(),
            "cluster.sh {} failed ({}):\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub fn try_script(&self, args: &[&str]) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/cluster.sh");
        Command::new("bash")
            .arg(script)
            .args(args)
            .env("CLUSTER_DIR", self.dir.path())
            .env("CLUSTER_BIN_DIR", profile_dir())
            .env("CLUSTER_PORT", "0")
            .envs(self.settings.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/cluster.sh")
    }

    pub fn state(&self) -> &Path {
        self.dir.path()
    }

    /// A server's own address (bypassing the edge).
    pub fn server_url(&self, name: &str) -> String {
        let ports = std::fs::read_to_string(self.state().join("ports")).expect("ports file");
        let port = ports
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no port for {name} in the ports file"));
        format!("http://127.0.0.1:{port}")
    }

    /// The pid of a running part, from its pid file.
    pub fn pid(&self, name: &str) -> Option<u32> {
        let file: PathBuf = match name {
            "edge" => self.state().join("nginx/pid"),
            _ => self.state().join(name).join("pid"),
        };
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    }

    /// The edge's access log so far.
    pub fn edge_log(&self) -> String {
        std::fs::read_to_string(self.state().join("nginx/edge.log")).unwrap_or_default()
    }

    pub fn admin_password(&self) -> String {
        let secrets = std::fs::read_to_string(self.state().join("secrets.env")).expect("secrets");
        secrets
            .lines()
            .find_map(|l| l.strip_prefix("CADENZA_ADMIN_PASSWORD="))
            .expect("an admin password in secrets.env")
            .to_string()
    }

    /// A client of the edge, logged in as the admin.
    pub async fn admin(&self) -> Client {
        let mut client = Client::new(&self.url).expect("edge URL");
        client
            .login("admin", &self.admin_password())
            .await
            .unwrap_or_else(|e| panic!("log in through the edge: {e}"));
        client
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let out = self.try_script(&["down"]);
        if !out.status.success() || std::thread::panicking() {
            let catalog = ["pg-primary", "pg-replica"];
            for name in catalog
                .iter()
                .chain(&SEAWEEDS)
                .chain(&SERVERS)
                .chain(&["nginx"])
            {
                let log = if *name == "nginx" {
                    self.state().join("nginx/error.log")
                } else {
                    self.state().join(name).join("log")
                };
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                eprintln!("---- last lines of {} ----", log.display());
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}
