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

/// `1536` → `1.50 KiB`.
pub fn bytes(n: u64) -> String {
    indicatif::BinaryBytes(n).to_string()
}

/// Unix seconds → `2024-05-01 12:00 UTC`.
pub fn timestamp(secs: i64) -> String {
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(time) => time.format("%Y-%m-%d %H:%M UTC").to_string(),
        None => format!("{secs} (seconds since 1970, out of range)"),
    }
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
    fn timestamps_are_utc() {
        assert_eq!(timestamp(0), "1970-01-01 00:00 UTC");
        assert_eq!(timestamp(-1), "1969-12-31 23:59 UTC");
        assert_eq!(timestamp(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(timestamp(1_700_000_000), "2023-11-14 22:13 UTC");
        assert!(timestamp(i64::MAX).contains("out of range"));
    }

    #[test]
    fn byte_counts_are_readable() {
        assert_eq!(bytes(1536), "1.50 KiB");
    }
}
