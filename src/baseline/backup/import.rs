//! `import` of `baseline.backup`: the organization's `landing-zone-backup` backup policy read back
//! into `plans` (targets from its attachments), the bunker vault from where its copy actions
//! point (account, name, and its lock), written only when it round-trips: the policy the section
//! makes is the live one, and every control the section asks for (the vault key, the vault and its
//! lock, cross-account backup, each targeted account's role and vault) reads back as the section
//! wants it, through the baseline's own readers. Otherwise the section is left out with a note,
//! and the policy is imported as one of `policies:` as before. Reads only.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde_json::Value;

use super::{desired, desired_policy, find, read, POLICY_NAME, SERVICE};
use crate::baseline::import::{ImportScope, ImportedSection};
use crate::baseline::Context;
use crate::plan::control::{resolve, ControlKey, Inputs};
use crate::spec::{BackupPlanSpec, BackupSpec, PolicyType, Spec, Targets, VaultLockSpec};

pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let Some(policy) = scope
        .policies
        .iter()
        .find(|policy| policy.policy_type == PolicyType::BackupPolicy && policy.name == POLICY_NAME)
    else {
        return Ok(None);
    };
    let home = scope.regions.first().map_or("us-east-1", String::as_str).to_string();
    let Some(document) = &policy.document else {
        return Ok(Some(left_out(format!("the backup policy `{POLICY_NAME}` could not be read"))));
    };
    let Some(spec) = section_of(document, &policy.targets, scope, &home) else {
        return Ok(Some(left_out(format!(
            "the backup policy `{POLICY_NAME}` is not one `plans` makes (another shape, a vault copied into outside the home Region or the imported accounts, or a target not imported)"
        ))));
    };
    let mut spec = spec;
    // The lock: read as governance mode (what the reader says of the live lock; compliance mode's
    // grace time is not something AWS reports back, so a vault in that mode cannot be written).
    let vault_account = spec.vault_account.clone().unwrap_or_default();
    let lock_key = ControlKey::new(super::LOCK_CONTROL, &vault_account, Some(&home));
    let probe = serde_json::json!({
        "vault": spec.vault_name, "mode": "governance", "min_retention_days": null,
        "max_retention_days": null, "changeable_for_days": null,
    });
    if let Some(live) = read(context, &lock_key, &probe).await? {
        let lock: super::LockAttributes = crate::baseline::attributes::decode(&lock_key, &live)?;
        if lock.mode != "governance" {
            return Ok(Some(left_out(format!(
                "the vault `{}` is locked in compliance mode, whose grace time AWS does not report back",
                spec.vault_name
            ))));
        }
        spec.vault_lock = Some(VaultLockSpec {
            min_retention_days: lock.min_retention_days,
            max_retention_days: lock.max_retention_days,
            changeable_for_days: None,
        });
    }
    if !scope.trusted_services.contains(SERVICE) {
        return Ok(Some(left_out(format!("trusted access for `{SERVICE}` is off, and the section would turn it on"))));
    }
    if let Some(why) = differences(context, scope, &spec, policy).await? {
        return Ok(Some(left_out(why)));
    }
    Ok(Some(
        ImportedSection::new(spec, Vec::new())?
            .with_organization_policies(vec![(PolicyType::BackupPolicy, POLICY_NAME.to_string())]),
    ))
}

fn left_out(why: String) -> ImportedSection {
    ImportedSection::left_out(format!("`baseline.backup` left out: {why}"))
}

/// `@@assign`'s value of a node of the backup policy.
fn assigned(node: &Value) -> Option<&Value> {
    node.get("@@assign")
}

/// The section the policy reads as (without the lock), when its shape is the one
/// [`super::backup_policy`] writes; the round trip checks the rest.
fn section_of(document: &Value, targets: &BTreeSet<String>, scope: &ImportScope, home: &str) -> Option<BackupSpec> {
    let mut written = Targets::default();
    for target in targets {
        match (scope.containers.get(target), scope.name_of(target)) {
            (Some(path), _) => written.units.push(path.clone()),
            (None, Some(account)) => written.accounts.push(account.to_string()),
            (None, None) => return None,
        }
    }
    written.units.sort();
    written.accounts.sort();
    let mut vault: Option<String> = None;
    let mut plans = BTreeMap::new();
    for (name, plan) in document.get("plans")?.as_object()? {
        let regions: Vec<String> = assigned(plan.get("regions")?)?
            .as_array()?
            .iter()
            .map(|region| region.as_str().map(str::to_string))
            .collect::<Option<_>>()?;
        let rule = plan.get("rules")?.get(name)?;
        let schedule = assigned(rule.get("schedule_expression")?)?.as_str()?.to_string();
        let retention_days = assigned(rule.get("lifecycle")?.get("delete_after_days")?)?.as_str()?.parse().ok()?;
        let copy_to_bunker_retention_days = match rule.get("copy_actions") {
            None => None,
            Some(copies) => {
                let (arn, copy) = copies.as_object()?.iter().next()?;
                if vault.as_ref().is_some_and(|seen| seen != arn) {
                    return None;
                }
                vault = Some(arn.clone());
                Some(assigned(copy.get("lifecycle")?.get("delete_after_days")?)?.as_str()?.parse().ok()?)
            }
        };
        let mut selection_tags = BTreeMap::new();
        for selection in plan.get("selections")?.get("tags")?.as_object()?.values() {
            let key = assigned(selection.get("tag_key")?)?.as_str()?.to_string();
            let value = assigned(selection.get("tag_value")?)?.as_array()?.first()?.as_str()?.to_string();
            selection_tags.insert(key, value);
        }
        plans.insert(
            name.clone(),
            BackupPlanSpec {
                schedule,
                retention_days,
                copy_to_bunker_retention_days,
                // The home Region is the default.
                regions: if regions == [home] { Vec::new() } else { regions },
                selection_tags,
                targets: written.clone(),
            },
        );
    }
    // arn:PARTITION:backup:REGION:ACCOUNT:backup-vault:NAME, in the home Region.
    let vault = vault?;
    let parts: Vec<&str> = vault.splitn(7, ':').collect();
    let [_, _, "backup", region, account, "backup-vault", name] = parts.as_slice() else { return None };
    if *region != home {
        return None;
    }
    Some(BackupSpec {
        vault_account: Some(scope.name_of(account)?.to_string()),
        vault_name: name.to_string(),
        vault_lock: None,
        plans,
    })
}

