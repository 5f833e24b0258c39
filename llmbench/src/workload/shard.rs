//! A shard's part of a workload's requests (`--shard`, docs/distributed.md).
//!
//! Generated prompts (synthetic, fixed lists) are dealt out by index:
//! shard `i` of `N` sends the unsplit run's requests `i − 1`, `i − 1 + N`,
//! `i − 1 + 2N`, … so the shards of a count-bounded run together send
//! exactly the prompts one process would have. Dataset entries are
//! partitioned by a stable hash: of the entry's session (`session`,
//! `session_id` or `conversation_id`, so a conversation stays on one shard),
//! else of the whole entry; each shard shuffles and cycles its own entries
//! as the workload says.

use super::Workload;
use super::dataset::{Dataset, Entry, WorkloadError};
use crate::settings::Shard;

/// The fields that name a session: entries that share one go to the same shard.
pub(crate) const SESSION_KEYS: [&str; 3] = ["session", "session_id", "conversation_id"];

impl Workload {
    /// The workload as shard `shard` sends it. The description (and so the
    /// fingerprint) does not change: every shard runs the same benchmark.
    pub(crate) fn for_shard(mut self, shard: Shard) -> Workload {
        self.shard = (shard.count > 1).then_some(shard);
        self.order = Default::default();
        self
    }

    /// The index in the unsplit run of this shard's request `index` (the
    /// same index for datasets, whose entries are partitioned instead, and
    /// for the cold start's `u64::MAX`).
    pub(super) fn global_index(&self, index: u64) -> u64 {
        match self.shard {
            Some(s) if !self.is_dataset() => u64::from(s.count)
                .checked_mul(index)
                .and_then(|i| i.checked_add(u64::from(s.index - 1)))
                .unwrap_or(index),
            _ => index,
        }
    }

    /// The session of the unsplit run that this shard's session `local`
    /// plays (warm-up sessions included).
    pub(crate) fn session_index(&self, local: u64) -> u64 {
        self.global_index(local)
    }

    /// How a shard's requests interleave with the other shards' in the
    /// unsplit run: every `stride`-th from `first` (1 and 0 unsharded, and
    /// for datasets, whose entries are partitioned instead).
    pub(crate) fn shard_stride(&self) -> (u64, u64) {
        match self.shard {
            Some(s) if !self.is_dataset() => (u64::from(s.count), u64::from(s.index - 1)),
            _ => (1, 0),
        }
    }

    /// Whether this shard sends `entry`.
    pub(super) fn owns(&self, entry: &Entry) -> bool {
        self.shard.is_none_or(|s| owner(entry, s.count) == s.index - 1)
    }

    /// How many entries of `dataset` this shard sends; none is an error.
    pub(super) fn shard_entries(&self, dataset: &Dataset) -> Result<u64, WorkloadError> {
        let n = dataset.entries.iter().filter(|e| self.owns(e)).count() as u64;
        match self.shard {
            Some(s) if n == 0 => Err(WorkloadError::Invalid(format!(
                "{}: none of its {} entries falls to shard {s} (entries are split by a hash of their session, or of \
                 the whole entry): run fewer shards or use a larger dataset",
                dataset.name,
                dataset.entries.len()
            ))),
            _ => Ok(n),
        }
    }
}

