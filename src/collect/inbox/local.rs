//! The directory inbox, trusting no path in it.
//!
//! - Every entry is opened relative to the inbox directory without following links
//!   (`O_NOFOLLOW`, and `O_NONBLOCK` so that opening a FIFO cannot hang), the opened handle
//!   must be a regular file, and at most the cap plus one byte is read from it, whatever
//!   size it reports.
//! - A file is taken once it has stopped changing: unmodified for the settle interval (or
//!   with a `<name>.ready` marker beside it), the same file (device, inode, size and
//!   modification time) at listing, when opened and after it was read.
//! - `rejected/` is opened the same way and must be a real directory; a rejected file is
//!   renamed into it through the two directory handles, so it never leaves the inbox tree,
//!   and its reason is written with create-new, so nothing is ever overwritten.
//!
//! These functions block; [`super::Source`] runs them on the blocking pool.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::Path;
use std::time::{Duration, SystemTime};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::entry::{self, Entry, FileKind, Listing, Read, Skip, Stat};
use super::{InboxError, REJECTED};

/// Suffix of a ready marker: `<name>.ready` makes `<name>` ready at once.
pub const READY: &str = ".ready";
/// Suffix of the reason written beside a rejected file.
pub const REASON: &str = ".reason";

fn io_err(dir: &Path, name: &str) -> impl FnOnce(std::io::Error) -> InboxError {
    let path = dir.join(name).display().to_string();
    move |source| InboxError::Io { path, source }
}

fn errno(dir: &Path, name: &str) -> impl FnOnce(Errno) -> InboxError {
    let f = io_err(dir, name);
    move |e| f(e.into())
}

/// The inbox directory itself. The configured path is the operator's and is followed.
fn open_dir(dir: &Path) -> Result<OwnedFd, InboxError> {
    rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno(dir, ""))
}

/// A single path component: not empty, no `/`, not `.` or `..`.
pub fn is_plain(name: &[u8]) -> bool {
    !name.is_empty() && !name.contains(&b'/') && name != b"." && name != b".."
}

fn with_suffix(raw: &OsStr, suffix: &str) -> OsString {
    let mut v = raw.as_bytes().to_vec();
    v.extend_from_slice(suffix.as_bytes());
    OsString::from_vec(v)
}

/// List the inbox: the files to read, sorted, and every other entry with the reason it is
/// left. Also returns how long to wait before reading, so that files modified just before
/// the listing can still settle in this run (at most `settle`).
pub fn list(dir: &Path, settle: Duration) -> Result<(Listing, Duration), InboxError> {
    let mut listing = Listing {
        can_reject: true,
        ..Listing::default()
    };
    let mut candidates: Vec<(OsString, Stat)> = Vec::new();
    let mut markers: HashSet<OsString> = HashSet::new();
    let rd = std::fs::read_dir(dir).map_err(io_err(dir, ""))?;
    for e in rd {
        let e = e.map_err(io_err(dir, ""))?;
        let raw = e.file_name();
        let bytes = raw.as_bytes();
        let (name, _) = entry::recorded_name(bytes);
        // The type of the entry itself (a link is not followed).
        let kind = match e.file_type() {
            Ok(ft) => FileKind::of(ft),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                listing.skip(name, Skip::Gone);
                continue;
            }
            Err(err) => return Err(io_err(dir, &name)(err)),
        };
        if bytes == REJECTED.as_bytes() {
            if kind != FileKind::Directory {
                let why = Skip::RejectedNotDir(kind);
                tracing::warn!(inbox = %dir.display(), problem = %why, "Inbox cannot move rejected files aside.");
                listing.problems.push(why.to_string());
                listing.can_reject = false;
                listing.skip(name, why);
            }
            continue;
        }
        if bytes.starts_with(b".") {
            listing.skip(name, Skip::DotFile);
            continue;
        }
        if kind != FileKind::Regular {
            listing.skip(
                name,
                Skip::NotAFile {
                    kind,
                    replaced: false,
                },
            );
            continue;
        }
        if bytes.ends_with(REASON.as_bytes()) {
            listing.skip(name, Skip::ReasonFile);
            continue;
        }
        if bytes.ends_with(READY.as_bytes()) {
            markers.insert(raw);
            continue;
        }
        match e.metadata() {
            Ok(m) => candidates.push((raw, Stat::of(&m))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                listing.skip(name, Skip::Gone)
            }
            Err(err) => return Err(io_err(dir, &name)(err)),
        }
    }
    let now = SystemTime::now();
    let mut wait = Duration::ZERO;
    for (raw, stat) in candidates {
        let ready = markers.remove(&with_suffix(&raw, READY));
        let (name, bad_name) = entry::recorded_name(raw.as_bytes());
        if !ready && !settle.is_zero() {
            // Modified within the interval: worth one wait in this run. Modified in the
            // future: not settled in this run at all (read will say so).
            if let Some(age) = stat.age(now) {
                wait = wait.max(settle.saturating_sub(age));
            }
        }
        listing.files.push(Entry {
            name,
            raw,
            bad_name,
            listed: Some(stat),
            ready,
            settle,
        });
    }
    for m in markers {
        listing.skip(entry::recorded_name(m.as_bytes()).0, Skip::OrphanReady);
    }
    listing.files.sort_by(|a, b| a.raw.cmp(&b.raw));
    listing.skipped.sort_by(|a, b| a.file.cmp(&b.file));
    Ok((listing, wait))
}

