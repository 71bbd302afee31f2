//! `import` of `baseline.alerts`: the account holding the topic `landing-zone-alerts`, the e-mail
//! addresses subscribed to it, the findings rules' minimum severity and the accounts forwarding
//! their root activity, as `desired` makes them. What is found is checked the way the plan checks
//! it: the section's controls are made from it, each read with the baseline's own reader and
//! compared with what the section asks. A part that differs is left out (the baseline never
//! removes, so what it leaves out stays as it is) and named in a note; a topic that differs leaves
//! the whole section out. Reads only.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, Result};
use serde_json::json;

use super::{
    desired, guardduty_pattern, read_rule, read_topic, root_activity, Alerts, TopicAttributes, DEFAULT_BUS,
    RULE_PREFIX, TOPIC, TOPIC_NAME,
};
use crate::baseline::attributes::decode;
use crate::baseline::import::{per_account, ImportScope, ImportedSection};
use crate::baseline::{aws_error, Baseline, Context};
use crate::plan::control::{resolve, ControlKey, Inputs, KnownIds};
use crate::spec::{AlertsSpec, FindingAlertsSpec, Severity, Spec, TargetedSpec, Targets};

/// The severities a findings rule can start at, the default first.
const SEVERITIES: [Severity; 4] = [Severity::High, Severity::Low, Severity::Medium, Severity::Critical];

/// How many controls are read at once while checking the section.
const READS_AT_ONCE: usize = 16;

/// The section as found and checked; None when no account has the topic.
pub async fn import(context: &Context<'_>, scope: &ImportScope) -> Result<Option<ImportedSection>> {
    let Some(home) = scope.regions.first() else { return Ok(None) };
    let topics = per_account(scope, |account| async move {
        let key = ControlKey::new(TOPIC, &account, Some(home));
        read_topic(context, &key).await?.map(|live| decode::<TopicAttributes>(&key, &live)).transpose()
    })
    .await?;
    let mut found = topics.into_iter();
    let Some((account, topic)) = found.next() else { return Ok(None) };
    let others: Vec<String> = found.map(|(other, _)| format!("`{other}`")).collect();
    if !others.is_empty() {
        return Ok(Some(left_out(format!(
            "the topic `{TOPIC_NAME}` is in `{account}` and {}; the section names one account",
            others.join(", ")
        ))));
    }
    if topic.emails.is_empty() {
        return Ok(Some(left_out(format!(
            "the topic `{TOPIC_NAME}` of `{account}` has no e-mail subscription, and the section needs one"
        ))));
    }
    let mut notes = Vec::new();
    let findings = match findings_severity(context, &account, home).await? {
        FindingsRule::Absent => None,
        FindingsRule::At(min_severity) => Some(FindingAlertsSpec { min_severity }),
        FindingsRule::Other => {
            notes.push(format!(
                "`baseline.alerts` leaves out `findings`: the GuardDuty findings rule of `{account}` in {home} matches severities no `min_severity` does; the rules are left as they are"
            ));
            None
        }
    };
    let forwarding = per_account(scope, |source| async move {
        let key = ControlKey::new(format!("{RULE_PREFIX}root_activity_forwarder"), &source, Some(home));
        let rule = json!({ "name": root_activity::BUS_NAME, "bus": DEFAULT_BUS });
        Ok(read_rule(context, &key, &rule).await?.map(|_| ()))
    })
    .await?;
    let mut section = AlertsSpec {
        account: account.clone(),
        email: topic.emails,
        findings,
        root_activity: targets_of(scope, forwarding.keys().cloned().collect()),
    };

    let differing = differing_controls(context, scope, &section).await?;
    let regions_of = |control: &dyn Fn(&ControlKey) -> bool| -> Vec<String> {
        let regions: BTreeSet<String> =
            differing.iter().filter(|key| control(key)).map(|key| key.region.clone().unwrap_or_default()).collect();
        regions.into_iter().collect()
    };
    let topic_regions = regions_of(&|key| key.control == TOPIC);
    if !topic_regions.is_empty() {
        return Ok(Some(left_out(format!(
            "the topic `{TOPIC_NAME}` of `{account}` differs from what the section writes (its policy, or its e-mail subscriptions, or it is missing) in {}",
            topic_regions.join(", ")
        ))));
    }
    let is_findings_rule = |key: &ControlKey| {
        key.control == format!("{RULE_PREFIX}guardduty_findings")
            || key.control == format!("{RULE_PREFIX}security_hub_findings")
    };
    let findings_regions = regions_of(&is_findings_rule);
    if !findings_regions.is_empty() {
        section.findings = None;
        notes.push(format!(
            "`baseline.alerts` leaves out `findings`: the findings rules of `{account}` differ from what it writes in {}; they are left as they are",
            findings_regions.join(", ")
        ));
    }
    let is_central = |key: &ControlKey| {
        key.account == account
            && (key.control == root_activity::BUS || key.control == format!("{RULE_PREFIX}root_activity"))
    };
    let central_regions = regions_of(&is_central);
    if section.root_activity.is_some() && !central_regions.is_empty() {
        section.root_activity = None;
        notes.push(format!(
            "`baseline.alerts` leaves out `root_activity`: the event bus `{}` of `{account}` or its rule differ from what it writes in {}; the forwarding accounts are left as they are",
            root_activity::BUS_NAME,
            central_regions.join(", ")
        ));
    }
    if section.root_activity.is_some() {
        let is_forwarder = |key: &ControlKey| {
            key.control == root_activity::FORWARDER_ROLE
                || key.control == format!("{RULE_PREFIX}root_activity_forwarder")
        };
        let differ: BTreeSet<&str> =
            differing.iter().filter(|key| is_forwarder(key)).map(|key| key.account.as_str()).collect();
        if !differ.is_empty() {
            let keep: BTreeSet<String> =
                forwarding.keys().filter(|source| !differ.contains(source.as_str())).cloned().collect();
            section.root_activity = targets_of(scope, keep);
            notes.push(format!(
                "`baseline.alerts.root_activity` leaves out {}: their forwarding rule or its role `{}` differ from what it writes",
                differ.iter().map(|source| format!("`{source}`")).collect::<Vec<_>>().join(", "),
                root_activity::FORWARDER_ROLE_NAME
            ));
        }
    }
    ImportedSection::new(section, notes).map(Some)
}

