//! Security baselines: each folder owns one section of `baseline:` — its desired controls (pure),
//! its live reader, its write steps and the IAM actions those make — behind one trait, listed once
//! in [`REGISTRY`]. The registry drives desired controls, trusted access, delegated administrators,
//! reading, writing and `landing-zone permissions`; adding a baseline is one folder, one registry
//! line and its serde field in `spec::model` (docs/architecture.md).
//!
//! The control vocabulary (keys, desired controls, placeholders) is the planner's, in
//! `plan::control`; this module adds what needs AWS: the [`Context`] readers and writers get.

pub mod access_analyzer;
pub mod alerts;
pub mod attributes;
pub mod audit;
pub mod aws_config;
pub mod backup;
pub mod budgets;
pub mod cloudtrail;
pub mod conformance_packs;
pub mod contacts;
pub mod default_security_groups;
pub mod default_vpcs;
pub mod detective;
pub mod ebs_encryption;
pub mod flow_logs;
pub mod guardduty;
pub mod identity_center;
pub mod import;
pub mod inspector;
pub mod kms_key;
pub mod log_archive;
pub mod macie;
pub mod network;
pub mod organization_service;
pub mod password_policy;
pub mod public_access_block;
pub mod reads;
pub mod regions;
pub mod roles;
pub mod security_hub;
pub mod validate;
pub mod vpcs;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use anyhow::{bail, Result};
use serde_json::Value;

// The AWS-error helpers every reader and step uses live in `aws::errors`; baselines name them
// from here as they always have.
pub use crate::aws::errors::{aws_error, html_error, unimplemented, Unimplemented};
use crate::aws::session::Sessions;
use crate::plan::control::{ControlKey, DesiredControl, Inputs, KnownIds};
use crate::plan::desired::{BaselineDemands, DesiredOrganization};
use crate::spec::validate::Checker;
use crate::spec::{Spec, ValidSpec};

pub use validate::{load_spec, load_spec_from_str};

/// A future a baseline's reader or writer returns (boxed: the registry holds trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// IAM actions, by what they do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Actions {
    /// Made by `plan`, `audit` and `import` as well as by `apply`.
    pub read: &'static [&'static str],
    /// Made by `apply` only.
    pub write: &'static [&'static str],
}

/// The IAM actions a baseline's calls need, split by whose credentials make them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Permissions {
    /// Made from the management account with the caller's own credentials, whatever account the
    /// control is in (designating a delegated administrator, the Account API).
    pub management: Actions,
    /// Made in the account that holds the control: through `organization.access_role` in a member
    /// account, with the caller's own credentials when the control is in the management account.
    pub in_account: Actions,
}

/// How a baseline tracks what it creates, so that what the spec stops asking for is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership {
    /// Where its resources are searched for in each account.
    pub places: Places,
}

/// Where a baseline's resources live in an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Places {
    /// Once per account (global services: IAM, Budgets): searched with no region.
    Account,
    /// In each of the spec's regions.
    Regions,
    /// Both: searched once with no region and once in each region.
    Both,
}

/// A resource of a baseline's kind, found in an account (and region) where the spec does not ask
/// for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The control it would be (`budget/<name>` in that account).
    pub key: ControlKey,
    /// It carries landing-zone's ownership mark (the `landing-zone:managed-by` tag): created by
    /// the tool. Only these are ever removed.
    pub owned: bool,
    /// Its live attributes when owned (what the plan shows it removes); Null otherwise.
    pub attributes: Value,
    /// What removing it loses that the spec cannot re-create (a vault's recovery points): the
    /// removal is then planned only with `organization.allow.delete_baseline_data` and
    /// `--allow-destructive`. None: the spec holds all of it.
    pub loses_data: Option<&'static str>,
}

/// One section of `baseline:`. Implementations are unit structs listed in [`REGISTRY`].
pub trait Baseline: Sync {
    /// The control family: the first segment of every control name it owns (`iam_role/X`).
    fn family(&self) -> &'static str;