/// Read a listed file: at most `max + 1` bytes, from a handle opened without following a
/// link and checked to be the regular file the listing saw.
pub fn read(dir: &Path, e: &Entry, max: usize) -> Result<Read, InboxError> {
    let dirfd = open_dir(dir)?;
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY;
    let fd = match rustix::fs::openat(&dirfd, &e.raw, flags | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(Read::Skip(Skip::Gone)),
        Err(err) => {
            // ELOOP (a link), ENXIO (a socket), …: say what took the file's place.
            return match std::fs::symlink_metadata(dir.join(&e.raw)) {
                Ok(m) => match FileKind::of(m.file_type()) {
                    FileKind::Regular => Err(errno(dir, &e.name)(err)),
                    kind => Ok(Read::Skip(Skip::NotAFile {
                        kind,
                        replaced: true,
                    })),
                },
                Err(m) if m.kind() == std::io::ErrorKind::NotFound => Ok(Read::Skip(Skip::Gone)),
                Err(_) => Err(errno(dir, &e.name)(err)),
            };
        }
    };
    let file = File::from(fd);
    let m = file.metadata().map_err(io_err(dir, &e.name))?;
    let kind = FileKind::of(m.file_type());
    if kind != FileKind::Regular {
        return Ok(Read::Skip(Skip::NotAFile {
            kind,
            replaced: true,
        }));
    }
    {
        use std::os::unix::fs::MetadataExt as _;
        if m.nlink() > 1 {
            return Ok(Read::Skip(Skip::HardLink(m.nlink())));
        }
    }
    let opened = Stat::of(&m);
    if let Some(listed) = e.listed {
        if (listed.dev, listed.ino) != (opened.dev, opened.ino) {
            return Ok(still("replaced since it was listed"));
        }
        if listed != opened {
            return Ok(still(
                "size or modification time changed since it was listed",
            ));
        }
    }
    if !e.ready && !e.settle.is_zero() {
        match opened.age(SystemTime::now()) {
            None => {
                return Ok(still(&format!(
                "modified in the future (settle interval {}s; a .ready marker takes it at once)",
                e.settle.as_secs()
            )))
            }
            Some(age) if age < e.settle => {
                return Ok(still(&format!(
                    "modified {}s ago, within the settle interval of {}s",
                    age.as_secs(),
                    e.settle.as_secs()
                )))
            }
            Some(_) => {}
        }
    }
    if opened.size > max as u64 {
        return Ok(Read::TooLarge {
            size: Some(opened.size),
        });
    }
    let mut bytes = Vec::new();
    (&file)
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err(dir, &e.name))?;
    let after = file.metadata().map_err(io_err(dir, &e.name))?;
    if Stat::of(&after) != opened {
        return Ok(still("changed while it was read"));
    }
    if bytes.len() > max {
        return Ok(Read::TooLarge { size: None });
    }
    if bytes.len() as u64 != opened.size {
        return Ok(still(&format!(
            "{} bytes read, but its size says {}",
            bytes.len(),
            opened.size
        )));
    }
    Ok(Read::Bytes(bytes))
}

