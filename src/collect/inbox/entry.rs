//! What a listing of the inbox finds: the entries to read, the entries left where they are
//! (each with its reason, listed in the run document), and the names the inbox can use.

use std::ffi::OsString;
use std::fmt::{self, Write as _};
use std::time::{Duration, SystemTime};

use serde::Serialize;

/// An entry not taken this run, listed in `inbox/run.json` under `skipped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The entry's name (escaped as for rejected files when it is not a usable name).
    pub file: String,
    pub reason: String,
}

/// What an inbox entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    Symlink,
    Directory,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Unknown,
}

impl FileKind {
    pub fn of(ft: std::fs::FileType) -> FileKind {
        use std::os::unix::fs::FileTypeExt as _;
        match () {
            _ if ft.is_file() => FileKind::Regular,
            _ if ft.is_symlink() => FileKind::Symlink,
            _ if ft.is_dir() => FileKind::Directory,
            _ if ft.is_fifo() => FileKind::Fifo,
            _ if ft.is_socket() => FileKind::Socket,
            _ if ft.is_char_device() => FileKind::CharDevice,
            _ if ft.is_block_device() => FileKind::BlockDevice,
            _ => FileKind::Unknown,
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Regular => "regular file",
            FileKind::Symlink => "symlink",
            FileKind::Directory => "directory",
            FileKind::Fifo => "FIFO",
            FileKind::Socket => "socket",
            FileKind::CharDevice => "character device",
            FileKind::BlockDevice => "block device",
            FileKind::Unknown => "file of unknown type",
        })
    }
}

/// Why an entry is left where it is. The text (`Display`) is the `reason` recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Not a regular file at listing, or (`replaced`) when opened: something else took the
    /// listed file's place.
    NotAFile {
        kind: FileKind,
        replaced: bool,
    },
    /// A regular file with other names too (a hard link may be a path from outside the
    /// inbox to a file it must not read).
    HardLink(u64),
    DotFile,
    /// A `.reason` file directly in the inbox (reasons are written in `rejected/` only).
    ReasonFile,
    /// `<name>.ready` with no regular file `<name>` beside it.
    OrphanReady,
    /// A `.ready` object in an S3 inbox, which needs no markers.
    S3ReadyMarker,
    /// A name never used to build a path or key (`..`, an empty segment).
    UnsafeName(&'static str),
    /// Changed within the settle interval, or while it was read.
    StillChanging(String),
    /// Listed, then gone before it was read.
    Gone,
    /// `rejected` in the inbox is not a real directory.
    RejectedNotDir(FileKind),
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::NotAFile { kind, replaced } => {
                write!(f, "{kind}")?;
                if *replaced {
                    f.write_str(" when opened (it took the listed file's place)")?;
                }
                match kind {
                    FileKind::Symlink => f.write_str(": links are never followed"),
                    FileKind::Directory => {
                        f.write_str(": only files directly in the inbox are read")
                    }
                    _ => f.write_str(": not a regular file, never read"),
                }
            }
            Skip::HardLink(n) => write!(
                f,
                "hard link: the file has {n} names; only a file with a single name is read"
            ),
            Skip::DotFile => {
                f.write_str("dot-file: hidden files (such as partial uploads) are not read")
            }
            Skip::ReasonFile => {
                f.write_str(".reason file: reasons are written in rejected/, not read as records")
            }
            Skip::OrphanReady => f.write_str("ready marker without its file"),
            Skip::S3ReadyMarker => f.write_str(
                ".ready object: an S3 inbox takes objects as listed (uploads appear whole) and reads no markers",
            ),
            Skip::UnsafeName(what) => {
                write!(f, "unsafe name ({what}): never used to build a path or key")
            }
            Skip::StillChanging(detail) => {
                write!(f, "still changing: {detail}; left for the next run")
            }
            Skip::Gone => f.write_str("gone before it was read"),
            Skip::RejectedNotDir(kind) => write!(
                f,
                "inbox/rejected is a {kind}; rejected files stay in the inbox until it is a directory"
            ),
        }
    }
}

/// What a listing saw of a file: reading it later requires the same identity, size and
/// modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub modified: Option<SystemTime>,
}

impl Stat {
    pub fn of(m: &std::fs::Metadata) -> Stat {
        use std::os::unix::fs::MetadataExt as _;
        Stat {
            dev: m.dev(),
            ino: m.ino(),
            size: m.len(),
            modified: m.modified().ok(),
        }
    }

    /// How long ago it was last modified; `None` when in the future (or unknown).
    pub fn age(&self, now: SystemTime) -> Option<Duration> {
        now.duration_since(self.modified?).ok()
    }
}

/// A file to read this run.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name recorded for it: the file name, or its escaped form when the name is not
    /// usable ([`escape`]).
    pub name: String,
    /// The name in the inbox, byte for byte.
    pub(super) raw: OsString,
    /// Why the name itself is refused (the file is then rejected under `name`).
    pub(super) bad_name: Option<&'static str>,
    /// Directory inbox: what the listing saw.
    pub(super) listed: Option<Stat>,
    /// Directory inbox: a `<name>.ready` marker is beside it.
    pub(super) ready: bool,
    /// Directory inbox: how long it must have been unchanged before it is taken.
    pub(super) settle: Duration,
}

