//! Starting a server and timing it: from exec to the first `200` from `/readyz`.
//!
//! The server keeps running after this tool exits (its pid is printed), so the script can
//! measure it further and stop it itself. Its stdout and stderr go to files, never to a pipe
//! that would close under it.

use anyhow::{bail, Context};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The line `cadenza-server` prints once it is listening.
const LISTENING: &str = "cadenza-server listening on http://";
/// How often the log and `/readyz` are looked at.
const POLL: Duration = Duration::from_millis(1);

pub struct Started {
    pub pid: u32,
    pub addr: SocketAddr,
    /// Exec to the "listening" line.
    pub listening: Duration,
    /// Exec to the first `200` from `/readyz`.
    pub ready: Duration,
}

/// Runs `program args`, with stdout to `stdout_log` and stderr to `stderr_log`, and waits
/// (at most `timeout`) until it answers `/readyz` with 200. A server that exits or times
/// out is reported with the end of its stderr; one that times out is killed.
pub fn start(
    program: &str,
    args: &[String],
    stdout_log: &Path,
    stderr_log: &Path,
    timeout: Duration,
) -> anyhow::Result<Started> {
    let out =
        File::create(stdout_log).with_context(|| format!("creating {}", stdout_log.display()))?;
    let err =
        File::create(stderr_log).with_context(|| format!("creating {}", stderr_log.display()))?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let failed = |why: String| -> anyhow::Error {
        let log = std::fs::read_to_string(stderr_log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        anyhow::anyhow!(
            "{program} {why}; the end of its stderr:\n{}",
            tail.join("\n")
        )
    };
    let mut listening = None;
    loop {
        if started.elapsed() > timeout {
            // Best effort: the error below is what matters.
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed(format!("was not ready after {timeout:?}")));
        }
        if let Some(status) = child.try_wait().context("watching the server")? {
            return Err(failed(format!("exited ({status}) before it was ready")));
        }
        match listening {
            None => {
                let log = std::fs::read_to_string(stdout_log).unwrap_or_default();
                if let Some(addr) = listening_addr(&log)? {
                    listening = Some((addr, started.elapsed()));
                }
            }
            Some((addr, at)) => {
                if ready(addr) {
                    return Ok(Started {
                        pid: child.id(),
                        addr,
                        listening: at,
                        ready: started.elapsed(),
                    });
                }
            }
        }
        std::thread::sleep(POLL);
    }
}

fn listening_addr(log: &str) -> anyhow::Result<Option<SocketAddr>> {
    for line in log.split_inclusive('\n') {
        let Some(rest) = line.strip_prefix(LISTENING) else {
            continue;
        };
        // A line still being written has no newline yet; wait for the whole address.
        if !rest.ends_with('\n') {
            return Ok(None);
        }
        return match rest.trim().trim_end_matches('/').parse() {
            Ok(addr) => Ok(Some(addr)),
            Err(e) => bail!("cannot read the server address from {:?}: {e}", line.trim()),
        };
    }
    Ok(None)
}

/// Whether `GET /readyz` answers 200 (any failure is "not yet").
fn ready(addr: SocketAddr) -> bool {
    let ask = || -> std::io::Result<bool> {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.write_all(b"GET /readyz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head)?;
        Ok(&head[9..12] == b"200")
    };
    ask().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_address_from_the_listening_line() {
        assert_eq!(listening_addr("").unwrap(), None);
        assert_eq!(
            listening_addr("cadenza-server listening on http://127.0.0.1:80").unwrap(),
            None
        );
        let addr =
            listening_addr("x\ncadenza-server listening on http://127.0.0.1:4533\n").unwrap();
        assert_eq!(addr, Some("127.0.0.1:4533".parse().unwrap()));
        assert!(listening_addr("cadenza-server listening on http://nonsense\n").is_err());
    }

    #[test]
    fn a_program_that_exits_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let err = start(
            "sh",
            &["-c".into(), "echo broken config >&2; exit 3".into()],
            &dir.path().join("out"),
            &dir.path().join("err"),
            Duration::from_secs(10),
        )
        .err()
        .unwrap();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("exited") && msg.contains("broken config"),
            "{msg}"
        );
    }
}
