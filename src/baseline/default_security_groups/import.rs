//! `import` of `baseline.default_security_groups`: the accounts where the default security group
//! of every VPC holds no rule, in every region of the imported spec. Accounts where one holds a
//! rule are left out, and the groups named: writing them would plan revoking those rules. Reads
//! only.

use std::collections::BTreeMap;

use anyhow::Result;

use super::{read, DefaultSecurityGroupAttributes, CONTROL};
use crate::baseline::attributes::decode;
use crate::baseline::import::{common_setting, per_account, ImportScope, ImportedSection};
use crate::baseline::Context;
use crate::plan::control::ControlKey;
use crate::spec::TargetedSpec;

/// The section for the accounts whose default groups are all empty; None when no account's are.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    // Per account, the default groups with rules (`region: sg-… (vpc-…)` -> their rules).
    let found = per_account(scope, |account| async move {
        let mut with_rules = BTreeMap::new();
        for region in &scope.regions {
            // The baseline's own reader (DescribeSecurityGroups of the groups named `default`).
            let key = ControlKey::new(CONTROL, &account, Some(region));
            let Some(live) = read(context, &key).await? else { continue };
            let live: DefaultSecurityGroupAttributes = decode(&key, &live)?;
            with_rules.extend(live.with_rules.into_iter().map(|(group, rules)| (format!("{region}: {group}"), rules)));
        }
        Ok(Some(with_rules))
    })
    .await?;
    let empty: BTreeMap<String, ()> =
        found.iter().filter(|(_, groups)| groups.is_empty()).map(|(account, _)| (account.clone(), ())).collect();
    let Some(((), targets, _)) = common_setting(scope, "default_security_groups", &empty) else { return Ok(None) };
    let notes = found
        .iter()
        .filter(|(_, groups)| !groups.is_empty())
        .map(|(account, groups)| {
            let groups: Vec<String> = groups.iter().map(|(group, rules)| format!("{group} has {rules}")).collect();
            format!(
                "`baseline.default_security_groups` leaves out `{account}`: {}; the section would revoke those rules",
                groups.join("; ")
            )
        })
        .collect();
    ImportedSection::new(TargetedSpec { targets }, notes).map(Some)
}
