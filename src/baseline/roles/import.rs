//! `import` of `baseline.roles`: the roles landing-zone created (they carry its ownership tag) in
//! the imported accounts, one entry per role name, their inline policies as files under
//! `policies/`. Reads only, through the roles baseline's own search ([`super::find`]).
//!
//! A role is written only when the spec can say it exactly: the same definition in every account
//! that has it, and a trust policy that [`super::trust_policy`] builds back from the `trust:` it
//! is written as. The plan of a spec with `baseline.roles` removes the tagged roles the section
//! does not name, so when one tagged role cannot be written the whole section is left out (with a
//! note per role saying why), never written without it.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde_json::Value;

use super::{attributes, find};
use crate::aws::session::partition_of;
use crate::baseline::import::{per_account, policy_file_name, ImportScope, ImportedSection};
use crate::baseline::Context;
use crate::plan::control::{resolve, KnownIds};
use crate::spec::validate::is_account_id;
use crate::spec::{DocumentSource, RoleSpec, Targets, TrustSpec, OWNERSHIP_TAG};

/// Managed policies `validate` accepts on one role (IAM's default quota).
const MANAGED_POLICIES_PER_ROLE: usize = 10;

/// What the accounts have: tagged roles by name (account -> attributes as the plan reads them),
/// and the names of untagged ones by name (accounts).
#[derive(Default)]
struct Searched {
    owned: BTreeMap<String, BTreeMap<String, Value>>,
    unowned: BTreeMap<String, Vec<String>>,
}

pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let home = scope.regions.first().map_or("us-east-1", String::as_str);
    let partition = partition_of(home);
    // Every role of each account but those the roles baseline never manages (service-linked,
    // Identity Center's, the access role, other baselines' own): the plan's own search, with
    // nothing wanted.
    let searched =
        per_account(scope, |account| async move { Ok(Some(find(context, &account, &BTreeSet::new()).await?)) }).await?;
    let mut found = Searched::default();
    for (account, roles) in searched {
        for role in roles {
            let name = role.key.control.split_once('/').map_or("", |(_, name)| name).to_string();
            if role.owned {
                found.owned.entry(name).or_default().insert(account.clone(), role.attributes);
            } else {
                found.unowned.entry(name).or_default().push(account.clone());
            }
        }
    }
    let mut notes = Vec::new();
    if !found.unowned.is_empty() {
        notes.push(unowned_note(&found.unowned));
    }
    if found.owned.is_empty() {
        return Ok((!notes.is_empty()).then(|| ImportedSection::left_out_with(notes)));
    }

    // Each name's entry. A trusted role may be named `account/Role` only when the section defines
    // it (or it is the access role); the section is written only when every tagged role is in
    // it, so every tagged name counts as defined.
    let naming = Naming {
        scope,
        ids: context.ids,
        partition,
        defined: found.owned.keys().map(String::as_str).collect(),
        access_role: context.sessions.access_role(),
    };
    let mut roles = BTreeMap::new();
    let mut documents = BTreeMap::new();
    let mut files = BTreeSet::new();
    let mut problems = Vec::new();
    for (name, accounts) in &found.owned {
        match definition(accounts, &naming) {
            Ok((mut role, inline)) => {
                for (policy, document) in inline {
                    let file = policy_file_name(&format!("role-{name}-{policy}"), &mut files);
                    role.inline_policies.insert(policy, DocumentSource::File(format!("policies/{file}")));
                    documents.insert(file, document);
                }
                roles.insert(name.clone(), role);
            }
            Err(why) => problems.push(format!("role `{name}` {why}")),
        }
    }
    if !problems.is_empty() {
        notes.push(format!(
            "`baseline.roles` left out: {}; with the section, the plan would remove the roles landing-zone created that it does not name",
            problems.join("; ")
        ));
        return Ok(Some(ImportedSection::left_out_with(notes)));
    }
    Ok(Some(ImportedSection::new(roles, notes)?.with_documents(documents)))
}

/// How an entry names accounts and roles, and what resolves the names.
struct Naming<'a> {
    scope: &'a ImportScope,
    ids: &'a KnownIds,
    partition: &'a str,
    /// Role names the section defines.
    defined: BTreeSet<&'a str>,
    access_role: &'a str,
}

