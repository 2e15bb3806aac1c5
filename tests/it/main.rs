//! The one integration-test binary (every extra binary is another long link of the AWS
//! SDK). Tests that need AWS talk to a moto server on 127.0.0.1 started by
//! [`support::moto`]; none reaches real AWS.

// Test code: a panic with its location is the right failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ids;
mod inbox;
#[allow(dead_code)]
mod scale_mock;
#[allow(dead_code)]
mod support;

mod automation;
mod bundle;
mod bundle_excerpt;
mod bundle_hostile;
mod bundle_tamper;
mod checkpoint;
mod checkpoint_kms;
mod cli_contract;
mod collect_mocks;
mod collect_moto;
mod collect_scale;
mod config_files;
mod daemon;
mod deployment;
mod evidence_fixtures;
mod faultproxy;
mod faults;
mod format_doc;
mod fuzz_regressions;
mod inbox_paths;
mod kill;
mod report;
mod report_html;
mod report_oscal;
mod requirement_cases;
mod requirements;
mod requirements_rules;
mod scale_reads;
mod scenario;
mod segments;
mod store_local;
mod store_s3;
mod submit_input;
mod tamper;
mod tsa;
mod verify_md;
mod verify_strict;