/// Why the plan of a spec with `backup` would change something, or None: the policy it makes
/// against the live one, every control it asks for read back through the baseline's readers, and
/// nothing landing-zone made for the backup policy in an account it no longer covers.
async fn differences(
    context: &Context<'_>,
    scope: &ImportScope,
    backup: &BackupSpec,
    live_policy: &crate::plan::state::LivePolicy,
) -> Result<Option<String>> {
    let spec: Spec = serde_json::from_value(serde_json::json!({
        "version": 1,
        "organization": { "regions": scope.regions, "management_account": scope.management },
        "baseline": { "backup": backup },
    }))?;
    let Some(policy) = desired_policy(&spec) else { return Ok(Some("it has no plans".to_string())) };
    let document = policy.document.as_ref().map(|document| resolve(document, context.ids));
    if document.as_ref() != live_policy.document.as_ref() || policy.description != live_policy.description {
        return Ok(Some(format!("the backup policy `{POLICY_NAME}` is not the one its `plans` make")));
    }
    let accounts = scope.desired_accounts();
    let (roles, sets) = (BTreeMap::new(), BTreeMap::new());
    let inputs = Inputs { spec: &spec, accounts: &accounts, role_documents: &roles, permission_set_documents: &sets };
    let controls = desired(&inputs);
    for control in &controls {
        let wanted = resolve(&control.attributes, context.ids);
        let live = read(context, &control.key, &wanted).await?;
        if live.as_ref() != Some(&wanted) {
            return Ok(Some(format!("{} is not as the section would have it", control.key.label())));
        }
    }
    let wanted: BTreeSet<ControlKey> = controls.iter().map(|control| control.key.clone()).collect();
    for account in scope.accounts.keys() {
        let places = std::iter::once(None).chain(scope.regions.iter().map(|region| Some(region.as_str())));
        for region in places {
            let found = find(context, account, region, &wanted).await?;
            if let Some(owned) = found.iter().find(|found| found.owned) {
                return Ok(Some(format!(
                    "{} is landing-zone's but outside the policy's targets: the plan would remove it",
                    owned.key.label()
                )));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> ImportScope {
        ImportScope {
            accounts: [("log-archive", "111111111111"), ("app", "222222222222")]
                .into_iter()
                .map(|(name, id)| (name.to_string(), id.to_string()))
                .collect(),
            containers: [("r-root", "Root"), ("ou-work", "Workloads")]
                .into_iter()
                .map(|(id, path)| (id.to_string(), path.to_string()))
                .collect(),
            ..ImportScope::default()
        }
    }

    fn backup() -> BackupSpec {
        let plan = |regions: Vec<String>, copy: Option<u32>| BackupPlanSpec {
            schedule: "cron(0 5 ? * * *)".to_string(),
            retention_days: 35,
            copy_to_bunker_retention_days: copy,
            regions,
            selection_tags: [("backup".to_string(), "daily".to_string())].into_iter().collect(),
            targets: Targets {
                units: vec!["Workloads".to_string()],
                accounts: vec!["app".to_string()],
                ..Targets::default()
            },
        };
        BackupSpec {
            vault_account: Some("log-archive".to_string()),
            vault_name: "bunker".to_string(),
            vault_lock: None,
            plans: [
                ("daily".to_string(), plan(Vec::new(), Some(365))),
                ("weekly".to_string(), plan(vec!["us-east-1".to_string(), "eu-west-1".to_string()], None)),
            ]
            .into_iter()
            .collect(),
        }
    }

    fn live_document(backup: &BackupSpec) -> Value {
        super::super::backup_policy(backup, "us-east-1", "arn:aws:backup:us-east-1:111111111111:backup-vault:bunker")
    }

    #[test]
    fn the_policy_reads_back_as_the_plans_that_made_it() {
        let targets = BTreeSet::from(["ou-work".to_string(), "222222222222".to_string()]);
        let read = section_of(&live_document(&backup()), &targets, &scope(), "us-east-1");
        assert_eq!(read, Some(backup()));
    }

    #[test]
    fn a_policy_the_section_cannot_say_is_not_read() {
        let targets = BTreeSet::from(["ou-work".to_string()]);
        let read = |document: &Value, targets: &BTreeSet<String>| section_of(document, targets, &scope(), "us-east-1");
        // A target that is not imported.
        assert!(read(&live_document(&backup()), &BTreeSet::from(["ou-elsewhere".to_string()])).is_none());
        // A copy into a vault in another Region.
        let other_region = super::super::backup_policy(
            &backup(),
            "us-east-1",
            "arn:aws:backup:eu-west-1:111111111111:backup-vault:bunker",
        );
        assert!(read(&other_region, &targets).is_none());
        // No copy at all: where the vault is cannot be read.
        let mut no_copy = backup();
        no_copy.plans.values_mut().for_each(|plan| plan.copy_to_bunker_retention_days = None);
        assert!(read(&live_document(&no_copy), &targets).is_none());
        // Another shape.
        assert!(read(&serde_json::json!({ "plans": { "daily": { "regions": ["us-east-1"] } } }), &targets).is_none());
    }
}
