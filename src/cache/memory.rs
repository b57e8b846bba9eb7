//! The in-process store: a moka cache of entries with a time to live, and
//! the semantic vectors of each scope.
//!
//! Both the entry count and the byte total are bounded with one weigher:
//! each entry weighs its encoded size, but never less than
//! `max_bytes / max_entries`, so the cache holds at most `max_entries`
//! entries and at most `max_bytes` bytes. Vectors are bounded too: at most
//! `max_vectors` a scope, and at most `max_entries` in all (a vector without
//! its entry is useless), dead ones swept first.

// The semantic vector map is locked for a scan or an insert, never across an await.
#![allow(clippy::disallowed_types)]

use super::entry::Entry;
use super::key::Key;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A stored entry and its encoded size.
#[derive(Debug, Clone)]
struct Stored {
    entry: Arc<Entry>,
    size: u32,
}

/// A question's vector, its entry and its text.
type Indexed = (Arc<[f32]>, Key, Arc<str>);

/// Vectors of one scope, oldest first.
type Vectors = VecDeque<Indexed>;

/// A candidate for a semantic hit: similarity, entry key, question text.
pub type Candidate = (f32, Key, Arc<str>);

/// Most candidates a lookup considers.
pub const CANDIDATES: usize = 5;

/// The best `CANDIDATES` of `scored` at or above `threshold`, best first.
pub fn best(mut scored: Vec<Candidate>, threshold: f32) -> Vec<Candidate> {
    scored.retain(|c| c.0 >= threshold);
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.truncate(CANDIDATES);
    scored
}

/// The semantic index: vectors by scope, and how many there are in all.
#[derive(Default)]
struct Index {
    scopes: HashMap<Key, Vectors>,
    total: usize,
}

/// Entries and vectors in this process.
pub struct MemoryStore {
    entries: moka::sync::Cache<Key, Stored>,
    vectors: Mutex<Index>,
    max_vectors: usize,
    max_total: usize,
}

impl MemoryStore {
    /// A store with these bounds.
    pub fn new(ttl: Duration, max_entries: u64, max_bytes: u64, max_vectors: usize) -> Self {
        let floor = u32::try_from((max_bytes / max_entries.max(1)).max(1)).unwrap_or(u32::MAX);
        let entries = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(move |_k: &Key, v: &Stored| v.size.max(floor))
            .time_to_live(ttl)
            .build();
        MemoryStore {
            entries,
            vectors: Mutex::new(Index::default()),
            max_vectors: max_vectors.max(1),
            max_total: usize::try_from(max_entries).unwrap_or(usize::MAX).max(1),
        }
    }

    /// The entry under `key`.
    pub fn get(&self, key: &Key) -> Option<Arc<Entry>> {
        self.entries.get(key).map(|s| s.entry)
    }

    /// Keep `entry` (its encoded size is `size`).
    pub fn put(&self, key: Key, entry: Arc<Entry>, size: usize) {
        let size = u32::try_from(size).unwrap_or(u32::MAX);
        self.entries.insert(key, Stored { entry, size });
    }

    /// Remember the question `text` and its `vector` for `key` in `scope`.
    pub fn put_vector(&self, scope: Key, vector: Arc<[f32]>, key: Key, text: Arc<str>) {
        let Ok(mut index) = self.vectors.lock() else {
            return;
        };
        let list = index.scopes.entry(scope).or_default();
        let before = list.len();
        list.retain(|(_, k, _)| *k != key);
        list.push_back((vector, key, text));
        while list.len() > self.max_vectors {
            list.pop_front();
        }
        let after = list.len();
        index.total = index.total + after - before;
        if index.total > self.max_total {
            self.shrink(&mut index);
        }
    }

    /// Bring the index back under `max_total`: sweep vectors whose entries
    /// are gone, then drop the oldest of the largest scopes.
    fn shrink(&self, index: &mut Index) {
        for list in index.scopes.values_mut() {
            list.retain(|(_, k, _)| self.entries.contains_key(k));
        }
        index.scopes.retain(|_, list| !list.is_empty());
        index.total = index.scopes.values().map(VecDeque::len).sum();
        while index.total > self.max_total {
            let Some(list) = index.scopes.values_mut().max_by_key(|l| l.len()) else {
                break;
            };
            list.pop_front();
            index.total -= 1;
        }
        index.scopes.retain(|_, list| !list.is_empty());
    }

    /// How many vectors the index holds.
    pub fn vector_count(&self) -> usize {
        self.vectors.lock().map_or(0, |i| i.total)
    }