impl Entry {
    /// The reason a file is rejected for its name alone, if it is.
    pub fn name_rejection(&self) -> Option<String> {
        self.bad_name.map(|problem| {
            format!(
                "{}: the file name {problem}; it is recorded and kept under this name, with the bytes escaped as \\xNN",
                self.name
            )
        })
    }
}

/// What reading an entry gave.
#[derive(Debug)]
pub enum Read {
    Bytes(Vec<u8>),
    /// More than the cap: the reported size when it says so, `None` when only reading
    /// found out.
    TooLarge {
        size: Option<u64>,
    },
    Skip(Skip),
}

/// The inbox's findings: files to read, entries left alone, and problems of the inbox
/// itself (recorded as run errors).
#[derive(Debug, Default)]
pub struct Listing {
    pub files: Vec<Entry>,
    pub skipped: Vec<Skipped>,
    pub problems: Vec<String>,
    /// False when rejected files cannot be moved aside (`rejected` is not a directory).
    pub can_reject: bool,
}

impl Listing {
    pub(super) fn skip(&mut self, file: String, why: Skip) {
        self.skipped.push(Skipped {
            file,
            reason: why.to_string(),
        });
    }
}

/// Why a name cannot be used as it is (in item names, reason files, S3 keys, messages).
pub fn name_problem(raw: &[u8]) -> Option<&'static str> {
    let Ok(s) = std::str::from_utf8(raw) else {
        return Some("is not valid UTF-8");
    };
    if s.chars().any(char::is_control) {
        return Some("contains control characters");
    }
    if s.chars().any(is_bidi_control) {
        return Some("contains bidirectional-text controls");
    }
    if s.contains('\\') {
        return Some("contains a backslash");
    }
    None
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The name with every byte that makes it unusable written as `\xNN`: invalid UTF-8,
/// control characters, bidirectional-text controls and the backslash itself (so two
/// different names never escape to the same text).
pub fn escape(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    let hex = |out: &mut String, bytes: &[u8]| {
        for b in bytes {
            let _ = write!(out, "\\x{b:02x}");
        }
    };
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || is_bidi_control(c) || c == '\\' {
                hex(&mut out, c.encode_utf8(&mut [0; 4]).as_bytes());
            } else {
                out.push(c);
            }
        }
        hex(&mut out, chunk.invalid());
    }
    out
}

/// The name recorded for `raw`, and why the name is refused (if it is).
pub fn recorded_name(raw: &[u8]) -> (String, Option<&'static str>) {
    match name_problem(raw) {
        None => (String::from_utf8_lossy(raw).into_owned(), None),
        Some(p) => (escape(raw), Some(p)),
    }
}

/// A base name for `rejected/`, short enough that `<name>.<n>.reason` fits a file name.
pub fn rejected_base(name: &str) -> &str {
    const MAX: usize = 200;
    if name.len() <= MAX {
        return name;
    }
    let mut end = MAX;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_names_are_escaped_and_never_collide() {
        assert_eq!(name_problem(b"drill.md"), None);
        assert_eq!(name_problem("é-drill.md".as_bytes()), None);
        assert_eq!(name_problem(b"bad\xff.md"), Some("is not valid UTF-8"));
        assert_eq!(escape(b"bad\xff.md"), "bad\\xff.md");
        assert_eq!(escape(b"a\nb"), "a\\x0ab");
        assert_eq!(escape("a\u{202e}b".as_bytes()), "a\\xe2\\x80\\xaeb");
        // A name spelling out an escape is escaped too: it differs from the escaped name.
        assert_eq!(name_problem(b"bad\\xff.md"), Some("contains a backslash"));
        assert_ne!(escape(b"bad\\xff.md"), escape(b"bad\xff.md"));
        assert_eq!(recorded_name(b"ok.toml"), ("ok.toml".to_string(), None));
        let long = "é".repeat(150);
        let base = rejected_base(&long);
        assert!(base.len() <= 200 && long.starts_with(base));
    }

    #[test]
    fn every_skip_reason_says_what_and_why() {
        let text = |s: Skip| s.to_string();
        assert_eq!(
            text(Skip::NotAFile {
                kind: FileKind::Symlink,
                replaced: false
            }),
            "symlink: links are never followed"
        );
        assert!(text(Skip::NotAFile {
            kind: FileKind::Fifo,
            replaced: true
        })
        .starts_with("FIFO when opened"));
        assert_eq!(
            text(Skip::RejectedNotDir(FileKind::Symlink)),
            "inbox/rejected is a symlink; rejected files stay in the inbox until it is a directory"
        );
        assert!(text(Skip::StillChanging("x".into())).starts_with("still changing"));
    }
}