    /// Its key under `baseline:` in the spec.
    fn section(&self) -> &'static str;

    /// One line for docs: what it manages (its row of `docs/spec.md`'s table, [`docs_table`]).
    fn summary(&self) -> &'static str;

    /// Reports what is wrong in its section of the spec, offline (AWS's limits and the references
    /// to accounts and units), through `checker` at each value's line and column. Run after the
    /// spec's own rules, by [`validate::check_baselines`]; nothing when its section is absent.
    fn validate(&self, _checker: &mut Checker<'_>) {}

    /// Every control the spec wants (empty when its section is absent), dependencies first.
    fn desired(&self, inputs: &Inputs<'_>) -> Vec<DesiredControl>;

    /// Trusted-access service principals it needs when its section is present.
    fn trusted_services(&self, _spec: &Spec) -> Vec<&'static str> {
        Vec::new()
    }

    /// Delegated administrators it registers through Organizations: (service principal, account
    /// name). Services that designate theirs through their own API (GuardDuty, Security Hub) do it
    /// as a control instead.
    fn delegated_administrators(&self, _spec: &Spec) -> Vec<(String, String)> {
        Vec::new()
    }

    /// The service principal whose trusted access reading `key` needs (the Account API called
    /// with a member's `AccountId`), if any. Until the organization has it, the control reads as
    /// absent and the plan enables the access before configuring it.
    fn read_needs_trusted_access(&self, _key: &ControlKey) -> Option<&'static str> {
        None
    }

    /// The IAM actions its readers and writers call.
    fn permissions(&self) -> Permissions;

    /// Whole IAM statements, with conditions, that its calls need besides [`Baseline::permissions`]:
    /// actions a service takes with the caller's credentials on its behalf, granted only through
    /// that service (`kms:ViaService`). For the apply policy when `apply`, else for plan's. Made in
    /// the account holding the control, like [`Permissions::in_account`].
    fn conditioned_permissions(&self, _apply: bool) -> Vec<Value> {
        Vec::new()
    }

    /// Takes the display-only part out of a control's live attributes (what a reader saw but the
    /// control does not own: assignments landing-zone did not make), as notes for the plan. What
    /// is left is what the planner compares.
    fn take_notes(&self, _key: &ControlKey, _live: &mut Value) -> Vec<String> {
        Vec::new()
    }

    /// Whether `audit` reports its controls from its own reader, one finding per desired control
    /// (account and region), PASS when the live control equals the spec's. Others report their
    /// posture checks instead ([`Self::audit_account`], [`Self::audit_organization`]).
    fn audited_by_reader(&self) -> bool {
        false
    }

    /// What keeps a control that matches the spec from doing its job, from the notes its reader
    /// gave ([`Self::take_notes`]): an alerts topic whose subscriptions nobody confirmed reaches
    /// nobody. `audit` reports it as a FAIL where the plan, with nothing to change, only notes it.
    /// None: the notes are display only.
    fn audit_gap(&self, _key: &ControlKey, _notes: &[String]) -> Option<String> {
        None
    }

