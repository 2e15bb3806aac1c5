//! RFC 3161 time-stamps of checkpoints, against a local Time-Stamping Authority: a root CA
//! and a TSA certificate made with openssl (tests/support/tsa_pki.sh), answered by
//! `openssl ts -reply` behind a one-thread HTTP server on 127.0.0.1 that the test starts and
//! stops. Tokens are stored and verified; a forged, a mismatched and a foreign token are
//! named; a TSA that is down or silent does not stop `submit`, and the gap is filled later.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use evidenced::checkpoint::checkpoint_key;
use evidenced::checkpoint::tsa::token_key;
use serde_json::Value;

use crate::support::{example_files, ok, run, stderr, stdout, write};

/// A local TSA: `openssl ts -reply` per POST, one request at a time; stopped on drop.
pub struct Tsa {
    pub url: String,
    pub pki: tempfile::TempDir,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Tsa {
    /// A new CA and TSA named `name`, serving on a fresh port.
    pub fn start(name: &str) -> Tsa {
        let pki = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(crate::support::root().join("tests/support/tsa_pki.sh"))
            .args([pki.path().to_str().unwrap(), "ec256", name])
            .output()
            .unwrap();
        assert!(out.status.success(), "tsa_pki.sh: {out:?}");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (stop, answered) = (stop.clone(), answered.clone());
            let dir = pki.path().to_path_buf();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(mut conn) = conn {
                        if answer(&mut conn, &dir).unwrap_or(false) {
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            })
        };
        Tsa {
            url: format!("http://{addr}/tsa"),
            pki,
            addr,
            stop,
            answered,
            thread: Some(thread),
        }
    }

    /// The root certificate, for `--tsa-roots`.
    pub fn roots(&self) -> PathBuf {
        self.pki.path().join("root.pem")
    }

    /// Requests answered with a token.
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }
}

impl Drop for Tsa {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serve one HTTP request: a POSTed TimeStampReq gets `openssl ts -reply`'s response.
/// Returns whether a token was sent.
fn answer(conn: &mut TcpStream, dir: &Path) -> std::io::Result<bool> {
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let post = line.starts_with("POST ");
    let mut length = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    std::fs::write(dir.join("q.tsq"), &body)?;
    let out = Command::new("openssl")
        .args([
            "ts",
            "-reply",
            "-queryfile",
            "q.tsq",
            "-signer",
            "tsa.pem",
            "-inkey",
            "tsa.key",
            "-chain",
            "root.pem",
            "-config",
            "tsa.cnf",
            "-out",
            "r.tsr",
        ])
        .current_dir(dir)
        .output()?;
    let (status, reply) = if post && out.status.success() {
        ("200 OK", std::fs::read(dir.join("r.tsr"))?)
    } else {
        ("500 Internal Server Error", b"no".to_vec())
    };
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.len()
    )?;
    conn.write_all(&reply)?;
    conn.flush()?;
    Ok(status == "200 OK")
}

/// A URL on which nothing listens: a port bound and released.
fn closed_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/tsa")
}

/// A store with a signing key and a witness, time-stamped by the TSA at `url`.
struct Store {
    dir: tempfile::TempDir,
    store: String,
    witness: PathBuf,
    config: String,
    key: PathBuf,
}

impl Store {
    fn new() -> Store {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("signing.pem");
        ok(run(&["keygen", key.to_str().unwrap()]));
        Store {
            store: dir.path().join("evidence").display().to_string(),
            witness: dir.path().join("witness"),
            config: String::new(),
            key,
            dir,
        }
    }

    /// (Re)write the configuration: TSA `url`, optional trust roots, other `extra` keys.
    fn configure(&mut self, url: &str, roots: Option<&Path>, extra: &str) {
        let roots = roots.map_or(String::new(), |r| {
            format!("tsa_roots = {:?}\n", r.display().to_string())
        });
        self.config = write(
            self.dir.path(),
            "evidenced.toml",
            &format!(
                "[checkpoint]\nkey_file = {:?}\nwitness = {:?}\ntsa_url = {url:?}\n{roots}{extra}",
                self.key.display().to_string(),
                self.witness.display().to_string(),
            ),
        );
    }

