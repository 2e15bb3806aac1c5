//! Hostile bundles: `..` paths, absolute paths, links, devices and oversized members are
//! refused, and nothing is written outside a temporary directory.

use std::path::Path;

use crate::support::{run, stdout};

fn verify(bundle: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["verify", bundle.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = run(&args);
    (out.status.code(), stdout(&out))
}

fn raw_header(name: &str, kind: tar::EntryType, size: u64, link: Option<&str>) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    {
        let g = h.as_gnu_mut().unwrap();
        g.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            g.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
    }
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    h
}

fn hostile(path: &Path, entries: &[(tar::Header, Vec<u8>)]) {
    let f = std::fs::File::create(path).unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        f,
        flate2::Compression::fast(),
    ));
    for (h, d) in entries {
        b.append(h, &d[..]).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
}

#[test]
fn hostile_bundles_are_refused_without_writing_outside_a_temporary_directory() {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("{:08x}", rand::random::<u32>());
    let tmp = std::env::temp_dir();
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let dotdot = format!("../evidenced-escape-{tag}");
    let abs = tmp
        .join(format!("evidenced-abs-{tag}"))
        .display()
        .to_string();
    let data = b"owned".to_vec();
    type Case<'a> = (&'a str, Vec<(tar::Header, Vec<u8>)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "dotdot",
            vec![(
                raw_header(&dotdot, tar::EntryType::Regular, 5, None),
                data.clone(),
            )],
            vec![],
        ),
        (
            "absolute",
            vec![(
                raw_header(&abs, tar::EntryType::Regular, 5, None),
                data.clone(),
            )],
            vec![],
        ),
        (
            "symlink",
            vec![
                (
                    raw_header(
                        "store",
                        tar::EntryType::Symlink,
                        0,
                        Some(outside.to_str().unwrap()),
                    ),
                    vec![],
                ),
                (
                    raw_header("store/planted", tar::EntryType::Regular, 5, None),
                    data.clone(),
                ),
            ],
            vec![],
        ),
        (
            "hardlink",
            vec![(
                raw_header("passwd", tar::EntryType::Link, 0, Some("/etc/passwd")),
                vec![],
            )],
            vec![],
        ),
        (
            "device",
            vec![(raw_header("dev", tar::EntryType::Char, 0, None), vec![])],
            vec![],
        ),
        (
            "oversized",
            vec![(
                raw_header("big", tar::EntryType::Regular, 4096, None),
                vec![7u8; 4096],
            )],
            vec!["--max-member-bytes", "1024"],
        ),
    ];
    for (name, entries, flags) in cases {
        let p = dir.path().join(format!("{name}.tar.gz"));
        hostile(&p, &entries);
        let (code, out) = verify(&p, &flags);
        assert_eq!(code, Some(1), "{name} accepted:\n{out}");
        assert!(
            out.contains("PROBLEM unsafe-or-malformed-bundle") && out.contains("refused"),
            "{name}: {out}"
        );
        let report = run(&["report", "--bundle", p.to_str().unwrap()]);
        assert_eq!(
            report.status.code(),
            Some(2),
            "{name}: report accepted the bundle"
        );
    }
    assert!(
        !tmp.join(format!("evidenced-escape-{tag}")).exists(),
        "`..` member escaped"
    );
    assert!(!Path::new(&abs).exists(), "absolute member was written");
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "symlink was followed"
    );
}

#[test]
fn a_lying_member_size_cannot_exceed_the_total_cap() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("many.tar.gz");
    let entries: Vec<(tar::Header, Vec<u8>)> = (0..4)
        .map(|i| {
            (
                raw_header(&format!("f{i}"), tar::EntryType::Regular, 600, None),
                vec![1u8; 600],
            )
        })
        .collect();
    hostile(&p, &entries);
    let (code, out) = verify(&p, &["--max-total-bytes", "1500"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("total cap"), "{out}");
}
