//! Named pause points for crash tests.
//!
//! When `EVIDENCED_FAILPOINT` names a point, the process announces it on stderr
//! (`failpoint <name> reached`) and waits until its standard input closes. A test uses this
//! to SIGKILL a writer at an exact step (for example between the blob writes and the record
//! commit) without sleeping or racing. Unset, it costs one environment lookup.

use std::io::{BufRead, Write};

/// Variable that arms a failpoint.
pub const ENV: &str = "EVIDENCED_FAILPOINT";

/// Pause here if the failpoint `name` is armed.
pub fn hit(name: &str) {
    let armed = std::env::var(ENV).ok();
    if armed.as_deref() != Some(name) {
        return;
    }
    let mut err = std::io::stderr();
    let _ = writeln!(err, "failpoint {name} reached");
    let _ = err.flush();
    let mut line = String::new();
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    while lock.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
        line.clear();
    }
}