    /// `audit`'s posture checks of one account, made whatever the spec says (a password policy
    /// of at least 14 characters), through its own reader functions. Nothing by default.
    fn audit_account<'a>(
        &'a self,
        _context: &'a Context<'_>,
        _account: &'a audit::AuditedAccount<'a>,
    ) -> BoxFuture<'a, Vec<audit::Finding>> {
        Box::pin(async { Vec::new() })
    }

    /// `audit`'s checks of the organization as a whole (the organization trail, the bunker's
    /// bucket), through its own reader functions. Nothing by default.
    fn audit_organization<'a>(
        &'a self,
        _context: &'a Context<'_>,
        _organization: &'a audit::AuditedOrganization<'a>,
    ) -> BoxFuture<'a, Vec<audit::Finding>> {
        Box::pin(async { Vec::new() })
    }

    /// What `audit` says of a control whose live attributes differ from the spec's (the default
    /// groups with rules, the VPCs without a flow log); None: "differs from the spec".
    fn audit_detail(&self, _key: &ControlKey, _live: &Value) -> Option<String> {
        None
    }

    /// Reads one control's live attributes (None: absent). `desired` is the control's desired
    /// attributes with known ids filled in; readers use it to find what they read (a bucket's name).
    fn read<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        desired: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Value>>>;

    /// Makes one control match `attributes` (placeholders already resolved).
    fn apply<'a>(
        &'a self,
        context: &'a Context<'_>,
        key: &'a ControlKey,
        attributes: &'a Value,
        before: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<()>>;

    /// Whether `key` gates its account's Region (the Region's opt-in status): gates are read first,
    /// and where one reads as not usable ([`Self::region_usable`]) every other control of that
    /// account and Region reads as absent without a call (AWS refuses every call there).
    fn is_region_gate(&self, _key: &ControlKey) -> bool {
        false
    }

    /// Whether a gate's live attributes ([`Self::is_region_gate`]) say its Region can be used.
    fn region_usable(&self, _live: Option<&Value>) -> bool {
        true
    }

    /// Names of the IAM roles it creates in accounts through `roles::apply_role` (the backup role,
    /// the root-activity forwarder): the roles baseline's search for roles the spec no longer asks
    /// for leaves them to their baseline.
    fn owned_role_names(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether it tracks what it creates (marks it as landing-zone's) so that [`Self::find`] and
    /// [`Self::remove`] can take away what the spec no longer asks for. None: it never removes.
    fn ownership(&self) -> Option<Ownership> {
        None
    }

    /// Every resource of its kind in `account` (and `region`) whose control is not in `wanted`
    /// (the spec's controls there), marked owned when it carries landing-zone's ownership mark.
    /// Called only when [`Self::ownership`] is Some.
    fn find<'a>(
        &'a self,
        _context: &'a Context<'_>,
        _account: &'a str,
        _region: Option<&'a str>,
        _wanted: &'a BTreeSet<ControlKey>,
    ) -> BoxFuture<'a, Result<Vec<Found>>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Its section of an imported spec: what it finds live, written so that the plan of the
    /// imported spec leaves it as it is (None: nothing found, or nothing it could write without a
    /// change). The registry runs every baseline's ([`import::import_sections`]).
    fn import<'a>(
        &'a self,
        _context: &'a Context<'_>,
        _scope: &'a import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<import::ImportedSection>>> {
        Box::pin(async { Ok(None) })
    }

    /// Its own top-level section of an imported spec, beside `baseline:` (Identity Center's
    /// `identity_center:`), and the notes of what it left out; the section None when it found
    /// nothing to write. Most baselines have none.
    fn import_top_level<'a>(
        &'a self,
        _context: &'a Context<'_>,
        _scope: &'a import::ImportScope,
    ) -> BoxFuture<'a, Result<Option<import::OwnSection>>> {
        Box::pin(async { Ok(None) })
    }

    /// Removes one resource it created. Checks the ownership mark again first and refuses what no
    /// longer carries it; one already gone is success (idempotent).
    fn remove<'a>(
        &'a self,
        _context: &'a Context<'_>,
        key: &'a ControlKey,
        _before: &'a Value,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { bail!("{}: `{}` does not remove what it created", key.label(), self.family()) })
    }
}

/// Every baseline, in the order their controls are planned (a control's `after` come first).
pub static REGISTRY: &[&dyn Baseline] = &[
    &regions::Regions,
    &password_policy::PasswordPolicy,
    &public_access_block::PublicAccessBlock,
    &contacts::Contacts,
    &roles::Roles,
    &log_archive::LogArchive,
    &cloudtrail::CloudTrail,
    &guardduty::GuardDuty,
    &security_hub::SecurityHub,
    &access_analyzer::AccessAnalyzer,
    &macie::Macie,
    &inspector::Inspector,
    &detective::Detective,
    &ebs_encryption::EbsEncryption,
    &aws_config::AwsConfig,
    &conformance_packs::ConformancePacks,
    &budgets::Budgets,
    &identity_center::IdentityCenter,
    &backup::Backup,
    &alerts::Alerts,
    &default_vpcs::DefaultVpcs,
    &default_security_groups::DefaultSecurityGroups,
    &flow_logs::FlowLogs,
    &network::Network,
];