    /// `submit` the `i`-th example file.
    fn submit(&self, i: usize) -> Output {
        let f = &example_files()[i];
        run(&[
            "--config",
            &self.config,
            "--store",
            &self.store,
            "submit",
            f.to_str().unwrap(),
        ])
    }

    fn verify(&self, extra: &[&str]) -> (Option<i32>, String) {
        let mut args = vec!["--config", &self.config, "--store", &self.store, "verify"];
        args.extend_from_slice(extra);
        let out = run(&args);
        (
            out.status.code(),
            format!("{}{}", stdout(&out), stderr(&out)),
        )
    }

    fn path(&self, key: &str) -> PathBuf {
        Path::new(&self.store).join(key)
    }
}

/// A store of three checkpoints, each time-stamped by `tsa`.
fn stamped(tsa: &Tsa) -> Store {
    let mut s = Store::new();
    s.configure(&tsa.url, None, "");
    for i in 0..3 {
        ok(s.submit(i));
    }
    s
}

#[test]
fn each_checkpoint_gets_a_token_that_verifies_offline_with_evidenced_and_openssl() {
    let tsa = Tsa::start("Local");
    let s = stamped(&tsa);
    assert_eq!(tsa.answered(), 3);
    for seq in 1..=3 {
        let token = std::fs::read(s.path(&token_key(seq))).unwrap();
        assert_eq!(
            std::fs::read(s.witness.join(token_key(seq))).unwrap(),
            token,
            "the witness holds the store's token"
        );
        // The stored file is a TimeStampToken over the checkpoint file, as openssl reads it.
        let cp = s.path(&checkpoint_key(seq));
        let out = Command::new("openssl")
            .args(["ts", "-verify", "-data"])
            .arg(&cp)
            .args(["-in"])
            .arg(s.path(&token_key(seq)))
            .args(["-token_in", "-CAfile"])
            .arg(tsa.roots())
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
            "openssl ts -verify: {out:?}"
        );
    }

    let roots = tsa.roots();
    let (code, out) = s.verify(&["--tsa-roots", roots.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("OK:"), "{out}");
    assert!(
        out.contains(
            "time-stamps (RFC 3161): 3 of 3 checkpoints time-stamped; record 3 existed by "
        ) && out.contains("(TSA Local TSA)"),
        "{out}"
    );
    assert!(!out.contains("without a token"), "{out}");

    // Without roots the chain is not checked, and verify says so.
    let (code, out) = s.verify(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("not checked against trust roots"), "{out}");

    // JSON, and the report's basis (roots from the configuration).
    let mut s = s;
    s.configure(&tsa.url, Some(&roots), "");
    let (_, json) = s.verify(&["--format", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    let t = &v["checkpoints"]["timestamps"];
    assert_eq!(t["stamped"], 3, "{t}");
    assert_eq!(t["chain_checked"], true, "{t}");
    assert_eq!(t["latest"]["seq"], 3, "{t}");
    let report = ok(run(&[
        "--config", &s.config, "--store", &s.store, "report", "--format", "json",
    ]));
    let r: Value = serde_json::from_str(&report).unwrap();
    let basis = r["basis"]["timestamped"].as_str().unwrap_or_default();
    assert!(
        basis.starts_with("record 3 existed by ")
            && basis.contains("(RFC 3161, TSA Local TSA; the checkpoint's own clock says "),
        "{r}"
    );
    let md = ok(run(&[
        "--config", &s.config, "--store", &s.store, "report", "--format", "md",
    ]));
    assert!(
        md.contains("Time-stamped") && md.contains("record 3 existed by"),
        "{md}"
    );
}

#[test]
fn a_forged_and_a_mismatched_token_are_named() {
    let tsa = Tsa::start("Local");
    let s = stamped(&tsa);
    let roots = tsa.roots();
    // Forged: the token's last byte (in its signature) changed.
    let p1 = s.path(&token_key(1));
    let mut t = std::fs::read(&p1).unwrap();
    let last = t.len() - 1;
    t[last] ^= 0x01;
    std::fs::write(&p1, &t).unwrap();
    // Mismatched: checkpoint 2's token copied over checkpoint 3's.
    std::fs::copy(s.path(&token_key(2)), s.path(&token_key(3))).unwrap();

    let (code, out) = s.verify(&["--tsa-roots", roots.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            "PROBLEM bad-timestamp-signature seq=1 key=chain/checkpoints/00000000000000000001.tst"
        ),
        "{out}"
    );
    assert!(
        out.contains("PROBLEM timestamp-imprint-mismatch seq=3 key=chain/checkpoints/00000000000000000003.tst"),
        "{out}"
    );
    // Only checkpoint 2's store token holds.
    assert!(
        out.contains("1 of 3 checkpoints time-stamped; record 2 existed by"),
        "{out}"
    );
    // Both are caught without roots too.
    let (code, out) = s.verify(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("bad-timestamp-signature") && out.contains("timestamp-imprint-mismatch"),
        "{out}"
    );
    // A token left without its checkpoint shows the checkpoint was removed.
    std::fs::remove_file(s.path(&checkpoint_key(2))).unwrap();
    let (code, out) = s.verify(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            "PROBLEM timestamp-orphaned seq=2 key=chain/checkpoints/00000000000000000002.tst"
        ),
        "{out}"
    );
}

#[test]
fn a_token_from_a_tsa_outside_the_trust_roots_is_untrusted_and_refused_when_roots_are_set() {
    let trusted = Tsa::start("Trusted");
    let other = Tsa::start("Other");
    let s = stamped(&other);
    let roots = trusted.roots();
    let (code, out) = s.verify(&["--tsa-roots", roots.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("PROBLEM untrusted-timestamp seq=1") && out.contains("\"Other TSA\""),
        "{out}"
    );
    assert!(out.contains("0 of 3 checkpoints time-stamped"), "{out}");

    // With tsa_roots configured, such a token is not even stored.
    let mut s2 = Store::new();
    s2.configure(&other.url, Some(&roots), "");
    let o = s2.submit(0);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("untrusted-timestamp"), "{}", stderr(&o));
    assert!(s2.path(&checkpoint_key(1)).exists());
    assert!(!s2.path(&token_key(1)).exists());
}

#[test]
fn a_tsa_that_is_down_does_not_stop_submit_and_the_gap_is_filled_when_it_is_back() {
    let mut s = Store::new();
    s.configure(&closed_url(), None, "");
    for i in 0..2 {
        let o = s.submit(i);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("Checkpoint not time-stamped")
                && err.contains("time-stamp request to http://127.0.0.1:"),
            "{err}"
        );
        assert!(
            stdout(&o).contains(&format!("as record {}", i + 1)),
            "{}",
            stdout(&o)
        );
        assert!(s.path(&checkpoint_key(i as u64 + 1)).exists());
        assert!(!s.path(&token_key(i as u64 + 1)).exists());
    }
    // Reported, not failed; with a TSA configured, the checkpoints are named.
    let (code, out) = s.verify(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("0 of 2 checkpoints time-stamped; 2 without a token (checkpoints 1, 2;"),
        "{out}"
    );

    // The TSA is back: the next committed run stamps its own checkpoint and the gap.
    let tsa = Tsa::start("Local");
    s.configure(&tsa.url, Some(&tsa.roots()), "");
    let o = s.submit(2);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("not time-stamped"), "{}", stderr(&o));
    assert_eq!(tsa.answered(), 3);
    for seq in 1..=3 {
        assert!(s.path(&token_key(seq)).exists(), "token {seq}");
        assert!(
            s.witness.join(token_key(seq)).exists(),
            "witness token {seq}"
        );
    }
    let (code, out) = s.verify(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("3 of 3 checkpoints time-stamped; record 3 existed by"),
        "{out}"
    );
    assert!(!out.contains("without a token"), "{out}");
}

