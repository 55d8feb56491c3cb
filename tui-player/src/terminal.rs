//! The terminal front-end: raw mode, the input thread, and drawing only when something changed.

use std::io::{self, Stdout};
use std::time::Duration;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event as TermEvent,
};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::app::Event;
use crate::runtime::Runtime;

type Term = Terminal<CrosstermBackend<Stdout>>;

fn setup() -> io::Result<Term> {
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    execute!(
        stdout,
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste
    )?;
    Terminal::new(CrosstermBackend::new(stdout))
}

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Runs the player until it quits.
pub fn run(mut runtime: Runtime) -> anyhow::Result<()> {
    // A panic on the UI thread must not leave the terminal in raw mode. Other threads catch
    // or outlive their panics (a decoder bug skips a packet), and printing would scribble
    // over the screen, so they stay quiet.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some("main") {
            restore();
            hook(info);
        }
    }));
    let mut terminal = setup()?;
    let tx = runtime.sender();
    std::thread::Builder::new()
        .name("cadenza-input".into())
        .spawn(move || loop {
            let event = match crossterm::event::read() {
                Ok(TermEvent::Key(key)) => Event::Key(key),
                Ok(TermEvent::Mouse(mouse)) => Event::Mouse(mouse),
                Ok(TermEvent::Paste(text)) => Event::Paste(text),
                Ok(TermEvent::Resize(..)) => Event::Resize,
                Ok(_) => continue,
                Err(_) => {
                    // The terminal is gone; nothing more will come.
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            };
            if tx.send(event).is_err() {
                return;
            }
        })?;
    let result = (|| -> anyhow::Result<()> {
        loop {
            if runtime.app.dirty {
                runtime.app.dirty = false;
                terminal.draw(|frame| crate::ui::draw(frame, &mut runtime.app))?;
            }
            if !runtime.step(None) {
                return Ok(());
            }
        }
    })();
    restore();
    runtime.shutdown();
    result
}
