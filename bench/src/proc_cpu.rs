//! CPU time of server processes from `/proc`: user + system time of each given process and
//! of its children (nginx's workers are children of its master; Cadenza is one process).

use std::time::Duration;

use anyhow::Context;

/// Total CPU time used so far by `pids` and their direct children.
pub fn of(pids: &[u32]) -> anyhow::Result<Duration> {
    if pids.is_empty() {
        return Ok(Duration::ZERO);
    }
    let ticks_per_second = clock_ticks();
    let mut ticks = 0u64;
    let entries = std::fs::read_dir("/proc").context("cannot list /proc")?;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // Processes come and go while /proc is listed: one that vanished is skipped.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(fields) = parse_stat(&stat) else {
            continue;
        };
        if pids.contains(&pid) || pids.contains(&fields.ppid) {
            ticks += fields.utime + fields.stime;
        }
    }
    for pid in pids {
        anyhow::ensure!(
            std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} is not running"
        );
    }
    Ok(Duration::from_secs_f64(ticks as f64 / ticks_per_second))
}

struct Stat {
    ppid: u32,
    utime: u64,
    stime: u64,
}

/// Fields of `/proc/PID/stat` (see proc(5)); the command name in brackets may hold spaces.
fn parse_stat(stat: &str) -> Option<Stat> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) ... utime(14) stime(15), numbered from 1 in proc(5).
    Some(Stat {
        ppid: fields.get(1)?.parse().ok()?,
        utime: fields.get(11)?.parse().ok()?,
        stime: fields.get(12)?.parse().ok()?,
    })
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_spaces_in_the_name() {
        let line = "4242 (nginx: worker (x)) S 4200 4200 4200 0 -1 4194624 \
                    10 0 0 0 1234 56 0 0 20 0 1 0 100 1000 10";
        let stat = parse_stat(line).unwrap();
        assert_eq!((stat.ppid, stat.utime, stat.stime), (4200, 1234, 56));
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn running_processes_are_measured_and_a_missing_one_is_an_error() {
        assert!(of(&[std::process::id()]).is_ok());
        assert_eq!(of(&[]).unwrap(), Duration::ZERO);
        let e = of(&[u32::MAX]).unwrap_err().to_string();
        assert!(e.contains("is not running"), "{e}");
    }
}