#[test]
fn a_silent_tsa_is_given_up_after_the_timeout() {
    // Connections are accepted by the kernel but never answered.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsa", silent.local_addr().unwrap());
    let mut s = Store::new();
    s.configure(&url, None, "tsa_timeout_seconds = 1\n");
    let started = std::time::Instant::now();
    let o = s.submit(0);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no answer within 1 s"),
        "{}",
        stderr(&o)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(s.path(&checkpoint_key(1)).exists());
    assert!(!s.path(&token_key(1)).exists());
    drop(silent);
}

#[test]
fn bundles_carry_the_tokens_and_both_verifiers_check_them() {
    let tsa = Tsa::start("Local");
    let s = stamped(&tsa);
    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let bundle = s.dir.path().join("audit.tar.gz");
    ok(run(&[
        "--config",
        &s.config,
        "--store",
        &s.store,
        "bundle",
        "--from",
        &fmt(now - time::Duration::days(1)),
        "--to",
        &fmt(now + time::Duration::minutes(1)),
        "--at",
        &fmt(now + time::Duration::minutes(1)),
        "-o",
        bundle.to_str().unwrap(),
    ]));
    let members = crate::bundle::members(&bundle);
    let tokens: Vec<&String> = members
        .iter()
        .map(|(n, _)| n)
        .filter(|n| n.ends_with(".tst"))
        .collect();
    assert_eq!(tokens.len(), 3, "{tokens:?}");
    let roots = tsa.roots();
    let roots = roots.to_str().unwrap();
    let out = run(&["verify", bundle.to_str().unwrap(), "--tsa-roots", roots]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("3 of 3 checkpoints time-stamped"), "{text}");

    let script = crate::verify_md::script(&bundle);
    let (code, out) = crate::verify_md::run_script(&script, &bundle, &["", roots]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("checkpoint of record 3: existed by ")
            && out.contains("time-stamped checkpoints: 3"),
        "{out}"
    );
    // Without the roots the script skips the tokens and still passes.
    let (code, out) = crate::verify_md::run_script(&script, &bundle, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("time-stamped checkpoints"), "{out}");

    // A token swapped for another checkpoint's (MANIFEST made to match) fails both.
    let mut m = members.clone();
    let t2 = m
        .iter()
        .find(|(n, _)| n.ends_with("00000000000000000002.tst"))
        .unwrap()
        .1
        .clone();
    for (n, d) in m.iter_mut() {
        if n.ends_with("00000000000000000003.tst") {
            *d = t2.clone();
        }
    }
    let manifest: String = {
        let mut lines: Vec<String> = m
            .iter()
            .filter(|(n, _)| n != "MANIFEST")
            .map(|(n, d)| format!("{}  {n}\n", evidenced::digest::Digest::of(d).hex()))
            .collect();
        lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
        lines.concat()
    };
    for (n, d) in m.iter_mut() {
        if n == "MANIFEST" {
            *d = manifest.clone().into_bytes();
        }
    }
    let swapped = s.dir.path().join("swapped.tar.gz");
    crate::bundle::pack(&m, &swapped);
    let out = run(&["verify", swapped.to_str().unwrap(), "--tsa-roots", roots]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("PROBLEM timestamp-imprint-mismatch seq=3 key=store/chain/checkpoints/00000000000000000003.tst"),
        "{}",
        stdout(&out)
    );
    let (code, out) = crate::verify_md::run_script(&script, &swapped, &["", roots]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAILED: chain/checkpoints/00000000000000000003.tst: the time-stamp token does not verify"),
        "{out}"
    );
}
