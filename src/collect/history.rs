//! What earlier runs stored, read once per `collect` invocation: incremental collectors
//! resume from the latest stored version of their state items in the same scope.

use std::collections::HashMap;

use super::{CollectError, PrevState};
use crate::chain::EvidenceStore;
use crate::digest::Digest;
use crate::record::{Scope, Status};
use crate::store::ObjectStore;

/// Latest digest of each (collector, account, region, item name).
#[derive(Debug, Default)]
pub struct History {
    latest: HashMap<(String, Option<String>, Option<String>, String), Digest>,
}

impl History {
    /// Index every committed record. Failed runs hold no items and are skipped.
    pub async fn read<S: ObjectStore>(store: &EvidenceStore<S>) -> Result<History, CollectError> {
        let mut latest = HashMap::new();
        for r in store.records().await? {
            if r.record.status == Status::Failed {
                continue;
            }
            for item in &r.record.items {
                latest.insert(
                    (
                        r.record.collector.clone(),
                        r.record.scope.account.clone(),
                        r.record.scope.region.clone(),
                        item.name.clone(),
                    ),
                    item.digest,
                );
            }
        }
        Ok(History { latest })
    }

    /// Load the named items of the latest runs of `collector` in `scope`.
    pub async fn load<S: ObjectStore>(
        &self,
        store: &EvidenceStore<S>,
        collector: &str,
        scope: &Scope,
        names: &[&str],
    ) -> Result<PrevState, CollectError> {
        let mut prev = PrevState::default();
        for name in names {
            let key = (
                collector.to_string(),
                scope.account.clone(),
                scope.region.clone(),
                name.to_string(),
            );
            if let Some(d) = self.latest.get(&key) {
                if let Some(bytes) = store.blob(d).await? {
                    prev.items.insert(name.to_string(), bytes);
                }
            }
        }
        Ok(prev)
    }
}