/// The baseline that owns a control (by its family, the name's first segment).
pub fn owner(key: &ControlKey) -> Result<&'static dyn Baseline> {
    let family = key.control.split('/').next().unwrap_or_default();
    match REGISTRY.iter().find(|baseline| baseline.family() == family) {
        Some(baseline) => Ok(*baseline),
        None => bail!("unknown control family `{family}`"),
    }
}

/// What the baselines ask of the organization and its accounts, from the registry.
pub fn demands(valid: &ValidSpec, inputs: &Inputs<'_>) -> BaselineDemands {
    let spec = &valid.spec;
    let mut demands = BaselineDemands::default();
    for baseline in REGISTRY {
        demands.controls.extend(baseline.desired(inputs));
        demands.trusted_services.extend(baseline.trusted_services(spec).into_iter().map(str::to_string));
        demands.delegated_administrators.extend(baseline.delegated_administrators(spec));
    }
    regions::gate(&mut demands.controls);
    demands
}

/// The desired organization with every baseline's controls: the planner's input.
pub fn desired_organization(valid: &ValidSpec) -> DesiredOrganization {
    let mut desired = DesiredOrganization::from_spec(valid, |inputs| demands(valid, inputs));
    // The backup baseline's plans become an organization policy like the spec's own.
    if let Some(policy) = backup::desired_policy(&valid.spec) {
        desired.policy_types.insert(policy.policy_type);
        desired.policies.push(policy);
    }
    desired
}

/// The baselines whose resources are searched for what the spec no longer asks for: those that
/// track what they create ([`Baseline::ownership`]) and whose section the spec has. A spec without
/// the section makes no call for it; one that keeps the section removes what its entries no
/// longer cover (docs/spec.md, "What landing-zone removes").
pub fn tracked(desired: &DesiredOrganization) -> Vec<&'static dyn Baseline> {
    REGISTRY
        .iter()
        .copied()
        .filter(|baseline| baseline.ownership().is_some())
        .filter(|baseline| desired.baseline_sections.contains(baseline.section()))
        .collect()
}

/// The table of `docs/spec.md` that lists every baseline in the registry, its spec key
/// ([`Baseline::section`]) and what it manages ([`Baseline::summary`]), in registry order. The
/// page holds it between [`DOCS_TABLE_START`] and [`DOCS_TABLE_END`]; a test keeps the two equal,
/// so the page cannot drift from the registry.
pub fn docs_table() -> String {
    let mut table = String::from("| Section | Manages |\n|---|---|\n");
    for baseline in REGISTRY {
        table.push_str(&format!("| `{}` | {} |\n", baseline.section(), baseline.summary()));
    }
    table
}

/// The marker before the generated table in `docs/spec.md`.
pub const DOCS_TABLE_START: &str = "<!-- generated from baseline::REGISTRY by baseline::docs_table; do not edit -->";
/// The marker after it.
pub const DOCS_TABLE_END: &str = "<!-- end of the generated table -->";

/// The name of the organization trail the spec asks for, if any: what `audit`'s guardrail checks
/// expect the SCPs to protect.
pub fn organization_trail_name(spec: &Spec) -> Option<&str> {
    spec.baseline.cloudtrail.as_ref().map(|trail| trail.name.as_str())
}

/// Service principals the spec's baselines need trusted access for.
pub fn trusted_services(spec: &Spec) -> BTreeSet<String> {
    REGISTRY.iter().flat_map(|baseline| baseline.trusted_services(spec)).map(str::to_string).collect()
}

