//! Where incremental job collection resumes: per job kind, the newest creation date seen
//! and a fingerprint of each job inside the current window, stored as item
//! `backup/jobs-state.json` of every run.
//!
//! The listing window of a run starts at the newest creation date seen minus the overlap,
//! or earlier when a job seen before has not finished (so its status change is caught);
//! the first run looks back `lookback_days`. A job is emitted when it is new or its
//! fingerprint (the digest of its document) changed. After the run the state holds
//! exactly the jobs listed: anything older than the window cannot be listed again, and a
//! job that AWS dropped from its listing is dropped here too (its earlier documents stay
//! in the store, untouched).

use std::collections::BTreeMap;

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::{Deserialize, Serialize};

/// State of all job kinds.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsState {
    pub backup: KindState,
    pub copy: KindState,
    pub restore: KindState,
}

/// State of one job kind.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindState {
    /// Newest creation date seen (RFC 3339).
    pub cursor: Option<String>,
    pub jobs: BTreeMap<String, Seen>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    pub created: String,
    /// First 16 hex digits of the SHA-256 of the job's canonical document.
    pub fingerprint: String,
    /// Not yet in a final state: the window keeps covering it.
    pub open: bool,
}

/// One job as listed, reduced to what the state needs.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    pub created: String,
    pub fingerprint: String,
    pub open: bool,
}

fn secs(s: &str) -> Option<i64> {
    DateTime::from_str(s, Format::DateTime)
        .ok()
        .map(|d| d.secs())
}

impl KindState {
    /// Start of this run's listing window (seconds since the epoch).
    pub fn window_start(&self, overlap_secs: i64, lookback_secs: i64, now_secs: i64) -> i64 {
        let base = match self.cursor.as_deref().and_then(secs) {
            Some(c) => c - overlap_secs,
            None => now_secs - lookback_secs,
        };
        self.jobs
            .values()
            .filter(|s| s.open)
            .filter_map(|s| secs(&s.created))
            .fold(base, i64::min)
    }

    /// Take in this run's listing; return the ids to emit (new or changed), sorted. (The
    /// collector does the same job by job on a sorted stream, [`Absorb`]; this is the
    /// in-memory form the tests compare it with.)
    #[cfg(test)]
    pub fn absorb(&mut self, mut listed: Vec<Listed>) -> Vec<String> {
        listed.sort_by(|a, b| a.id.cmp(&b.id));
        let mut emit = Vec::new();
        let mut next = BTreeMap::new();
        let mut a = Absorb::new(self);
        for l in listed {
            if a.see(&l) {
                emit.push(l.id.clone());
            }
            next.insert(
                l.id,
                Seen {
                    created: l.created,
                    fingerprint: l.fingerprint,
                    open: l.open,
                },
            );
        }
        self.cursor = a.cursor();
        self.jobs = next;
        emit.dedup();
        emit
    }
}

/// Taking in a listing job by job, in id order: whether each job is to be emitted, and the
/// cursor of the next state. The next state's jobs are exactly the jobs seen.
pub struct Absorb<'a> {
    prev: &'a KindState,
    cursor: Option<String>,
    cursor_secs: Option<i64>,
}

impl<'a> Absorb<'a> {
    pub fn new(prev: &'a KindState) -> Absorb<'a> {
        Absorb {
            prev,
            cursor: prev.cursor.clone(),
            cursor_secs: prev.cursor.as_deref().and_then(secs),
        }
    }

    /// Take in one job; `true` when it is new or changed since the previous state.
    pub fn see(&mut self, l: &Listed) -> bool {
        let created = secs(&l.created);
        let newer = match self.cursor_secs {
            Some(c) => created.is_some_and(|t| t > c),
            None => true,
        };
        if newer {
            self.cursor = Some(l.created.clone());
            self.cursor_secs = created;
        }
        self.prev.jobs.get(&l.id).map(|s| &s.fingerprint) != Some(&l.fingerprint)
    }

    /// Newest creation date seen, for the next state.
    pub fn cursor(self) -> Option<String> {
        self.cursor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(id: &str, created: &str, fp: &str, open: bool) -> Listed {
        Listed {
            id: id.into(),
            created: created.into(),
            fingerprint: fp.into(),
            open,
        }
    }

    #[test]
    fn emits_new_and_changed_jobs_once() {
        let mut s = KindState::default();
        let e = s.absorb(vec![
            l("a", "2026-01-01T00:00:00Z", "1", false),
            l("b", "2026-01-02T00:00:00Z", "2", true),
        ]);
        assert_eq!(e, ["a", "b"]);
        assert_eq!(s.cursor.as_deref(), Some("2026-01-02T00:00:00Z"));
        let e = s.absorb(vec![
            l("a", "2026-01-01T00:00:00Z", "1", false),
            l("b", "2026-01-02T00:00:00Z", "3", false),
            l("c", "2026-01-03T00:00:00Z", "4", false),
        ]);
        assert_eq!(e, ["b", "c"]);
    }

    #[test]
    fn open_jobs_hold_the_window_back() {
        let mut s = KindState::default();
        s.absorb(vec![
            l("old", "2026-01-01T00:00:00Z", "1", true),
            l("new", "2026-01-10T00:00:00Z", "2", false),
        ]);
        let start = s.window_start(3600, 0, 0);
        assert_eq!(Some(start), secs("2026-01-01T00:00:00Z"));
        s.absorb(vec![
            l("old", "2026-01-01T00:00:00Z", "9", false),
            l("new", "2026-01-10T00:00:00Z", "2", false),
        ]);
        assert_eq!(
            Some(s.window_start(3600, 0, 0)),
            secs("2026-01-09T23:00:00Z")
        );
    }
}