fn still(detail: &str) -> Read {
    Read::Skip(Skip::StillChanging(detail.to_string()))
}

fn unlink_if_present<Fd: AsFd>(dirfd: Fd, name: &OsStr) -> Result<(), Errno> {
    match rustix::fs::unlinkat(dirfd, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Remove an accepted file and its ready marker. Removing never follows a link (a link
/// that took the file's place is removed itself).
pub fn remove(dir: &Path, name: &str) -> Result<(), InboxError> {
    if !is_plain(name.as_bytes()) {
        return Err(InboxError::Refused {
            path: dir.join(name).display().to_string(),
            message: "not a file name directly in the inbox".into(),
        });
    }
    let dirfd = open_dir(dir)?;
    rustix::fs::unlinkat(&dirfd, name, AtFlags::empty()).map_err(errno(dir, name))?;
    let marker = format!("{name}{READY}");
    unlink_if_present(&dirfd, OsStr::new(&marker)).map_err(errno(dir, &marker))
}

/// `rejected/`, opened without following a link: created when missing, refused when
/// anything but a real directory.
fn open_rejected(dir: &Path, dirfd: &OwnedFd) -> Result<File, InboxError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let open = || rustix::fs::openat(dirfd, REJECTED, flags, Mode::empty());
    let refused = |kind: String| InboxError::Refused {
        path: dir.join(REJECTED).display().to_string(),
        message: format!("is a {kind}, not a directory; rejected files stay in the inbox"),
    };
    let fd = match open() {
        Ok(fd) => fd,
        Err(Errno::NOENT) => {
            match rustix::fs::mkdirat(dirfd, REJECTED, Mode::from_raw_mode(0o777)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(errno(dir, REJECTED)(e)),
            }
            open().map_err(errno(dir, REJECTED))?
        }
        Err(e @ (Errno::LOOP | Errno::NOTDIR | Errno::MLINK)) => {
            return Err(match std::fs::symlink_metadata(dir.join(REJECTED)) {
                Ok(m) => refused(FileKind::of(m.file_type()).to_string()),
                Err(_) => errno(dir, REJECTED)(e),
            })
        }
        Err(e) => return Err(errno(dir, REJECTED)(e)),
    };
    // O_DIRECTORY | O_NOFOLLOW already refused anything else; checked once more on the
    // handle itself.
    let fd = File::from(fd);
    match fd.metadata().map(|m| FileKind::of(m.file_type())) {
        Ok(FileKind::Directory) => Ok(fd),
        Ok(kind) => Err(refused(kind.to_string())),
        Err(e) => Err(io_err(dir, REJECTED)(e)),
    }
}

/// Move a rejected file into `rejected/` under its recorded name (numbered when taken),
/// with `<name>.reason` beside it; its ready marker is removed. Returns the name used.
pub fn reject(dir: &Path, e: &Entry, reason: &str) -> Result<String, InboxError> {
    let dirfd = open_dir(dir)?;
    let rdir = open_rejected(dir, &dirfd)?;
    // Only the file that was read is moved: anything that took its place stays.
    if let Some(listed) = e.listed {
        use std::os::unix::fs::MetadataExt as _;
        let now = std::fs::symlink_metadata(dir.join(&e.raw)).map_err(io_err(dir, &e.name))?;
        if (now.dev(), now.ino()) != (listed.dev, listed.ino) {
            return Err(InboxError::Refused {
                path: dir.join(&e.name).display().to_string(),
                message: "replaced since it was read; left in the inbox".into(),
            });
        }
    }
    let base = entry::rejected_base(&e.name);
    let at = |t: &str| format!("{REJECTED}/{t}");
    let mut n = 1;
    let target = loop {
        let target = match n {
            1 => base.to_string(),
            n => format!("{base}.{n}"),
        };
        n += 1;
        let reason_name = format!("{target}{REASON}");
        // The reason file claims the name: created new, never through a link.
        let claim = rustix::fs::openat(
            &rdir,
            reason_name.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        );
        let fd = match claim {
            Ok(fd) => fd,
            Err(Errno::EXIST) => continue,
            Err(err) => return Err(errno(dir, &at(&reason_name))(err)),
        };
        match rustix::fs::statat(&rdir, target.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => {}
            Ok(_) => {
                // A file without its reason holds this name: keep it, try the next.
                drop(fd);
                unlink_if_present(&rdir, OsStr::new(&reason_name))
                    .map_err(errno(dir, &at(&reason_name)))?;
                continue;
            }
            Err(err) => return Err(errno(dir, &at(&target))(err)),
        }
        let mut f = File::from(fd);
        f.write_all(format!("{reason}\n").as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io_err(dir, &at(&reason_name)))?;
        if let Err(err) = rustix::fs::renameat(&dirfd, &e.raw, &rdir, target.as_str()) {
            let _ = unlink_if_present(&rdir, OsStr::new(&reason_name));
            return Err(errno(dir, &e.name)(err));
        }
        break target;
    };
    let marker = with_suffix(&e.raw, READY);
    if let Err(err) = unlink_if_present(&dirfd, &marker) {
        tracing::warn!(file = %e.name, error = %err, "Ready marker of a rejected file not removed.");
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    const MAX: usize = 1024;

    fn inbox() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        (dir, inbox)
    }

    /// Set a file's modification time `secs` from now (negative: in the past).
    fn set_mtime(path: &Path, secs: i64) {
        let now = SystemTime::now();
        let t = match secs >= 0 {
            true => now + Duration::from_secs(secs.unsigned_abs()),
            false => now - Duration::from_secs(secs.unsigned_abs()),
        };
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    fn listed(inbox: &Path, settle: u64) -> Listing {
        list(inbox, Duration::from_secs(settle)).unwrap().0
    }

    fn only(listing: &Listing) -> &Entry {
        assert_eq!(listing.files.len(), 1, "{listing:?}");
        &listing.files[0]
    }

    fn skip_of(r: Read) -> Skip {
        match r {
            Read::Skip(s) => s,
            other => panic!("not skipped: {other:?}"),
        }
    }

    fn mkfifo(path: &Path) {
        let st = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(st.success());
    }

    #[test]
    fn a_symlink_swapped_in_after_listing_is_not_followed() {
        let (dir, inbox) = inbox();
        let secret = dir.path().join("secret.pem");
        std::fs::write(&secret, "SECRET KEY BYTES").unwrap();
        std::fs::write(inbox.join("drill.md"), "harmless").unwrap();
        let l = listed(&inbox, 0);
        let e = only(&l);
        std::fs::remove_file(inbox.join("drill.md")).unwrap();
        std::os::unix::fs::symlink(&secret, inbox.join("drill.md")).unwrap();
        let why = skip_of(read(&inbox, e, MAX).unwrap());
        assert_eq!(
            why,
            Skip::NotAFile {
                kind: FileKind::Symlink,
                replaced: true
            }
        );
        assert!(why.to_string().contains("never followed"), "{why}");
    }

    #[test]
    fn a_file_swapped_for_another_after_listing_waits_for_the_next_run() {
        let (_dir, inbox) = inbox();
        std::fs::write(inbox.join("drill.md"), "first").unwrap();
        let l = listed(&inbox, 0);
        std::fs::write(inbox.join("other"), "second").unwrap();
        std::fs::rename(inbox.join("other"), inbox.join("drill.md")).unwrap();
        let why = skip_of(read(&inbox, only(&l), MAX).unwrap());
        assert!(
            why.to_string().contains("replaced since it was listed"),
            "{why}"
        );
    }

    #[test]
    fn a_fifo_is_skipped_at_listing_and_when_swapped_in_never_blocks() {
        let (_dir, inbox) = inbox();
        mkfifo(&inbox.join("pipe.md"));
        std::fs::write(inbox.join("drill.md"), "x").unwrap();
        let l = listed(&inbox, 0);
        assert_eq!(l.skipped.len(), 1);
        assert_eq!(l.skipped[0].file, "pipe.md");
        assert!(l.skipped[0].reason.starts_with("FIFO"), "{:?}", l.skipped);
        // A FIFO (with no writer) in the listed file's place: opened without blocking,
        // refused on the handle, never read.
        std::fs::remove_file(inbox.join("drill.md")).unwrap();
        mkfifo(&inbox.join("drill.md"));
        let why = skip_of(read(&inbox, only(&l), MAX).unwrap());
        assert_eq!(
            why,
            Skip::NotAFile {
                kind: FileKind::Fifo,
                replaced: true
            }
        );
    }

    #[test]
    fn a_link_to_dev_zero_is_skipped_and_never_read() {
        let (_dir, inbox) = inbox();
        std::os::unix::fs::symlink("/dev/zero", inbox.join("zero.md")).unwrap();
        let l = listed(&inbox, 0);
        assert!(l.files.is_empty());
        assert_eq!(l.skipped[0].file, "zero.md");
        assert_eq!(l.skipped[0].reason, "symlink: links are never followed");
    }

    #[test]
    fn reading_is_bounded_whatever_the_reported_size() {
        let (_dir, inbox) = inbox();
        std::fs::write(inbox.join("big.md"), vec![b'x'; MAX + 10]).unwrap();
        std::fs::write(inbox.join("fits.md"), vec![b'x'; MAX]).unwrap();
        let l = listed(&inbox, 0);
        assert!(matches!(
            read(&inbox, &l.files[0], MAX).unwrap(),
            Read::TooLarge { size: Some(s) } if s == MAX as u64 + 10
        ));
        assert!(
            matches!(read(&inbox, &l.files[1], MAX).unwrap(), Read::Bytes(b) if b.len() == MAX)
        );
        // The bounded read itself: /dev/zero reports size 0 and never ends. The file read
        // from the handle stops at the cap plus one byte.
        let mut bytes = Vec::new();
        File::open("/dev/zero")
            .unwrap()
            .take(MAX as u64 + 1)
            .read_to_end(&mut bytes)
            .unwrap();
        assert_eq!(bytes.len(), MAX + 1);
    }

    #[test]
    fn a_file_modified_within_the_settle_interval_is_left_until_it_settles() {
        let (_dir, inbox) = inbox();
        let p = inbox.join("slow.md");
        std::fs::write(&p, "first half").unwrap();
        // Decided by the timestamps: modified "just now" as far as any interval goes.
        set_mtime(&p, 3600);
        let (l, wait) = list(&inbox, Duration::from_secs(5)).unwrap();
        assert_eq!(wait, Duration::ZERO, "a future time is not waited for");
        let why = skip_of(read(&inbox, only(&l), MAX).unwrap());
        assert!(why.to_string().starts_with("still changing"), "{why}");
        std::fs::write(&p, "first half, second half").unwrap();
        set_mtime(&p, -60);
        let (l, wait) = list(&inbox, Duration::from_secs(5)).unwrap();
        assert_eq!(wait, Duration::ZERO);
        match read(&inbox, only(&l), MAX).unwrap() {
            Read::Bytes(b) => assert_eq!(b, b"first half, second half"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_recent_file_is_waited_for_once_and_a_ready_marker_skips_the_wait() {
        let (_dir, inbox) = inbox();
        std::fs::write(inbox.join("fresh.md"), "x").unwrap();
        set_mtime(&inbox.join("fresh.md"), -2);
        let (_, wait) = list(&inbox, Duration::from_secs(5)).unwrap();
        assert!(
            wait > Duration::from_secs(2) && wait <= Duration::from_secs(3),
            "{wait:?}"
        );
        std::fs::write(inbox.join("fresh.md.ready"), "").unwrap();
        let (l, wait) = list(&inbox, Duration::from_secs(5)).unwrap();
        assert_eq!(wait, Duration::ZERO);
        // The marker is the file's companion, not an entry of its own.
        assert!(l.skipped.is_empty(), "{:?}", l.skipped);
        set_mtime(&inbox.join("fresh.md"), 3600);
        let (l, _) = list(&inbox, Duration::from_secs(5)).unwrap();
        assert!(matches!(
            read(&inbox, only(&l), MAX).unwrap(),
            Read::Bytes(_)
        ));
        remove(&inbox, "fresh.md").unwrap();
        assert_eq!(
            std::fs::read_dir(&inbox).unwrap().count(),
            0,
            "marker removed too"
        );
    }

    #[test]
    fn every_entry_not_taken_is_listed_with_its_reason() {
        let (_dir, inbox) = inbox();
        std::fs::write(inbox.join("drill.md"), "x").unwrap();
        std::fs::write(inbox.join(".partial.md"), "x").unwrap();
        std::fs::write(inbox.join("old.md.reason"), "x").unwrap();
        std::fs::write(inbox.join("lost.md.ready"), "").unwrap();
        std::fs::create_dir(inbox.join("sub")).unwrap();
        std::fs::create_dir(inbox.join(REJECTED)).unwrap();
        std::os::unix::fs::symlink("drill.md", inbox.join("link.md")).unwrap();
        mkfifo(&inbox.join("fifo.md"));
        let sock = std::os::unix::net::UnixListener::bind(inbox.join("sock.md")).unwrap();
        let l = listed(&inbox, 0);
        drop(sock);
        assert_eq!(only(&l).name, "drill.md");
        let got: Vec<(&str, &str)> = l
            .skipped
            .iter()
            .map(|s| (s.file.as_str(), s.reason.split(':').next().unwrap_or("")))
            .collect();
        assert_eq!(
            got,
            [
                (".partial.md", "dot-file"),
                ("fifo.md", "FIFO"),
                ("link.md", "symlink"),
                ("lost.md.ready", "ready marker without its file"),
                ("old.md.reason", ".reason file"),
                ("sock.md", "socket"),
                ("sub", "directory"),
            ]
        );
        assert!(l.problems.is_empty() && l.can_reject);
    }

    #[test]
    fn rejected_that_is_not_a_directory_is_a_problem_not_a_path() {
        for make in ["file", "symlink"] {
            let (dir, inbox) = inbox();
            let outside = dir.path().join("outside");
            std::fs::create_dir(&outside).unwrap();
            match make {
                "file" => std::fs::write(inbox.join(REJECTED), "not a dir").unwrap(),
                _ => std::os::unix::fs::symlink(&outside, inbox.join(REJECTED)).unwrap(),
            }
            std::fs::write(inbox.join("bad.md"), "bad").unwrap();
            let l = listed(&inbox, 0);
            assert!(!l.can_reject);
            assert_eq!(l.problems.len(), 1);
            let kind = match make {
                "file" => "regular file",
                _ => "symlink",
            };
            assert_eq!(
                l.problems[0],
                format!("inbox/rejected is a {kind}; rejected files stay in the inbox until it is a directory")
            );
            assert_eq!(l.skipped[0].file, REJECTED);
            // Even asked to, rejecting refuses to write through it.
            let err = reject(&inbox, only(&l), "reason").unwrap_err().to_string();
            assert!(err.contains("not a directory"), "{err}");
            assert!(inbox.join("bad.md").exists());
            assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        }
    }

    #[test]
    fn a_non_utf8_name_is_rejected_under_its_escaped_name() {
        let (_dir, inbox) = inbox();
        let raw = OsStr::from_bytes(b"drill-\xff\xfe.md");
        std::fs::write(inbox.join(raw), "bytes").unwrap();
        let l = listed(&inbox, 0);
        let e = only(&l);
        assert_eq!(e.name, "drill-\\xff\\xfe.md");
        let why = e.name_rejection().unwrap();
        assert!(
            why.contains("not valid UTF-8") && why.contains("\\xff\\xfe"),
            "{why}"
        );
        assert!(matches!(read(&inbox, e, MAX).unwrap(), Read::Bytes(b) if b == b"bytes"));
        assert_eq!(reject(&inbox, e, &why).unwrap(), "drill-\\xff\\xfe.md");
        assert_eq!(
            std::fs::read(inbox.join(REJECTED).join("drill-\\xff\\xfe.md")).unwrap(),
            b"bytes"
        );
        assert!(!inbox.join(raw).exists());
    }

    #[test]
    fn rejections_never_overwrite_and_a_file_without_reason_keeps_its_name() {
        let (_dir, inbox) = inbox();
        std::fs::create_dir(inbox.join(REJECTED)).unwrap();
        std::fs::write(inbox.join(REJECTED).join("bad.md"), "earlier").unwrap();
        std::fs::write(inbox.join(REJECTED).join("bad.md.2.reason"), "earlier").unwrap();
        std::fs::write(inbox.join("bad.md"), "now").unwrap();
        let l = listed(&inbox, 0);
        assert_eq!(reject(&inbox, only(&l), "why").unwrap(), "bad.md.3");
        let r = inbox.join(REJECTED);
        assert_eq!(std::fs::read(r.join("bad.md")).unwrap(), b"earlier");
        assert_eq!(
            std::fs::read(r.join("bad.md.2.reason")).unwrap(),
            b"earlier"
        );
        assert_eq!(std::fs::read(r.join("bad.md.3")).unwrap(), b"now");
        assert_eq!(std::fs::read(r.join("bad.md.3.reason")).unwrap(), b"why\n");
        assert!(!r.join("bad.md.reason").exists());
    }

    #[test]
    fn a_hard_link_is_not_read() {
        let (dir, inbox) = inbox();
        let secret = dir.path().join("secret.pem");
        std::fs::write(&secret, "SECRET").unwrap();
        std::fs::hard_link(&secret, inbox.join("drill.md")).unwrap();
        let l = listed(&inbox, 0);
        assert_eq!(
            skip_of(read(&inbox, only(&l), MAX).unwrap()),
            Skip::HardLink(2)
        );
    }

    #[test]
    fn a_file_replaced_after_it_was_read_is_not_moved_aside() {
        let (_dir, inbox) = inbox();
        std::fs::write(inbox.join("bad.md"), "read").unwrap();
        let l = listed(&inbox, 0);
        std::fs::write(inbox.join("new"), "not read").unwrap();
        std::fs::rename(inbox.join("new"), inbox.join("bad.md")).unwrap();
        let err = reject(&inbox, only(&l), "why").unwrap_err().to_string();
        assert!(err.contains("replaced since it was read"), "{err}");
        assert_eq!(std::fs::read(inbox.join("bad.md")).unwrap(), b"not read");
        assert_eq!(std::fs::read_dir(inbox.join(REJECTED)).unwrap().count(), 0);
    }

    #[test]
    fn remove_takes_only_plain_names() {
        let (_dir, inbox) = inbox();
        for bad in ["", ".", "..", "../x", "a/b"] {
            assert!(remove(&inbox, bad).is_err(), "{bad:?}");
        }
    }
}
