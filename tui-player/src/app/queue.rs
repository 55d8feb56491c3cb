//! The play queue: pure logic (no I/O), so every rule is unit-tested here.
//! Items are shown in insertion order; shuffle changes only the order they play in.

use rand::seq::SliceRandom;

use crate::track::Track;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Repeat {
    #[default]
    Off,
    All,
    One,
}

impl Repeat {
    pub fn cycle(self) -> Self {
        match self {
            Repeat::Off => Repeat::All,
            Repeat::All => Repeat::One,
            Repeat::One => Repeat::Off,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Repeat::Off => "off",
            Repeat::All => "all",
            Repeat::One => "one",
        }
    }
}

/// Stable identity of a queue entry (the same song may be queued twice).
pub type ItemKey = u64;

#[derive(Debug, Clone, PartialEq)]
pub struct QueueItem {
    pub key: ItemKey,
    pub track: Track,
    /// Where to start (a podcast episode's saved position).
    pub resume_ms: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Queue {
    items: Vec<QueueItem>,
    current: Option<ItemKey>,
    /// Play order while shuffling.
    shuffled: Vec<ItemKey>,
    shuffle: bool,
    repeat: Repeat,
    next_key: ItemKey,
}

impl Queue {
    pub fn items(&self) -> &[QueueItem] {
        &self.items
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn shuffle(&self) -> bool {
        self.shuffle
    }

    pub fn repeat(&self) -> Repeat {
        self.repeat
    }

    pub fn cycle_repeat(&mut self) -> Repeat {
        self.repeat = self.repeat.cycle();
        self.repeat
    }

    pub fn current(&self) -> Option<&QueueItem> {
        self.current.and_then(|k| self.get(k))
    }

    pub fn current_index(&self) -> Option<usize> {
        self.current.and_then(|k| self.index_of(k))
    }

    pub fn get(&self, key: ItemKey) -> Option<&QueueItem> {
        self.items.iter().find(|i| i.key == key)
    }

    pub fn index_of(&self, key: ItemKey) -> Option<usize> {
        self.items.iter().position(|i| i.key == key)
    }

    fn new_item(&mut self, track: Track, resume_ms: Option<u64>) -> QueueItem {
        self.next_key += 1;
        QueueItem {
            key: self.next_key,
            track,
            resume_ms,
        }
    }

    fn order(&self) -> Vec<ItemKey> {
        if self.shuffle {
            self.shuffled.clone()
        } else {
            self.items.iter().map(|i| i.key).collect()
        }
    }

    /// Replaces the queue with `tracks` and makes `start` current; returns its key.
    pub fn replace(&mut self, tracks: Vec<(Track, Option<u64>)>, start: usize) -> Option<ItemKey> {
        self.items = tracks
            .into_iter()
            .map(|(t, resume)| self.new_item(t, resume))
            .collect();
        self.current = self.items.get(start).map(|i| i.key);
        self.reshuffle();
        self.current
    }

    /// Appends; returns the new key.
    pub fn add(&mut self, track: Track, resume_ms: Option<u64>) -> ItemKey {
        let item = self.new_item(track, resume_ms);
        let key = item.key;
        self.items.push(item);
        if self.shuffle {
            // Somewhere among what has not played yet.
            let from = self.shuffle_pos().map_or(0, |p| p + 1);
            let at = from + rand::random_range(0..=self.shuffled.len() - from);
            self.shuffled.insert(at, key);
        }
        key
    }

    /// Inserts right after the current item (plays next, shuffle or not).
    pub fn add_next(&mut self, track: Track, resume_ms: Option<u64>) -> ItemKey {
        let item = self.new_item(track, resume_ms);
        let key = item.key;
        let at = self.current_index().map_or(0, |i| i + 1);
        self.items.insert(at, item);
        if self.shuffle {
            let at = self.shuffle_pos().map_or(0, |p| p + 1);
            self.shuffled.insert(at, key);
        }
        key
    }

    /// Removes the item at display index `index`. Returns true when it was the current one
    /// (the caller decides what plays instead).
    pub fn remove(&mut self, index: usize) -> bool {
        if index >= self.items.len() {
            return false;
        }
        let key = self.items.remove(index).key;
        self.shuffled.retain(|k| *k != key);
        if self.current == Some(key) {
            self.current = None;
            return true;
        }
        false
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.shuffled.clear();
        self.current = None;
    }

    /// Moves the item at `from` to `to` (display order). Returns false if out of range.
    pub fn move_item(&mut self, from: usize, to: usize) -> bool {
        if from >= self.items.len() || to >= self.items.len() {
            return false;
        }
        let item = self.items.remove(from);
        self.items.insert(to, item);
        true
    }

    pub fn set_current(&mut self, key: ItemKey) -> bool {
        if self.get(key).is_some() {
            self.current = Some(key);
            true
        } else {
            false
        }
    }

    fn shuffle_pos(&self) -> Option<usize> {
        self.current
            .and_then(|k| self.shuffled.iter().position(|s| *s == k))
    }

    /// What follows the current item: `auto` is true when the current one ended by itself
    /// (repeat-one then plays it again).
    pub fn peek_next(&self, auto: bool) -> Option<ItemKey> {
        let current = self.current?;
        if auto && self.repeat == Repeat::One {
            return Some(current);
        }
        let order = self.order();
        let pos = order.iter().position(|k| *k == current)?;
        match order.get(pos + 1) {
            Some(k) => Some(*k),
            None if self.repeat != Repeat::Off => order.first().copied(),
            None => None,
        }
    }

    /// Moves to what follows; `None` (and nothing current) at the end of the queue.
    pub fn advance(&mut self, auto: bool) -> Option<ItemKey> {
        let next = self.peek_next(auto);
        if next.is_some() {
            self.current = next;
        }
        next
    }

    /// Moves to what came before (wrapping with repeat all).
    pub fn back(&mut self) -> Option<ItemKey> {
        let current = self.current?;
        let order = self.order();
        let pos = order.iter().position(|k| *k == current)?;
        let previous = match pos.checked_sub(1) {
            Some(p) => order.get(p).copied(),
            None if self.repeat == Repeat::All => order.last().copied(),
            None => None,
        };
        if previous.is_some() {
            self.current = previous;
        }
        previous
    }

    pub fn toggle_shuffle(&mut self) -> bool {
        self.shuffle = !self.shuffle;
        self.reshuffle();
        self.shuffle
    }

    /// A new random order: the current item first, the rest after it.
    fn reshuffle(&mut self) {
        if !self.shuffle {
            self.shuffled.clear();
            return;
        }
        let mut rest: Vec<ItemKey> = self
            .items
            .iter()
            .map(|i| i.key)
            .filter(|k| Some(*k) != self.current)
            .collect();
        rest.shuffle(&mut rand::rng());
        self.shuffled = self.current.into_iter().chain(rest).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::TrackId;

    fn t(n: i64) -> Track {
        Track {
            id: TrackId::Song(n),
            title: format!("s{n}"),
            artist: String::new(),
            album: String::new(),
            duration_ms: 1000,
            hash: String::new(),
            size: 0,
            content_type: String::new(),
            codec: String::new(),
        }
    }

    fn titles(q: &Queue) -> Vec<String> {
        q.items().iter().map(|i| i.track.title.clone()).collect()
    }

    fn current_title(q: &Queue) -> Option<String> {
        q.current().map(|i| i.track.title.clone())
    }

    fn queue_of(n: i64, start: usize) -> Queue {
        let mut q = Queue::default();
        q.replace((1..=n).map(|i| (t(i), None)).collect(), start);
        q
    }

    #[test]
    fn plays_in_order_and_stops_at_the_end() {
        let mut q = queue_of(3, 0);
        assert_eq!(current_title(&q).as_deref(), Some("s1"));
        q.advance(true);
        q.advance(true);
        assert_eq!(current_title(&q).as_deref(), Some("s3"));
        assert_eq!(q.advance(true), None);
        assert_eq!(current_title(&q).as_deref(), Some("s3"));
        q.back();
        assert_eq!(current_title(&q).as_deref(), Some("s2"));
    }

    #[test]
    fn repeat_all_wraps_and_repeat_one_repeats_only_when_automatic() {
        let mut q = queue_of(2, 1);
        assert_eq!(q.cycle_repeat(), Repeat::All);
        q.advance(true);
        assert_eq!(current_title(&q).as_deref(), Some("s1"));
        assert_eq!(q.cycle_repeat(), Repeat::One);
        q.advance(true);
        assert_eq!(current_title(&q).as_deref(), Some("s1"), "repeat one");
        q.advance(false);
        assert_eq!(current_title(&q).as_deref(), Some("s2"), "n still skips");
        assert_eq!(q.cycle_repeat(), Repeat::Off);
    }

    #[test]
    fn play_next_add_remove_move_clear() {
        let mut q = queue_of(3, 0);
        q.add_next(t(9), None);
        assert_eq!(titles(&q), ["s1", "s9", "s2", "s3"]);
        q.add(t(7), Some(5000));
        assert_eq!(titles(&q), ["s1", "s9", "s2", "s3", "s7"]);
        assert_eq!(q.items()[4].resume_ms, Some(5000));
        assert_eq!(
            q.peek_next(true)
                .and_then(|k| q.get(k))
                .map(|i| i.track.title.as_str()),
            Some("s9")
        );
        assert!(!q.remove(1));
        assert_eq!(titles(&q), ["s1", "s2", "s3", "s7"]);
        assert!(q.move_item(3, 0));
        assert_eq!(titles(&q), ["s7", "s1", "s2", "s3"]);
        assert!(!q.move_item(4, 0));
        assert!(q.remove(1), "removing the current item says so");
        assert_eq!(q.current(), None);
        q.clear();
        assert!(q.is_empty());
    }

    #[test]
    fn shuffle_plays_everything_once_starting_from_the_current() {
        let mut q = queue_of(20, 4);
        assert!(q.toggle_shuffle());
        let mut seen = vec![current_title(&q).unwrap()];
        while q.advance(true).is_some() {
            seen.push(current_title(&q).unwrap());
        }
        assert_eq!(seen[0], "s5");
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 20, "every song exactly once: {seen:?}");
        // Display order is untouched by shuffling.
        assert_eq!(titles(&q)[0], "s1");
        assert!(!q.toggle_shuffle());
    }

    #[test]
    fn added_items_play_while_shuffling() {
        let mut q = queue_of(3, 0);
        q.toggle_shuffle();
        q.add(t(8), None);
        q.add_next(t(9), None);
        assert_eq!(
            q.peek_next(false)
                .and_then(|k| q.get(k))
                .map(|i| i.track.title.clone())
                .as_deref(),
            Some("s9")
        );
        let mut count = 1;
        while q.advance(true).is_some() {
            count += 1;
        }
        assert_eq!(count, 5);
    }
}
