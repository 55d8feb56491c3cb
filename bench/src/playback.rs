//! A player's buffer, as the listener benchmark models it: bytes arrive from the network,
//! playback starts once a few seconds are buffered and then consumes the song at its bitrate,
//! the player stops reading once it holds enough ahead, and it underruns when playback
//! catches up with what arrived. Pure arithmetic on times since the session started, so it
//! is tested without a clock.

use std::time::Duration;

/// How a player buffers.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Bytes of audio per second of playback.
    pub bytes_per_second: u64,
    /// Audio buffered before playback starts (and restarts after an underrun).
    pub prebuffer: Duration,
    /// Audio the player holds at most; it stops reading beyond this.
    pub read_ahead: Duration,
    /// Once full, the player reads again when this much of the read-ahead has played (so
    /// it reads in bursts, as players fetching chunks do, not after every packet).
    pub refill: Duration,
}

impl Policy {
    fn bytes(&self, d: Duration) -> u64 {
        (d.as_secs_f64() * self.bytes_per_second as f64) as u64
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    /// Waiting for the prebuffer (at the start, and after an underrun).
    Buffering,
    /// Playing since `since`, when `base` bytes had been played.
    Playing { since: Duration, base: u64 },
}

/// One request's worth of playback: from the first byte asked for to the session's end.
#[derive(Clone, Debug)]
pub struct Playback {
    policy: Policy,
    /// Bytes this request will deliver in all (the rest of the song).
    total: u64,
    received: u64,
    /// Bytes played before the current `Playing` stretch (all of them while buffering).
    played: u64,
    state: State,
    underruns: u32,
}

/// What the player does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Read from the socket; if nothing arrives by `dry_at` (when playing), that is an
    /// underrun.
    Read { max: u64, dry_at: Option<Duration> },
    /// The buffer is full: nothing to do until then.
    WaitUntil(Duration),
    /// Everything was received; playback only drains the buffer from here.
    Done,
}

impl Playback {
    pub fn new(policy: Policy, total: u64) -> Self {
        Playback {
            policy,
            total,
            received: 0,
            played: 0,
            state: State::Buffering,
            underruns: 0,
        }
    }

    pub fn underruns(&self) -> u32 {
        self.underruns
    }

    pub fn received_bytes(&self) -> u64 {
        self.received
    }

    /// Bytes played by `now` (never more than arrived: playback stops when the buffer is dry).
    pub fn played(&self, now: Duration) -> u64 {
        match self.state {
            State::Buffering => self.played,
            State::Playing { since, base } => {
                let elapsed = now.saturating_sub(since);
                (base + self.policy.bytes(elapsed)).min(self.received)
            }
        }
    }

    /// `n` more bytes arrived at `now`.
    pub fn receive(&mut self, n: u64, now: Duration) {
        self.received = (self.received + n).min(self.total);
        if self.state == State::Buffering {
            let buffered = self.received - self.played;
            let everything = self.received == self.total;
            if buffered >= self.policy.bytes(self.policy.prebuffer) || everything {
                self.state = State::Playing {
                    since: now,
                    base: self.played,
                };
            }
        }
    }

    /// The read waiting since playback could last continue found nothing by `now`:
    /// playback stopped when the buffer ran dry, and buffers again.
    pub fn underrun(&mut self, now: Duration) {
        if let State::Playing { .. } = self.state {
            self.played = self.played(now);
            self.state = State::Buffering;
            self.underruns += 1;
        }
    }

    /// What to do at `now`.
    pub fn next(&self, now: Duration) -> Next {
        if self.received >= self.total {
            return Next::Done;
        }
        let room = self.policy.bytes(self.policy.read_ahead);
        let buffered = self.received - self.played(now);
        match self.state {
            State::Buffering => Next::Read {
                max: room.saturating_sub(buffered).max(1),
                dry_at: None,
            },
            State::Playing { since, base } => {
                let rate = self.policy.bytes_per_second as f64;
                let at = |bytes_played: u64| {
                    since + Duration::from_secs_f64((bytes_played - base) as f64 / rate)
                };
                let refill = self
                    .policy
                    .bytes(self.policy.read_ahead.saturating_sub(self.policy.refill));
                if buffered >= room {
                    // Full: read again once the buffer is down to `refill`.
                    Next::WaitUntil(at(self.received - refill))
                } else {
                    Next::Read {
                        max: room - buffered,
                        dry_at: Some(at(self.received)),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// 1,000 bytes a second, 2 s before playing, at most 10 s ahead, refill after 1 s.
    fn policy() -> Policy {
        Policy {
            bytes_per_second: 1_000,
            prebuffer: secs(2.0),
            read_ahead: secs(10.0),
            refill: secs(1.0),
        }
    }

    #[test]
    fn playback_starts_after_the_prebuffer_and_consumes_at_the_bitrate() {
        let mut p = Playback::new(policy(), 100_000);
        p.receive(1_500, secs(0.1));
        assert_eq!(p.played(secs(5.0)), 0, "not playing below the prebuffer");
        assert_eq!(
            p.next(secs(0.1)),
            Next::Read {
                max: 8_500,
                dry_at: None
            }
        );
        p.receive(1_000, secs(0.5));
        assert_eq!(p.played(secs(1.5)), 1_000);
        assert_eq!(p.played(secs(100.0)), 2_500, "never more than arrived");
        // Dry when the 2,500 bytes have played: 2.5 s after 0.5 s.
        assert_eq!(
            p.next(secs(1.5)),
            Next::Read {
                max: 8_500,
                dry_at: Some(secs(3.0))
            }
        );
        assert_eq!(p.underruns(), 0);
    }

    #[test]
    fn a_full_buffer_waits_until_a_refill_s_worth_has_played() {
        let mut p = Playback::new(policy(), 100_000);
        p.receive(10_000, secs(0.0));
        // 10 s held: read again when 9 s are left, after 1 s of playback.
        assert_eq!(p.next(secs(0.0)), Next::WaitUntil(secs(1.0)));
        assert_eq!(
            p.next(secs(1.0)),
            Next::Read {
                max: 1_000,
                dry_at: Some(secs(10.0))
            }
        );
    }

    #[test]
    fn an_underrun_stops_playback_until_the_prebuffer_is_back() {
        let mut p = Playback::new(policy(), 100_000);
        p.receive(2_000, secs(0.0));
        p.underrun(secs(2.0));
        assert_eq!(p.underruns(), 1);
        assert_eq!(p.played(secs(9.0)), 2_000, "stopped at what arrived");
        p.receive(1_000, secs(3.0));
        assert_eq!(p.played(secs(9.0)), 2_000, "still buffering");
        p.receive(1_000, secs(4.0));
        assert_eq!(p.played(secs(5.0)), 3_000, "playing again from 4 s");
        // An underrun while buffering is not counted twice.
        let mut q = Playback::new(policy(), 100_000);
        q.underrun(secs(1.0));
        assert_eq!(q.underruns(), 0);
    }

    #[test]
    fn the_end_of_the_song_starts_playback_and_ends_reading() {
        let mut p = Playback::new(policy(), 500);
        p.receive(500, secs(0.2));
        assert_eq!(p.next(secs(0.2)), Next::Done);
        assert_eq!(p.played(secs(0.7)), 500);
        assert_eq!(p.received_bytes(), 500);
    }
}