/// What the home region's GuardDuty findings rule says of the section's `min_severity`.
enum FindingsRule {
    Absent,
    /// The pattern `desired` makes for this severity (the others are checked with the section).
    At(Severity),
    /// A pattern the section does not write.
    Other,
}

async fn findings_severity(context: &Context<'_>, account: &str, home: &str) -> Result<FindingsRule> {
    let key = ControlKey::new(format!("{RULE_PREFIX}guardduty_findings"), account, Some(home));
    let rule = json!({ "name": "landing-zone-guardduty-findings", "bus": DEFAULT_BUS });
    let Some(live) = read_rule(context, &key, &rule).await? else { return Ok(FindingsRule::Absent) };
    Ok(SEVERITIES
        .into_iter()
        .find(|severity| guardduty_pattern(*severity) == live["pattern"])
        .map_or(FindingsRule::Other, FindingsRule::At))
}

/// `targets` naming exactly these accounts: `Root` when they are every imported account; None
/// when there are none.
fn targets_of(scope: &ImportScope, accounts: BTreeSet<String>) -> Option<TargetedSpec> {
    if accounts.is_empty() {
        return None;
    }
    let targets = if scope.accounts.keys().eq(accounts.iter()) {
        Targets::everywhere()
    } else {
        Targets { accounts: accounts.into_iter().collect(), ..Targets::default() }
    };
    Some(TargetedSpec { targets })
}

/// The controls of `section` whose live attributes (read by the baseline's reader, its notes taken
/// out) differ from what the section asks: what the plan of the imported spec would change.
async fn differing_controls(
    context: &Context<'_>,
    scope: &ImportScope,
    section: &AlertsSpec,
) -> Result<Vec<ControlKey>> {
    use futures::StreamExt;
    let spec: Spec = serde_json::from_value(json!({
        "version": 1,
        "organization": { "regions": scope.regions, "management_account": scope.management },
        "baseline": { "alerts": section },
    }))
    .context("the imported `baseline.alerts`")?;
    let accounts = scope.desired_accounts();
    let (role_documents, permission_set_documents) = (BTreeMap::new(), BTreeMap::new());
    let inputs = Inputs {
        spec: &spec,
        accounts: &accounts,
        role_documents: &role_documents,
        permission_set_documents: &permission_set_documents,
    };
    let controls = desired(&inputs);
    let mut ids: KnownIds = context.ids.clone();
    if section.root_activity.is_some() && ids.organization.is_none() {
        ids.organization = organization_id(context, scope).await?;
    }
    let checking = Context { sessions: context.sessions, ids: &ids, reads: context.reads };
    let checking = &checking;
    let ids = &ids;
    let results: Vec<Result<Option<ControlKey>>> = futures::stream::iter(controls)
        .map(|control| async move {
            let wanted = resolve(&control.attributes, ids);
            let live = Alerts.read(checking, &control.key, &wanted).await?.map(|mut live| {
                Alerts.take_notes(&control.key, &mut live);
                live
            });
            Ok((live.as_ref() != Some(&wanted)).then_some(control.key))
        })
        .buffer_unordered(READS_AT_ONCE)
        .collect()
        .await;
    let mut differing = Vec::new();
    for result in results {
        differing.extend(result?);
    }
    differing.sort();
    Ok(differing)
}

/// The organization's id, which the root-activity bus policy names (`aws:PrincipalOrgID`).
/// https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeOrganization.html
async fn organization_id(context: &Context<'_>, scope: &ImportScope) -> Result<Option<String>> {
    let Some(management) = &scope.management else { return Ok(None) };
    let client =
        aws_sdk_organizations::Client::new(&context.sessions.config(context.account_id(management)?, None).await);
    let output =
        client.describe_organization().send().await.map_err(|error| aws_error("DescribeOrganization", error))?;
    Ok(output.organization.and_then(|organization| organization.id))
}

fn left_out(why: String) -> ImportedSection {
    ImportedSection::left_out(format!("`baseline.alerts` left out: {why}"))
}
