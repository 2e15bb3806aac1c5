//! Backup vaults with their lock configuration and access policy (`backup/vaults.json`).

use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::collect::doc::ts_opt;
use crate::collect::{CallLog, Problems, Target};

#[derive(Debug, Serialize)]
pub struct VaultsDoc {
    pub account: String,
    pub region: String,
    pub vaults: Vec<Vault>,
}

#[derive(Debug, Serialize)]
pub struct Vault {
    pub name: String,
    pub arn: Option<String>,
    pub vault_type: Option<String>,
    pub creation_date: Option<String>,
    pub encryption_key_arn: Option<String>,
    /// Vault Lock: whether it is locked, the retention bounds, and when it became immutable.
    pub locked: Option<bool>,
    pub min_retention_days: Option<i64>,
    pub max_retention_days: Option<i64>,
    pub lock_date: Option<String>,
    /// The access policy document, parsed; absent when the vault has none, policies
    /// were not collected, or the policy could not be read.
    pub access_policy: Option<serde_json::Value>,
    /// Why the access policy could not be read (the error as the record's errors state
    /// it, AWS error code first); `None` when it was read, the vault has none, or policies
    /// were not collected. The vault is listed either way.
    pub access_policy_error: Option<String>,
}

pub(super) async fn vaults(
    target: &Target,
    log: &CallLog,
    p: &Problems,
    with_policies: bool,
) -> Option<VaultsDoc> {
    let c = &target.clients.backup;
    let mut listed = Vec::new();
    let mut pages = c.list_backup_vaults().into_paginator().send();
    loop {
        match log.page("backup:ListBackupVaults", pages.next()).await {
            Ok(Some(pg)) => listed.extend(pg.backup_vault_list().iter().cloned()),
            Ok(None) => break,
            Err(e) => {
                p.add(&e);
                return None;
            }
        }
    }
    let vaults: Vec<Option<Vault>> = stream::iter(listed)
        .map(|v| async move {
            let name = v.backup_vault_name()?.to_string();
            let mut access_policy_error = None;
            let access_policy = match with_policies {
                false => None,
                true => match log
                    .call(
                        "backup:GetBackupVaultAccessPolicy",
                        c.get_backup_vault_access_policy()
                            .backup_vault_name(&name)
                            .send(),
                    )
                    .await
                {
                    Ok(o) => o.policy().map(|s| {
                        serde_json::from_str(s)
                            .unwrap_or_else(|_| serde_json::Value::String(s.into()))
                    }),
                    Err(e) if e.code.as_deref() == Some("ResourceNotFoundException") => None,
                    Err(e) => {
                        p.add(&e);
                        access_policy_error = Some(e.to_run_error(None).message);
                        None
                    }
                },
            };
            Some(Vault {
                arn: v.backup_vault_arn().map(String::from),
                vault_type: v.vault_type().map(|t| t.as_str().to_string()),
                creation_date: ts_opt(v.creation_date()),
                encryption_key_arn: v.encryption_key_arn().map(String::from),
                locked: v.locked(),
                min_retention_days: v.min_retention_days(),
                max_retention_days: v.max_retention_days(),
                lock_date: ts_opt(v.lock_date()),
                access_policy,
                access_policy_error,
                name,
            })
        })
        .buffered(target.concurrency)
        .collect()
        .await;
    let mut vaults: Vec<Vault> = vaults.into_iter().flatten().collect();
    vaults.sort_by(|a, b| a.name.cmp(&b.name));
    Some(VaultsDoc {
        account: target.account.clone(),
        region: target.region.clone(),
        vaults,
    })
}
