//! The HTML report as an auditor opens it: rendered by headless Chromium (installed by
//! scripts/setup.sh), the page is not blank, names every requirement, and makes no network
//! request; printed to PDF, its pages are A4 as its print styles say. Without Chromium the test says so loudly and passes, except in CI (`CI` set),
//! where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use evidenced::report::{render, ReportFormat};
use serde_json::Value;
use time::macros::datetime;

use crate::scenario::{eval_at, year};

/// Chromium, or `None` (with a loud message) when it is absent outside CI.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("EVIDENCED_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .flat_map(|d| [d.join("chromium"), d.join("chromium-browser")])
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed and CI is set: scripts/setup.sh installs it (apt-get install chromium)"
        );
        eprintln!("\n!!!!!!!! SKIPPED: chromium is not installed, so the HTML report was NOT rendered. Run `bash scripts/setup.sh` (apt-get install chromium). !!!!!!!!\n");
    }
    found
}

/// Run headless Chromium on `page` with no name resolving (every lookup fails) and a
/// network log in `dir`.
fn chrome(bin: &Path, dir: &Path, page: &Path, extra: &[&str]) -> Output {
    let profile = tempfile::tempdir_in(dir).unwrap();
    Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--log-net-log={}", dir.join("net.json").display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

/// URLs the page asked for: the network log's request starts made on behalf of a page
/// (the browser's own update and time checks have no initiator origin).
fn page_requests(dir: &Path) -> Vec<String> {
    let log: Value = serde_json::from_slice(&std::fs::read(dir.join("net.json")).unwrap())
        .expect("a complete network log");
    let start = &log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"];
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| &e["type"] == start)
        .filter(|e| e["params"]["initiator"] != "not an origin")
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .collect()
}

/// Pixels that are not white, and the number of distinct colours.
fn ink(png_path: &Path) -> (usize, usize, usize, std::collections::HashSet<[u8; 3]>) {
    let decoder = png::Decoder::new(std::fs::File::open(png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    let mut colors = std::collections::HashSet::new();
    let mut inked = 0;
    for px in buf[..info.buffer_size()].chunks(step) {
        let rgb = [px[0], px[1], px[2]];
        if rgb != [255, 255, 255] {
            inked += 1;
        }
        colors.insert(rgb);
    }
    (inked, info.width as usize, info.height as usize, colors)
}

#[test]
fn html_report_renders_in_headless_chromium_not_blank_every_id_present_no_network() {
    let e = eval_at(&year(), datetime!(2026-12-01 12:00 UTC));
    let html = render(&e, ReportFormat::Html);
    // Nothing to fetch, whatever the browser: no script, stylesheet link, source, import or
    // url(); the only URL is the SVG namespace, which is a name, not a request.
    for bad in [
        "<script", "<link", "src=", "url(", "@import", "<iframe", "<object",
    ] {
        assert!(!html.contains(bad), "the report holds {bad:?}");
    }
    let urls = html.matches("http").count();
    let ns = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(urls, ns, "a URL other than the SVG namespace");

    let Some(bin) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    // For a look at what the test rendered: EVIDENCED_HTML_OUT=DIR keeps page and screenshot.
    let keep = std::env::var_os("EVIDENCED_HTML_OUT").map(PathBuf::from);
    std::fs::write(&page, &html).unwrap();

    let shot = dir.path().join("shot.png");
    let o = chrome(
        &bin,
        dir.path(),
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000",
        ],
    );
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(page_requests(dir.path()), Vec::<String>::new());
    if let Some(k) = &keep {
        std::fs::create_dir_all(k).unwrap();
        std::fs::copy(&page, k.join("report.html")).unwrap();
        std::fs::copy(&shot, k.join("report.png")).unwrap();
    }
    let (inked, w, h, colors) = ink(&shot);
    assert_eq!((w, h), (1280, 2000));
    assert!(
        inked * 100 > w * h,
        "only {inked} of {} pixels inked",
        w * h
    );
    // The status badges and period cells are drawn in their colours.
    for (name, rgb) in [
        ("pass green", [0x2e, 0x7d, 0x32]),
        ("fail red", [0xc6, 0x28, 0x28]),
    ] {
        assert!(colors.contains(&rgb), "no {name} pixel in the screenshot");
    }

    let o = chrome(&bin, dir.path(), &page, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(page_requests(dir.path()), Vec::<String>::new());
    // The page text: the DOM less its tags and style.
    let body = dom.split("</style>").nth(1).unwrap_or(&dom);
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    for r in &e.requirements {
        assert!(
            text.contains(&format!("{} — {}", r.id, r.title)),
            "{} missing from the page text",
            r.id
        );
    }
    assert!(text.contains("recorded late") && text.contains("participants"));
}

#[test]
fn the_network_check_sees_a_page_that_fetches() {
    let Some(bin) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("fetches.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><img src=\"http://example.invalid/x.png\"><div style=\"background:url(https://img.example.invalid/y.png)\">x</div></body></html>",
    )
    .unwrap();
    let _ = chrome(&bin, dir.path(), &page, &["--dump-dom"]);
    let got = page_requests(dir.path());
    assert!(
        got.contains(&"http://example.invalid/x.png".to_string()),
        "{got:?}"
    );
}

#[test]
fn html_report_prints_to_a4_pages_as_its_print_styles_say() {
    let Some(bin) = chromium() else { return };
    let e = eval_at(&year(), datetime!(2026-12-01 12:00 UTC));
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, render(&e, ReportFormat::Html)).unwrap();
    let pdf = dir.path().join("report.pdf");
    let o = chrome(
        &bin,
        dir.path(),
        &page,
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
    );
    let bytes = std::fs::read(&pdf)
        .unwrap_or_else(|err| panic!("no PDF ({err}): {}", String::from_utf8_lossy(&o.stderr)));
    assert!(bytes.starts_with(b"%PDF-"));
    assert_eq!(page_requests(dir.path()), Vec::<String>::new());
    // Chromium writes each page's box in the clear: A4 (595 × 842 pt) is the report's
    // `@page` size; without the print styles it would be Letter (612 × 792).
    let text = String::from_utf8_lossy(&bytes);
    let boxes: Vec<(f64, f64)> = text
        .match_indices("/MediaBox [")
        .filter_map(|(i, m)| {
            let rest = &text[i + m.len()..];
            let nums: Vec<f64> = rest[..rest.find(']')?]
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            (nums.len() == 4).then(|| (nums[2] - nums[0], nums[3] - nums[1]))
        })
        .collect();
    assert!(
        boxes.len() > 3,
        "a year's report is several pages: {boxes:?}"
    );
    for (w, h) in &boxes {
        assert!(
            (590.0..600.0).contains(w) && (838.0..846.0).contains(h),
            "page {w} × {h} pt is not A4"
        );
    }
}
