//! The one integration-test binary (every extra binary is another long link of the AWS
//! SDK). Tests that need AWS talk to a moto server on 127.0.0.1 started by
//! [`support::moto`]; none reaches real AWS.

mod collect_moto;
mod inbox;
#[allow(dead_code)]
mod support;