/// The shard (from 0) of `count` that sends `entry`: a stable hash of its
/// session, else of the whole entry. FNV-1a, then SplitMix64's finalizer so
/// that similar keys spread evenly; both are fixed forever, so an entry
/// lands on the same shard in every release and on every platform.
pub(crate) fn owner(entry: &Entry, count: u32) -> u32 {
    let session = SESSION_KEYS.iter().find_map(|k| entry.fields.get(*k).filter(|v| !v.is_null()));
    let key = match session {
        Some(v) => format!("session:{v}"),
        None => serde_json::Value::Object(entry.fields.clone()).to_string(),
    };
    let h = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let mut z = h.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % u64::from(count.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn shards(n: u32) -> Vec<Shard> {
        (1..=n).map(|i| Shard::new(i, n).unwrap()).collect()
    }

    fn prompt(w: &Workload, i: u64) -> String {
        w.request(i).messages.last().map(|m| m.content.clone()).unwrap_or_default()
    }

    #[test]
    fn generated_prompts_are_dealt_out_by_index() {
        let whole = Workload::synthetic().input_tokens(8..=16).seed(3);
        let parts: Vec<Workload> = shards(3).into_iter().map(|s| whole.clone().for_shard(s)).collect();
        // Shard 2 of 3 sends the unsplit run's requests 1, 4, 7.
        for (local, global) in [(0, 1), (1, 4), (2, 7)] {
            assert_eq!(prompt(&parts[1], local), prompt(&whole, global));
        }
        // Ten samples split 4, 3, 3: together, exactly requests 0..10.
        let sent: BTreeSet<String> =
            parts.iter().zip([4, 3, 3]).flat_map(|(w, n)| (0..n).map(|i| prompt(w, i))).collect();
        let unsplit: BTreeSet<String> = (0..10).map(|i| prompt(&whole, i)).collect();
        assert_eq!(sent, unsplit);
        assert_eq!(parts[0].describe(), whole.describe(), "every shard describes the same workload");
        assert_eq!(prompt(&parts[2], u64::MAX), prompt(&whole, u64::MAX), "the cold start does not overflow");
    }

    #[test]
    fn a_trace_and_conversations_are_dealt_out_like_generated_prompts() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/datasets/traces/mooncake_sample.jsonl");
        let whole = Workload::trace(path);
        for (k, shard) in shards(2).into_iter().enumerate() {
            let part = whole.clone().for_shard(shard);
            assert_eq!(part.shard_stride(), (2, k as u64));
            // Local request i is the trace's 2i + k (engine/replay.rs schedules it at that entry's instant).
            for i in 0..3 {
                assert_eq!(prompt(&part, i), prompt(&whole, 2 * i + k as u64), "shard {shard}, request {i}");
            }
        }
        let chat = Workload::conversation(2..=4).seed(5);
        let parts: Vec<Workload> = shards(3).into_iter().map(|s| chat.clone().for_shard(s)).collect();
        let played: BTreeSet<u64> = parts.iter().flat_map(|w| (0..4).map(|i| w.session_index(i))).collect();
        assert_eq!(played, (0..12).collect(), "the shards play each session of the unsplit run once");
        assert_eq!(parts[1].script(parts[1].session_index(2)), chat.script(7));
    }

    #[test]
    fn dataset_entries_are_partitioned_and_sessions_stay_together() {
        let mut lines: Vec<String> = (0..40).map(|i| format!("{{\"prompt\": \"question {i}\"}}")).collect();
        for turn in 0..5 {
            lines.push(format!("{{\"prompt\": \"turn {turn}\", \"session_id\": \"s-7\"}}"));
        }
        let whole = Workload::dataset_str("d.jsonl", &lines.join("\n")).shuffle(false);
        let parts: Vec<Workload> = shards(4).into_iter().map(|s| whole.clone().for_shard(s)).collect();
        let sets: Vec<BTreeSet<String>> = parts
            .iter()
            .map(|w| {
                let n = w.dataset_len().unwrap() as u64;
                (0..n).map(|i| prompt(w, i)).collect()
            })
            .collect();
        let all: BTreeSet<String> = sets.iter().flatten().cloned().collect();
        assert_eq!(all.len(), 45, "every entry is sent by some shard");
        assert_eq!(sets.iter().map(BTreeSet::len).sum::<usize>(), 45, "and by one shard only");
        let with_session: Vec<usize> = (0..4).filter(|&s| sets[s].contains("turn 0")).collect();
        assert_eq!(with_session.len(), 1);
        assert!((0..5).all(|t| sets[with_session[0]].contains(&format!("turn {t}"))), "a session stays on one shard");
        assert!(sets.iter().all(|s| s.len() >= 5), "the split is roughly even: {:?}", sets.iter().map(BTreeSet::len));
        assert!(parts.iter().all(|w| w.validate(Some(100)).is_ok()));
    }

    #[test]
    fn a_shard_without_entries_is_refused() {
        let whole = Workload::dataset_str("tiny.jsonl", "{\"prompt\": \"only\"}");
        let errors: Vec<String> = shards(3)
            .into_iter()
            .filter_map(|s| whole.clone().for_shard(s).validate(Some(1)).err())
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("tiny.jsonl: none of its 1 entries falls to shard"), "{errors:?}");
    }
}