/// Whether `key` gates its account's Region ([`Baseline::is_region_gate`]).
pub fn is_region_gate(key: &ControlKey) -> bool {
    owner(key).is_ok_and(|baseline| baseline.is_region_gate(key))
}

/// Whether the gate `key`, read as `live`, leaves its Region usable ([`Baseline::region_usable`]).
pub fn region_usable(key: &ControlKey, live: Option<&Value>) -> bool {
    owner(key).map_or(true, |baseline| baseline.region_usable(live))
}

/// Reads one control through the baseline that owns it.
pub async fn read(context: &Context<'_>, key: &ControlKey, desired: &Value) -> Result<Option<Value>> {
    owner(key)?.read(context, key, desired).await
}

/// Removes one control the tool created, through the baseline that owns it.
pub async fn remove(context: &Context<'_>, key: &ControlKey, before: &Value) -> Result<()> {
    owner(key)?.remove(context, key, before).await
}

/// Configures one control through the baseline that owns it.
pub async fn apply(context: &Context<'_>, key: &ControlKey, attributes: &Value, before: Option<&Value>) -> Result<()> {
    owner(key)?.apply(context, key, attributes, before).await
}

/// What readers and steps get: sessions, and the ids of every account by spec name.
pub struct Context<'a> {
    pub sessions: &'a Sessions,
    pub ids: &'a KnownIds,
    /// The run's shared reads (plan, audit): lets a reader answer several controls with one call.
    /// None where controls are read one at a time (apply's steps).
    pub reads: Option<&'a reads::RunReads>,
}

impl Context<'_> {
    pub fn account_id(&self, account: &str) -> Result<&str> {
        match self.ids.accounts.get(account) {
            Some(id) => Ok(id),
            None => bail!("the id of account `{account}` is not known"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/spec.md`'s baseline table is the registry's: a baseline added, removed or renamed
    /// without the page (or the page edited by hand) fails here.
    #[test]
    fn the_spec_page_lists_every_baseline_of_the_registry() {
        let page = include_str!("../../docs/spec.md");
        let start = page.find(DOCS_TABLE_START).map(|at| at + DOCS_TABLE_START.len() + 1);
        let end = page.find(DOCS_TABLE_END);
        let (Some(start), Some(end)) = (start, end) else { panic!("docs/spec.md lacks the generated table's markers") };
        assert_eq!(&page[start..end], docs_table(), "regenerate the table in docs/spec.md from baseline::docs_table()");
    }

    /// `plan::control::display_control` shows each family under its spec key (here, not in
    /// `plan`, which imports no baseline).
    #[test]
    fn spec_names_match_the_registry() {
        use crate::plan::control::display_control;
        // Every baseline's controls are shown under its key in `baseline:`; `region_opt_in` is
        // the one family with no such key (it follows `organization.regions`).
        for baseline in REGISTRY {
            let shown = display_control(baseline.family());
            if baseline.family() != "region_opt_in" {
                assert_eq!(shown, baseline.section(), "family `{}`", baseline.family());
            }
        }
        let key = ControlKey::new("s3_account_public_access_block", "app-prod", None);
        assert_eq!(key.display_label(), "s3_block_public_access in app-prod");
        assert_eq!(key.label(), "s3_account_public_access_block in app-prod", "ids are unchanged");
        assert_eq!(display_control("budget/organization-monthly"), "budgets/organization-monthly");
        assert_eq!(display_control("guardduty/detector"), "guardduty/detector");
    }

    #[test]
    fn every_baseline_has_its_own_section_and_family() {
        let sections: BTreeSet<&str> = REGISTRY.iter().map(|baseline| baseline.section()).collect();
        let families: BTreeSet<&str> = REGISTRY.iter().map(|baseline| baseline.family()).collect();
        assert_eq!(sections.len(), REGISTRY.len());
        assert_eq!(families.len(), REGISTRY.len());
        assert!(REGISTRY.iter().all(|baseline| !baseline.summary().is_empty() && !baseline.summary().contains('|')));
    }
}