/// One role name's entry and its inline documents, when every account that has it has the same
/// definition and the spec's shape gives it back exactly; else why not.
fn definition(
    accounts: &BTreeMap<String, Value>,
    naming: &Naming<'_>,
) -> std::result::Result<(RoleSpec, BTreeMap<String, Value>), String> {
    let mut live = accounts.values();
    let Some(first) = live.next() else { return Err("is in no account".to_string()) };
    if let Some((other, _)) = accounts.iter().find(|(_, attributes)| *attributes != first) {
        let (one, _) = accounts.iter().find(|(_, attributes)| *attributes == first).unwrap_or((other, first));
        return Err(format!("differs between `{one}` and `{other}`"));
    }
    let by_id = trust_of(&first["trust_policy"]).ok_or("has a trust policy `trust:` cannot express")?;
    if by_id.accounts.is_empty() && by_id.roles.is_empty() && by_id.services.is_empty() {
        return Err("trusts nobody, which `validate` refuses".to_string());
    }
    let managed: Vec<String> = first["managed_policies"]
        .as_array()
        .map(|arns| arns.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if managed.len() > MANAGED_POLICIES_PER_ROLE {
        return Err(format!(
            "attaches {} managed policies, more than the {MANAGED_POLICIES_PER_ROLE} `validate` accepts",
            managed.len()
        ));
    }
    let inline: BTreeMap<String, Value> = first["inline_policies"]
        .as_object()
        .map(|policies| policies.iter().map(|(name, document)| (name.clone(), document.clone())).collect())
        .unwrap_or_default();
    if let Some((policy, _)) = inline.iter().find(|(_, document)| !document.is_object()) {
        return Err(format!("has an inline policy `{policy}` that is not a JSON document"));
    }
    let max_session_duration = first["max_session_duration"]
        .as_u64()
        .and_then(|seconds| u32::try_from(seconds).ok())
        .ok_or("has no readable maximum session duration")?;
    let covered: Vec<String> = accounts.keys().cloned().collect();
    let targets = if naming.scope.accounts.keys().all(|account| accounts.contains_key(account)) {
        Targets::everywhere()
    } else {
        Targets { accounts: covered, ..Targets::default() }
    };
    let mut role = RoleSpec {
        targets,
        trust: TrustSpec::default(),
        description: first["description"].as_str().unwrap_or_default().to_string(),
        managed_policies: managed,
        inline_policies: BTreeMap::new(),
        max_session_duration,
    };
    // The round trip: the builder the plan uses, its placeholders resolved as the plan resolves
    // them, must give back the very attributes it read. The builder sorts the principals as it
    // writes them (account names before they become ids), so the order tells whether the spec
    // named the accounts or gave their ids: the names are tried first, then the ids.
    for trust in [with_names(&by_id, naming), by_id] {
        role.trust = trust;
        if resolve(&attributes(&role, naming.partition, inline.clone()), naming.ids) == *first {
            // The builder sorts what it writes: the lists in order read the same.
            role.trust.accounts.sort();
            role.trust.roles.sort();
            role.trust.services.sort();
            return Ok((role, inline));
        }
    }
    Err("has a trust policy `trust:` cannot express (the spec's would differ)".to_string())
}

/// Strings of a principal or action value (one string or a list).
fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(text) => Some(vec![text.clone()]),
        Value::Array(items) => items.iter().map(|item| item.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

/// The `trust:` a trust policy reads as, accounts by id (`123456789012`, `123456789012/Role`):
/// None when its principals or conditions are not ones `trust:` has. Whether the builder gives
/// the document back exactly is for the caller to check.
fn trust_of(policy: &Value) -> Option<TrustSpec> {
    let mut trust = TrustSpec::default();
    for statement in policy["Statement"].as_array()? {
        let principal = statement["Principal"].as_object()?;
        for (kind, value) in principal {
            let values = strings(value)?;
            match kind.as_str() {
                "Service" => trust.services.extend(values),
                "AWS" => {
                    for arn in values {
                        // arn:PARTITION:iam::ACCOUNT:root | arn:PARTITION:iam::ACCOUNT:role/NAME
                        let mut parts = arn.splitn(6, ':');
                        let (Some("arn"), Some(_), Some("iam"), Some(""), Some(account), Some(resource)) =
                            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
                        else {
                            return None;
                        };
                        if !is_account_id(account) {
                            return None;
                        }
                        match resource.strip_prefix("role/") {
                            Some(role) => trust.roles.push(format!("{account}/{role}")),
                            None if resource == "root" => trust.accounts.push(account.to_string()),
                            None => return None,
                        }
                    }
                }
                _ => return None,
            }
        }
        if let Some(condition) = statement.get("Condition") {
            for (operator, keys) in condition.as_object()? {
                for (key, value) in keys.as_object()? {
                    match (operator.as_str(), key.as_str()) {
                        ("Bool", "aws:MultiFactorAuthPresent") if value == "true" => trust.require_mfa = true,
                        ("StringEquals", "sts:ExternalId") => trust.external_id = Some(value.as_str()?.to_string()),
                        _ => return None,
                    }
                }
            }
        }
    }
    Some(trust)
}

/// `trust` with the imported accounts by spec name, and `account/Role` by name where the section
/// defines the role or it is the access role (the one import reads with, which the imported spec
/// names as `organization.access_role`): `validate` accepts another role only after an account id.
fn with_names(trust: &TrustSpec, naming: &Naming<'_>) -> TrustSpec {
    let scope = naming.scope;
    let name = |id: &str| scope.name_of(id).map_or_else(|| id.to_string(), str::to_string);
    let roles = trust
        .roles
        .iter()
        .map(|reference| match reference.split_once('/') {
            Some((account, role))
                if (naming.defined.contains(role) || role == naming.access_role)
                    && scope.name_of(account).is_some() =>
            {
                format!("{}/{role}", name(account))
            }
            _ => reference.clone(),
        })
        .collect();
    TrustSpec { accounts: trust.accounts.iter().map(|id| name(id)).collect(), roles, ..trust.clone() }
}

/// The note on roles without the ownership tag: never imported, and what a spec entry of the same
/// name would do to them.
fn unowned_note(unowned: &BTreeMap<String, Vec<String>>) -> String {
    const SHOWN: usize = 10;
    let mut listed: Vec<String> = unowned
        .iter()
        .take(SHOWN)
        .map(|(name, accounts)| {
            format!(
                "`{name}` ({})",
                accounts.iter().map(|account| format!("`{account}`")).collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    if unowned.len() > SHOWN {
        listed.push(format!("and {} more", unowned.len() - SHOWN));
    }
    format!(
        "roles without the `{OWNERSHIP_TAG}` tag are not imported into `baseline.roles` (landing-zone did not create them): {}; a `baseline.roles` entry of the same name would take such a role over in place (its trust, description and policies changed to the entry's), and the plan never removes it",
        listed.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scope() -> ImportScope {
        ImportScope {
            accounts: [("security", "111111111111"), ("app", "222222222222")]
                .into_iter()
                .map(|(name, id)| (name.to_string(), id.to_string()))
                .collect(),
            ..ImportScope::default()
        }
    }

    fn ids(scope: &ImportScope) -> KnownIds {
        KnownIds { accounts: scope.accounts.clone(), organization: None }
    }

    fn naming<'a>(scope: &'a ImportScope, ids: &'a KnownIds, defined: &[&'a str]) -> Naming<'a> {
        Naming {
            scope,
            ids,
            partition: "aws",
            defined: defined.iter().copied().collect(),
            access_role: "OrganizationAccountAccessRole",
        }
    }

    fn spec_role(trust: TrustSpec) -> RoleSpec {
        RoleSpec {
            targets: Targets { accounts: vec!["app".to_string()], ..Targets::default() },
            trust,
            description: "audit".to_string(),
            managed_policies: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_string()],
            inline_policies: BTreeMap::new(),
            max_session_duration: 7200,
        }
    }

    /// What the plan reads of a role the spec's `trust` made: the builder's document with the
    /// account names resolved.
    fn live(trust: TrustSpec, ids: &KnownIds) -> BTreeMap<String, Value> {
        let attributes = resolve(&attributes(&spec_role(trust), "aws", BTreeMap::new()), ids);
        [("app".to_string(), attributes)].into_iter().collect()
    }

    #[test]
    fn a_role_the_builder_made_comes_back_as_its_trust() {
        let (scope, ids) = (scope(), ids(&scope()));
        let trust = TrustSpec {
            accounts: vec!["333333333333".to_string(), "security".to_string()],
            roles: vec!["app/OrganizationAccountAccessRole".to_string(), "security/Breakglass".to_string()],
            services: vec!["ec2.amazonaws.com".to_string()],
            require_mfa: true,
            external_id: Some("partner-7".to_string()),
        };
        let (role, _) =
            definition(&live(trust.clone(), &ids), &naming(&scope, &ids, &["Breakglass"])).expect("written");
        assert_eq!(role.trust, trust);
        assert_eq!(role.targets.accounts, vec!["app".to_string()]);
        assert_eq!(role.max_session_duration, 7200);
    }

    #[test]
    fn a_trust_written_with_ids_comes_back_with_ids() {
        let (scope, ids) = (scope(), ids(&scope()));
        // `222222222222` sorts before `security`'s placeholder, unlike the names: only the ids
        // give this document back.
        let trust = TrustSpec {
            accounts: vec!["111111111111".to_string(), "222222222222".to_string()],
            roles: vec!["111111111111/Elsewhere".to_string()],
            ..TrustSpec::default()
        };
        let (role, _) = definition(&live(trust.clone(), &ids), &naming(&scope, &ids, &[])).expect("written");
        assert_eq!(role.trust, trust);
    }

    #[test]
    fn a_trusted_role_the_section_does_not_define_keeps_its_account_id() {
        let (scope, ids) = (scope(), ids(&scope()));
        let trust = TrustSpec { roles: vec!["111111111111/Elsewhere".to_string()], ..TrustSpec::default() };
        let (role, _) = definition(&live(trust, &ids), &naming(&scope, &ids, &[])).expect("written");
        assert_eq!(role.trust.roles, vec!["111111111111/Elsewhere".to_string()]);
    }

    #[test]
    fn a_trust_policy_the_spec_cannot_write_is_refused() {
        let (scope, ids) = (scope(), ids(&scope()));
        let refused = |document: Value| {
            let mut accounts = live(TrustSpec::default(), &ids);
            if let Some(attributes) = accounts.get_mut("app") {
                attributes["trust_policy"] = document;
            }
            definition(&accounts, &naming(&scope, &ids, &[])).is_err()
        };
        // A condition `trust:` has no word for.
        assert!(refused(json!({ "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": { "AWS": ["arn:aws:iam::111111111111:root"] }, "Action": "sts:AssumeRole",
            "Condition": { "IpAddress": { "aws:SourceIp": "10.0.0.0/8" } } }] })));
        // Principals the builder writes as a list, written as a string: not the same document.
        assert!(refused(json!({ "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::111111111111:root" }, "Action": "sts:AssumeRole" }] })));
        // A Deny statement.
        assert!(refused(json!({ "Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": { "Service": ["ec2.amazonaws.com"] }, "Action": "sts:AssumeRole" }] })));
        // Nobody trusted.
        assert!(refused(json!({ "Version": "2012-10-17", "Statement": [] })));
        // The builder's own document passes.
        let trust = TrustSpec { services: vec!["ec2.amazonaws.com".to_string()], ..TrustSpec::default() };
        assert!(!refused(super::super::trust_policy(&spec_role(trust), "aws")));
    }

    #[test]
    fn a_role_that_differs_between_accounts_is_refused_naming_them() {
        let (scope, ids) = (scope(), ids(&scope()));
        let trust = TrustSpec { services: vec!["ec2.amazonaws.com".to_string()], ..TrustSpec::default() };
        let mut accounts = live(trust, &ids);
        let mut other = accounts["app"].clone();
        other["description"] = json!("changed by hand");
        accounts.insert("security".to_string(), other);
        let why = definition(&accounts, &naming(&scope, &ids, &[])).err().unwrap_or_default();
        assert!(why.contains("`app`") && why.contains("`security`"), "{why}");
    }
}
