//! The daemon's clock: one task per job that sleeps until the job's next cron occurrence
//! (UTC) and fires it. The schedule is parsed once, by [`super::schedule::parse`], so the
//! expression that was validated is the one that fires; there is no second cron engine.
//!
//! Each wait is computed from the wall clock after the previous occurrence, strictly after
//! it, so an occurrence never fires twice and a wall-clock step (NTP) is absorbed at the
//! next wait. Occurrences missed while the process was not running are the catch-up's
//! business, not the ticker's.

use std::sync::atomic::AtomicU8;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use croner::Cron;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::schedule::next_after;

/// Fire `fire` at every occurrence of `cron` until `stop` is cancelled.
pub fn spawn<F>(name: String, cron: Cron, stop: CancellationToken, fire: F) -> JoinHandle<()>
where
    F: Fn() + Send + 'static,
{
    tokio::spawn(async move {
        let mut after = Utc::now();
        loop {
            let Some(next) = next_after(&cron, after) else {
                tracing::warn!(collector = %name, "The schedule fires no more; not ticking.");
                return;
            };
            // Wake at the occurrence; a wall clock that is early still waits for it.
            loop {
                let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                if wait.is_zero() {
                    break;
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            if stop.is_cancelled() {
                return;
            }
            fire();
            after = next.max(Utc::now());
        }
    })
}

/// Marker for a job's run slot, shared with [`super::Shared::fire`].
pub type Slot = Arc<AtomicU8>;
