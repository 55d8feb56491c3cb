//! What the player knows is down, and saying so: set by a failed call, shown in the status
//! bar, and cleared by the next answer that proves it is over (so the bar never claims an
//! outage the listener can see is gone).

use super::App;
use crate::net::{NetError, NetErrorKind};

/// The part that is down, as far as an answer (or its absence) tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Down {
    /// Nothing answers at the server's address: refused, timed out, no route.
    Server,
    /// A load balancer answers, but no server behind it does (its 502/504).
    AllServers,
    /// The server answers, but its catalog takes no changes (503 `catalog_read_only`).
    CatalogWrites,
    /// The server answers, but cannot serve right now (another 503: catalog or volumes).
    Service,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    pub down: Down,
    /// The error that told us, as the server or the network phrased it.
    pub reason: String,
}

impl Outage {
    /// The short notice at the right of the status bar.
    pub fn notice(&self) -> &'static str {
        match self.down {
            Down::Server => "offline: cached songs only",
            Down::AllServers => "offline: no server behind the load balancer",
            Down::CatalogWrites => "server read-only: changes fail",
            Down::Service => "server degraded: some requests fail",
        }
    }

    /// Only cached songs can play.
    pub fn offline(&self) -> bool {
        matches!(self.down, Down::Server | Down::AllServers)
    }

    /// The outage an error reveals, if it reveals one.
    pub fn from_error(error: &NetError) -> Option<Outage> {
        let down = match error.kind {
            NetErrorKind::Unreachable => Down::Server,
            NetErrorKind::NoServer => Down::AllServers,
            NetErrorKind::ReadOnly => Down::CatalogWrites,
            NetErrorKind::Unavailable => Down::Service,
            _ => return None,
        };
        Some(Outage {
            down,
            reason: error.message.clone(),
        })
    }
}

impl App {
    /// Notes the outage `error` reveals; returns whether it revealed one.
    pub(super) fn note_outage(&mut self, error: &NetError) -> bool {
        let Some(outage) = Outage::from_error(error) else {
            return false;
        };
        self.outage = Some(outage);
        self.dirty = true;
        true
    }

    /// The server answered: whatever was down is up again, except that a read answered
    /// says nothing about writes (`wrote` is false), so a read-only catalog stays noted.
    pub(super) fn server_answered(&mut self, wrote: bool) {
        let over = match &self.outage {
            Some(o) => wrote || o.down != Down::CatalogWrites,
            None => false,
        };
        if !over {
            return;
        }
        self.outage = None;
        self.dirty = true;
        // The error that announced the outage would otherwise stay on the status line.
        if self.message.as_ref().is_some_and(|m| m.error) {
            self.info("the server answers again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Event;
    use crate::config::Config;
    use crate::net::{Fetched, Listing, NetEvent};
    use std::time::Instant;

    fn error(kind: NetErrorKind) -> NetError {
        NetError {
            kind,
            message: "why".into(),
        }
    }

    fn failed(app: &mut App, kind: NetErrorKind) {
        app.handle(
            Event::Net(NetEvent::Failed {
                what: "search".into(),
                error: error(kind),
            }),
            Instant::now(),
        );
    }

    fn loaded(app: &mut App) {
        app.handle(
            Event::Net(NetEvent::Loaded {
                listing: Listing::Genres,
                offset: 0,
                result: Ok(Fetched::Genres(vec![])),
            }),
            Instant::now(),
        );
    }

    #[test]
    fn each_failure_names_its_part_and_the_first_answer_clears_it() {
        for (kind, notice, offline) in [
            (
                NetErrorKind::Unreachable,
                "offline: cached songs only",
                true,
            ),
            (
                NetErrorKind::NoServer,
                "offline: no server behind the load balancer",
                true,
            ),
            (
                NetErrorKind::Unavailable,
                "server degraded: some requests fail",
                false,
            ),
        ] {
            let mut app = App::new(&Config::default(), None, None);
            failed(&mut app, kind);
            let outage = app.outage.clone().expect("an outage is noted");
            assert_eq!((outage.notice(), outage.offline()), (notice, offline));
            assert!(app.message.as_ref().is_some_and(|m| m.error));
            loaded(&mut app);
            assert_eq!(app.outage, None, "{kind:?} ends with the first answer");
            assert_eq!(
                app.message.as_ref().map(|m| (m.text.as_str(), m.error)),
                Some(("the server answers again", false))
            );
        }
    }

    #[test]
    fn a_read_only_catalog_stays_noted_until_a_write_goes_through() {
        let mut app = App::new(&Config::default(), None, None);
        failed(&mut app, NetErrorKind::ReadOnly);
        assert_eq!(
            app.outage.as_ref().map(Outage::notice),
            Some("server read-only: changes fail")
        );
        loaded(&mut app);
        assert!(app.outage.is_some(), "a read says nothing about writes");
        app.handle(Event::Net(NetEvent::KeptPlaysSent(1)), Instant::now());
        assert_eq!(app.outage, None);
    }

    #[test]
    fn a_play_kept_for_a_read_only_catalog_shows_the_outage_and_its_note() {
        let mut app = App::new(&Config::default(), None, None);
        app.handle(
            Event::Net(NetEvent::PlayKept {
                note: "this play is kept and will be reported again".into(),
                error: error(NetErrorKind::ReadOnly),
            }),
            Instant::now(),
        );
        assert_eq!(
            app.outage.as_ref().map(Outage::notice),
            Some("server read-only: changes fail")
        );
        assert_eq!(
            app.message.as_ref().map(|m| (m.text.as_str(), m.error)),
            Some(("this play is kept and will be reported again", false))
        );
    }

    #[test]
    fn other_errors_are_not_outages() {
        let mut app = App::new(&Config::default(), None, None);
        failed(&mut app, NetErrorKind::NotFound);
        failed(&mut app, NetErrorKind::Other);
        assert_eq!(app.outage, None);
    }
}
