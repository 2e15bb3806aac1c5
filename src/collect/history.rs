//! Where incremental collectors resume: the latest stored version of each of their state
//! items in the same scope. The chain is read backward from its head, a batch of records at
//! a time, and only until every item asked for is found, so a daemon that runs every hour
//! for years reads the few latest records per run, not the whole chain. Collectors without
//! state items read nothing.

use futures::stream::{self, StreamExt, TryStreamExt};

use super::{CollectError, PrevState};
use crate::chain::EvidenceStore;
use crate::record::{Scope, Status};
use crate::store::ObjectStore;

/// Records read at a time while searching backward.
const BATCH: u64 = 16;

/// The chain's head when this `collect` invocation started.
#[derive(Debug, Default)]
pub struct History {
    /// Sequence number of the head (0: an empty chain).
    head: u64,
}

impl History {
    /// Find the chain's head (no record is read yet but the head): a bounded number of
    /// requests however long the chain is.
    pub async fn read<S: ObjectStore>(store: &EvidenceStore<S>) -> Result<History, CollectError> {
        Ok(History {
            head: store.head().await?.seq,
        })
    }

    /// Load the latest version of each of `names` stored by a run of `collector` in
    /// `scope` (failed runs hold no items and are passed over).
    pub async fn load<S: ObjectStore>(
        &self,
        store: &EvidenceStore<S>,
        collector: &str,
        scope: &Scope,
        names: &[&str],
    ) -> Result<PrevState, CollectError> {
        let mut prev = PrevState::default();
        let mut wanted: Vec<&str> = names.to_vec();
        let mut end = self.head;
        while end > 0 && !wanted.is_empty() {
            let start = end.saturating_sub(BATCH - 1).max(1);
            // A record missing from the chain is passed over here (`verify` names it).
            let records: Vec<_> = stream::iter(start..=end)
                .map(|seq| store.record(seq))
                .buffered(BATCH as usize)
                .try_collect::<Vec<_>>()
                .await?;
            end = start - 1;
            for r in records.iter().rev().flatten() {
                let rec = &r.record;
                if rec.collector != collector || rec.scope != *scope || rec.status == Status::Failed
                {
                    continue;
                }
                for item in &rec.items {
                    let Some(i) = wanted.iter().position(|n| *n == item.name) else {
                        continue;
                    };
                    wanted.swap_remove(i);
                    if let Some(bytes) = store.blob(&item.digest).await? {
                        prev.items.insert(item.name.clone(), bytes);
                    }
                }
            }
        }
        Ok(prev)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::digest::Blob;
    use crate::record::{now_millis, Draft, Item};
    use crate::store::counting::Counting;

    fn scope(region: &str) -> Scope {
        Scope {
            account: Some("111122223333".into()),
            region: Some(region.into()),
        }
    }

    async fn run(
        store: &EvidenceStore<Counting>,
        collector: &str,
        region: &str,
        status: Status,
        state: &str,
    ) {
        let blob = Blob::new(state.as_bytes().to_vec());
        let items = match status {
            Status::Failed => Vec::new(),
            _ => vec![Item {
                name: "x/state.json".into(),
                digest: blob.digest(),
                size: blob.size(),
                media_type: "application/json".into(),
                observed_at: now_millis(),
            }],
        };
        let blobs = match status {
            Status::Failed => Vec::new(),
            _ => vec![blob],
        };
        let draft = Draft {
            collector: collector.into(),
            kind: "backup".into(),
            scope: scope(region),
            status,
            errors: Vec::new(),
            items,
            caller_arn: None,
            api_calls: Vec::new(),
        };
        store.append(draft, &blobs).await.unwrap();
    }

    #[tokio::test]
    async fn the_latest_state_is_found_by_reading_back_from_the_head_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::new(Counting::new(dir.path()));
        run(&store, "backup", "us-east-1", Status::Complete, "v1").await;
        for i in 0..60 {
            run(
                &store,
                "alarms",
                "us-east-1",
                Status::Complete,
                &format!("a{i}"),
            )
            .await;
        }
        run(&store, "backup", "us-east-1", Status::Partial, "v2").await;
        run(&store, "backup", "eu-west-1", Status::Complete, "eu").await;
        run(&store, "backup", "us-east-1", Status::Failed, "").await;
        let history = History::read(&store).await.unwrap();
        store.backend().record_gets.store(0, Ordering::SeqCst);

        let prev = history
            .load(&store, "backup", &scope("us-east-1"), &["x/state.json"])
            .await
            .unwrap();
        // The latest run that stored it, in the same scope, past a failed run.
        assert_eq!(prev.get("x/state.json"), Some(&b"v2"[..]));
        let reads = store.backend().record_gets.load(Ordering::SeqCst);
        assert!(reads <= BATCH as usize, "{reads} records read of 64");

        // Nothing to resume reads nothing.
        store.backend().record_gets.store(0, Ordering::SeqCst);
        let none = history
            .load(&store, "alarms", &scope("us-east-1"), &[])
            .await
            .unwrap();
        assert!(none.items.is_empty());
        assert_eq!(store.backend().record_gets.load(Ordering::SeqCst), 0);

        // A scope never collected has no state (every record was looked at).
        let absent = history
            .load(&store, "backup", &scope("ap-south-1"), &["x/state.json"])
            .await
            .unwrap();
        assert!(absent.items.is_empty());
    }
}