    /// The live questions in `scope` closest to `query`, at or above
    /// `threshold`, best first (vectors are unit length, so the dot product
    /// is the cosine).
    pub fn nearest(&self, scope: &Key, query: &[f32], threshold: f32) -> Vec<Candidate> {
        let Ok(mut index) = self.vectors.lock() else {
            return Vec::new();
        };
        let Index { scopes, total } = &mut *index;
        let Some(list) = scopes.get_mut(scope) else {
            return Vec::new();
        };
        // Forget vectors whose entries expired or were evicted.
        let before = list.len();
        list.retain(|(_, k, _)| self.entries.contains_key(k));
        *total -= before - list.len();
        let scored = list
            .iter()
            .map(|(v, k, t)| (super::semantic::cosine(v, query), *k, t.clone()))
            .collect();
        best(scored, threshold)
    }

    /// Drop everything; returns how many entries there were.
    pub fn purge(&self) -> u64 {
        self.entries.run_pending_tasks();
        let n = self.entries.entry_count();
        self.entries.invalidate_all();
        self.entries.run_pending_tasks();
        if let Ok(mut index) = self.vectors.lock() {
            *index = Index::default();
        }
        n
    }

    /// How many entries and bytes (weights) are held.
    pub fn stats(&self) -> (u64, u64) {
        self.entries.run_pending_tasks();
        (self.entries.entry_count(), self.entries.weighted_size())
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // a synchronous TTL test
mod tests {
    use super::*;
    use crate::core::{ChatResponse, Usage};

    fn entry(text: &str) -> Arc<Entry> {
        let answer: ChatResponse = serde_json::from_value(serde_json::json!({
            "id": "m", "model": "x", "content": [{"type": "text", "text": text}]
        }))
        .unwrap();
        Arc::new(Entry {
            answer,
            origin: super::super::entry::Origin::default(),
            usage: Usage::default(),
        })
    }

    fn key(n: u8) -> Key {
        [n; 32]
    }

    #[test]
    fn entry_count_is_bounded() {
        let s = MemoryStore::new(Duration::from_secs(60), 10, 1_000_000, 10);
        for n in 0..50 {
            s.put(key(n), entry("x"), 100);
        }
        let (count, _) = s.stats();
        assert!(count <= 10, "{count} entries");
    }

    #[test]
    fn byte_total_is_bounded() {
        let s = MemoryStore::new(Duration::from_secs(60), 1000, 10_000, 10);
        for n in 0..50 {
            s.put(key(n), entry("x"), 1000);
        }
        let (count, bytes) = s.stats();
        assert!(
            bytes <= 10_000 && count <= 10,
            "{count} entries, {bytes} bytes"
        );
    }

    #[test]
    fn entries_expire() {
        let s = MemoryStore::new(Duration::from_millis(50), 10, 1_000_000, 10);
        s.put(key(1), entry("x"), 10);
        assert!(s.get(&key(1)).is_some());
        std::thread::sleep(Duration::from_millis(120));
        assert!(s.get(&key(1)).is_none());
    }

    #[test]
    fn nearest_vector_wins_and_dead_ones_go() {
        let s = MemoryStore::new(Duration::from_secs(60), 10, 1_000_000, 10);
        let scope = key(9);
        s.put(key(1), entry("one"), 10);
        s.put(key(2), entry("two"), 10);
        s.put_vector(scope, Arc::from(vec![1.0, 0.0]), key(1), Arc::from("one"));
        s.put_vector(scope, Arc::from(vec![0.0, 1.0]), key(2), Arc::from("two"));
        s.put_vector(scope, Arc::from(vec![0.6, 0.8]), key(3), Arc::from("three")); // no entry
        let found = s.nearest(&scope, &[0.8, 0.6], 0.5);
        assert_eq!(found.len(), 2, "two live vectors above 0.5");
        let (sim, k, text) = &found[0];
        assert_eq!((*k, text.as_ref()), (key(1), "one"));
        assert!((sim - 0.8).abs() < 1e-6);
        assert_eq!(s.nearest(&scope, &[0.8, 0.6], 0.7).len(), 1, "threshold");
        assert!(
            s.nearest(&key(8), &[1.0, 0.0], 0.0).is_empty(),
            "another scope"
        );
        assert_eq!(s.purge(), 2);
        assert!(s.nearest(&scope, &[1.0, 0.0], 0.0).is_empty());
    }

    #[test]
    fn the_vector_index_is_bounded_overall() {
        // 4 entries at most, 3 vectors a scope: 10 scopes never hold more than 4.
        let s = MemoryStore::new(Duration::from_secs(60), 4, 1_000_000, 3);
        for i in 0..10u8 {
            let key: Key = [i; 32];
            s.put(key, entry("a"), 10);
            s.put_vector([100 + i; 32], Arc::from(vec![1.0f32]), key, Arc::from("q"));
            assert!(s.vector_count() <= 4, "{} vectors", s.vector_count());
        }
        // Sweeps drop only what the bound forces (or dead vectors).
        assert!(s.vector_count() >= 1);
    }
}
