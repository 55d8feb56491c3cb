//! Helpers shared by the `admin_*` end-to-end tests: running `cadenza-admin` with an
//! isolated config folder, and reading its JSON-lines report.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use cadenza_tests::{bin, Server};

/// How one `cadenza-admin` run went.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with the whole output unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit code {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The error output is one sentence, never a panic or a backtrace.
    pub fn expect_one_sentence(&self) {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 1, "stderr: {}", self.stderr);
        assert!(lines[0].starts_with("error: "), "stderr: {}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "stderr: {}", self.stderr);
    }
}

/// `cadenza-admin` with its config folder (saved login) in `config_home`, and no
/// inherited CADENZA_* variables.
pub fn admin_command(config_home: &Path) -> Command {
    let mut command = Command::new(bin("cadenza-admin"));
    command
        .env("HOME", config_home)
        .env("XDG_CONFIG_HOME", config_home.join("config"))
        .env_remove("CADENZA_SERVER")
        .env_remove("CADENZA_TOKEN")
        .stdin(Stdio::null());
    command
}

/// Runs `cadenza-admin ARGS` against `server` as the holder of `token`.
pub fn admin(server: &Server, token: &str, args: &[&str]) -> Run {
    let home = tempfile::tempdir().expect("temp home");
    let output = admin_command(home.path())
        .env("CADENZA_SERVER", &server.url)
        .env("CADENZA_TOKEN", token)
        .args(args)
        .output()
        .expect("run cadenza-admin");
    Run::from(output)
}

/// Runs a prepared command, feeding `stdin` when given.
pub fn run_with_stdin(mut command: Command, stdin: Option<&str>) -> Run {
    use std::io::Write;
    if stdin.is_some() {
        command.stdin(Stdio::piped());
    }
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("run cadenza-admin");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    Run::from(child.wait_with_output().expect("wait for cadenza-admin"))
}

/// Starts `cadenza-admin ARGS` in the background (for interrupting it).
pub fn spawn_admin(server: &Server, token: &str, home: &Path, args: &[&str]) -> Child {
    admin_command(home)
        .env("CADENZA_SERVER", &server.url)
        .env("CADENZA_TOKEN", token)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cadenza-admin")
}

/// The admin token of a test server.
pub async fn admin_token(server: &Server) -> String {
    server
        .admin()
        .await
        .token()
        .expect("login gives a token")
        .to_string()
}

/// One line of the ingest report, read with just enough JSON to check it: the report
/// is compact serde output with `path` then `status` first.
#[derive(Debug, Clone)]
pub struct ReportLine {
    pub raw: String,
    pub path: String,
    pub status: String,
}

impl ReportLine {
    /// The string value of `"key":"..."`, unescaped (quotes and backslashes only).
    pub fn string(&self, key: &str) -> Option<String> {
        string_field(&self.raw, key)
    }

    /// The raw text of a number value `"key":123`.
    pub fn number(&self, key: &str) -> Option<u64> {
        let at = self.raw.find(&format!("\"{key}\":"))? + key.len() + 3;
        let digits: String = self.raw[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    }
}

pub fn read_report(path: &Path) -> Vec<ReportLine> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read the report {}: {e}", path.display()));
    text.lines()
        .map(|raw| {
            assert!(
                raw.starts_with("{\"path\":\"") && raw.ends_with('}'),
                "not a report line: {raw}"
            );
            ReportLine {
                raw: raw.to_string(),
                path: string_field(raw, "path").expect("a path"),
                status: string_field(raw, "status").expect("a status"),
            }
        })
        .collect()
}

fn string_field(raw: &str, key: &str) -> Option<String> {
    let start = raw.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut value = String::new();
    let mut chars = raw[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => value.push(chars.next()?),
            c => value.push(c),
        }
    }
    None
}

/// The report line for `path`.
pub fn line_for<'a>(lines: &'a [ReportLine], path: &Path) -> &'a ReportLine {
    let wanted = path.display().to_string();
    lines
        .iter()
        .find(|l| l.path == wanted)
        .unwrap_or_else(|| panic!("no report line for {wanted}"))
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("list folder") {
        let entry = entry.expect("folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Lowercase hex SHA-256 of a file, via `sha256sum` (coreutils).
pub fn sha256(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_string()
}

/// Every file below `dir`.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list folder") {
        let path = entry.expect("folder entry").path();
        if path.is_dir() {
            files.extend(files_below(&path));
        } else {
            files.push(path);
        }
    }
    files
}
