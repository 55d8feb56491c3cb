//! Talking to the person at the terminal: prompts, progress bars and number formatting.
//!
//! Progress goes to stderr, and only when stderr is a terminal; prompts happen only
//! when stdin is a terminal, so scripts never hang waiting for input.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Where progress bars draw: stderr when it is a terminal, nowhere otherwise.
pub fn progress_target() -> ProgressDrawTarget {
    if stderr_is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// A set of bars drawn together (hidden when stderr is not a terminal).
pub fn multi_progress() -> MultiProgress {
    MultiProgress::with_draw_target(progress_target())
}

/// A bar counting `unit`s (e.g. "blobs") toward `total`.
pub fn count_bar(total: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), progress_target());
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:40.cyan/blue}} {{pos}}/{{len}} {unit} {{per_sec}} ETA {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// A bar counting bytes, labelled with `message`.
pub fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "  {spinner} {wide_msg} {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Resolves when Ctrl-C is pressed; never, if the handler cannot be installed.
pub async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Asks for one line (e.g. a user name); fails when stdin is not a terminal.
pub fn prompt_line(label: &str, flag_hint: &str) -> Result<String> {
    if !stdin_is_terminal() {
        bail!("stdin is not a terminal, so no one can be asked for the {label}: pass {flag_hint}");
    }
    eprint!("{label}: ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("cannot read the {label}"))?;
    let line = line.trim().to_string();
    if line.is_empty() {
        bail!("the {label} is empty");
    }
    Ok(line)
}

/// Asks for a password without echo; fails when stdin is not a terminal.
pub fn prompt_password(label: &str) -> Result<String> {
    if !stdin_is_terminal() {
        bail!("stdin is not a terminal, so no one can be asked for a password: pass --password-stdin and pipe it in");
    }
    let password = rpassword::prompt_password(format!("{label}: "))
        .with_context(|| format!("cannot read the {label}"))?;
    if password.is_empty() {
        bail!("the password is empty");
    }
    Ok(password)
}

/// Asks twice for a new password and checks both match.
pub fn prompt_new_password() -> Result<String> {
    let first = prompt_password("New password")?;
    let second = prompt_password("Repeat it")?;
    if first != second {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

/// The password on the first line of stdin (`--password-stdin`).
pub fn password_from_stdin() -> Result<String> {
    read_password(std::io::stdin().lock())
}

fn read_password(mut input: impl BufRead) -> Result<String> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!("--password-stdin read an empty password; pipe the password in, e.g. `printf '%s\\n' \"$PW\" | cadenza-admin ...`");
    }
    Ok(password.to_string())
}

/// Either a password from stdin or one asked for at the terminal.
pub fn new_password(from_stdin: bool) -> Result<String> {
    if from_stdin {
        password_from_stdin()
    } else {
        prompt_new_password()
    }
}

/// `println!` for command output that survives a closed stdout (`... | head`): the
/// rest of the output is dropped and the command still ends with its own exit code.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::ui::write_stdout(format_args!($($arg)*))
    };
}

/// One line on stdout; see [`say!`].
pub fn write_stdout(line: std::fmt::Arguments) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static CLOSED: AtomicBool = AtomicBool::new(false);
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(line)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("warning: cannot write the output: {e}");
        }
    }
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).context("cannot encode the JSON output")?;
    say!("{text}");
    Ok(())
}

/// `1536` → `1.5 KiB`.
/// `one` when `n` is 1, else `many`: "1 song", "2 songs".
pub fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// `n` and its noun: `count(1, "song", "songs")` is "1 song".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", plural(n, one, many))
}

pub fn bytes(n: u64) -> String {
    indicatif::BinaryBytes(n).to_string()
}

/// `125_000` ms → `2:05`; hours when needed.
pub fn duration_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Unix seconds → `2024-05-01 12:00 UTC`.
pub fn timestamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02} UTC",
        of_day / 3600,
        of_day / 60 % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_read_from_the_first_line() {
        assert_eq!(
            read_password("s3cret pass\r\nrest".as_bytes()).unwrap(),
            "s3cret pass"
        );
        let err = read_password("\n".as_bytes()).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
    }

    #[test]
    fn durations_read_like_a_player() {
        assert_eq!(duration_ms(3_030), "0:03");
        assert_eq!(duration_ms(125_000), "2:05");
        assert_eq!(duration_ms(3_725_000), "1:02:05");
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(timestamp(1_700_000_000), "2023-11-14 22:13 UTC");
    }

    #[test]
    fn byte_counts_are_readable() {
        assert_eq!(bytes(1536), "1.50 KiB");
    }
}
