//! `plan`: read the live organization and every control of the spec's baselines, then plan. Also
//! what `apply` and the other operations share: connecting, the read scope, saving a plan.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::aws::{load_config, Clients, Concurrency, ConnectOptions};
use crate::baseline::reads::RunReads;
use crate::baseline::Context as BaselineContext;
use crate::live::controls::{find_owned, read_controls_reporting, FindScope};
use crate::live::early::EarlyReads;
use crate::live::progress::{ReadReporter, SilentReadReporter};
use crate::live::{read_organization_with, LiveOrganization, PolicyFocus, ReadScope, WalkWatcher};
use crate::plan::control::ControlKey;
use crate::plan::control::KnownIds;
use crate::plan::saved::{plan_digest, SavedPlan, SAVED_PLAN_VERSION};
use crate::plan::target::{Scope, Target};
use crate::plan::touched::Touched;
use crate::plan::{plan, DesiredOrganization, Plan, PlanOptions};
use crate::spec::ValidSpec;

/// What `plan` produced: the plan, the state it was made from, and the ids known before apply.
#[derive(Debug, Clone)]
pub struct PlanOutcome {
    pub plan: Plan,
    pub live: LiveOrganization,
    pub known: KnownIds,
    /// The `--target`s the plan is limited to (empty: the whole organization).
    pub targets: Vec<String>,
}

/// How much of the organization one read covers beyond the organization's own structure (the
/// tree walk, policies, trusted access and delegated administrators, always read whole).
#[derive(Debug, Clone, Default)]
pub struct ReadLimits {
    /// Read tags only of these containers: spec account emails (lower-case) and ids, unit paths.
    pub tag_accounts: Option<std::collections::BTreeSet<String>>,
    pub tag_units: Option<std::collections::BTreeSet<String>>,
    /// Live ids whose tags may be read (a re-read of what a plan touches).
    pub tag_ids: Option<std::collections::BTreeSet<String>>,
    /// Read only these controls.
    pub controls: Option<std::collections::BTreeSet<ControlKey>>,
    /// Skip the reads only planning needs (centralized root access, emulator probes).
    pub structure_only: bool,
    /// Read member accounts' root credentials (the spec and `--allow-destructive` opt into
    /// deleting them, or a reviewed plan deletes some).
    pub root_credentials: bool,
    /// Search only these accounts (spec names) for what landing-zone created and the spec no
    /// longer asks for; None: every account.
    pub owned_accounts: Option<std::collections::BTreeSet<String>>,
    /// Keep only these of what is found (a reviewed plan's removals); None: all.
    pub owned_keys: Option<std::collections::BTreeSet<ControlKey>>,
    /// Read in full only the policies these containers need (`PolicyFocus`); None: all.
    pub policies: Option<PolicyFocus>,
}

impl ReadLimits {
    /// Whether this is a whole read: every control of every matched account, and the search of
    /// every account (what `live::early` may start before the walk is done).
    pub fn reads_everything(&self) -> bool {
        self.controls.is_none() && self.owned_accounts.is_none() && self.owned_keys.is_none() && !self.structure_only
    }

    /// The reads `--target` needs: tags and controls of the covered accounts and units only (and
    /// the controls theirs come after).
    pub fn for_targets(scope: &Scope, desired: &DesiredOrganization) -> ReadLimits {
        let accounts = desired
            .accounts
            .iter()
            .filter(|account| scope.accounts.contains(&account.name))
            .flat_map(|account| std::iter::once(account.email.to_lowercase()).chain(account.id.clone()))
            .collect();
        ReadLimits {
            tag_accounts: Some(accounts),
            tag_units: Some(scope.units.clone()),
            tag_ids: None,
            controls: Some(scope.controls_to_read(desired)),
            structure_only: false,
            root_credentials: false,
            owned_accounts: Some(scope.accounts.clone()),
            owned_keys: None,
            policies: Some(policy_focus(scope, desired)),
        }
    }

    /// The reads that check what a reviewed plan touches: its objects' tags and its controls.
    pub fn for_touched(touched: &Touched) -> ReadLimits {
        ReadLimits {
            tag_accounts: None,
            tag_units: None,
            tag_ids: Some(touched.ids.clone()),
            controls: Some(touched.controls.clone()),
            structure_only: true,
            root_credentials: false,
            owned_accounts: None,
            owned_keys: Some(touched.removed.clone()),
            policies: None,
        }
    }
}

/// The policies `--target` needs read in full (`PolicyFocus` says why): those attached to the
/// covered accounts and units or their ancestors, and the spec's attached to any of them.
fn policy_focus(scope: &Scope, desired: &DesiredOrganization) -> PolicyFocus {
    let covered = desired.accounts.iter().filter(|account| scope.accounts.contains(&account.name));
    let accounts = covered
        .clone()
        .flat_map(|account| std::iter::once(account.email.to_lowercase()).chain(account.id.clone()))
        .collect();
    // Every unit on the spec's path of a covered account or unit, the root included.
    let mut units: std::collections::BTreeSet<String> = scope.units.clone();
    units.insert(crate::spec::ROOT.to_string());
    for path in scope.units.iter().cloned().chain(covered.map(|account| account.unit_path.clone())) {
        let mut prefix = String::new();
        for part in path.split('/') {
            prefix = if prefix.is_empty() { part.to_string() } else { format!("{prefix}/{part}") };
            units.insert(prefix.clone());
        }
    }
    let needed = desired
        .policies
        .iter()
        .filter(|policy| {
            policy.target_units.iter().any(|unit| units.contains(unit))
                || policy.target_accounts.iter().any(|account| scope.accounts.contains(account))
        })
        .map(|policy| (policy.policy_type, policy.name.clone()))
        .collect();
    let named = desired.policies.iter().map(|policy| (policy.policy_type, policy.name.clone())).collect();
    PolicyFocus { accounts, units, named, needed }
}

/// The tags the spec manages decide which tags are read.
pub fn read_scope(desired: &DesiredOrganization) -> ReadScope {
    ReadScope {
        unit_tags: desired.units.iter().filter(|unit| unit.tags.is_some()).map(|unit| unit.path.clone()).collect(),
        account_tags: desired
            .accounts
            .iter()
            .filter(|account| account.tags.is_some())
            .flat_map(|account| std::iter::once(account.email.to_lowercase()).chain(account.id.clone()))
            .collect(),
        all_tags: false,
        policy_types: desired.policy_types.clone(),
        skip_policy_tags: desired
            .policies
            .iter()
            .filter(|policy| policy.tags.is_none())
            .map(|policy| (policy.policy_type, policy.name.clone()))
            .collect(),
        tags_only_for: None,
        policy_focus: None,
    }
}

/// [`read_scope`] narrowed by `limits`.
fn limited_read_scope(desired: &DesiredOrganization, limits: &ReadLimits) -> ReadScope {
    let mut scope = read_scope(desired);
    if let Some(accounts) = &limits.tag_accounts {
        scope.account_tags.retain(|key| accounts.contains(key));
    }
    if let Some(units) = &limits.tag_units {
        scope.unit_tags.retain(|path| units.contains(path));
    }
    scope.tags_only_for.clone_from(&limits.tag_ids);
    scope.policy_focus.clone_from(&limits.policies);
    scope
}

/// Connects to AWS: the spec's home region unless the profile or `--region` says otherwise. The
/// caller's credentials are found first (`aws::credentials::check`): none, or an unknown profile,
/// is an error before any call.
pub async fn connect(connect: &ConnectOptions, valid: Option<&ValidSpec>) -> Result<Clients> {
    let mut options = connect.clone();
    // `AWS_PROFILE=` (set but empty) names no profile, as for the SDK.
    options.profile = options.profile.filter(|profile| !profile.is_empty());
    if options.fallback_region.is_none() {
        options.fallback_region = valid.and_then(|valid| valid.spec.organization.regions.first().cloned());
    }
    let config = load_config(&options).await;
    let config = crate::aws::credentials::check(config, options.profile.as_deref()).await?;
    let organization = valid.map(|valid| &valid.spec.organization);
    let access_role = organization.map_or("OrganizationAccountAccessRole", |org| org.access_role.as_str());
    Ok(Clients::new(&config, access_role, organization.and_then(|org| org.external_id.clone())))
}

/// Reads the live organization and every baseline control in existing accounts, then plans.
/// `desired` is `baseline::desired_organization(valid)`, computed once by the command.
pub async fn make_plan(
    desired: &DesiredOrganization,
    clients: &Clients,
    options: PlanOptions,
    concurrency: Concurrency,
) -> Result<PlanOutcome> {
    make_plan_reporting(desired, clients, options, concurrency, &SilentReadReporter).await
}

/// [`make_plan`], telling `reporter` how reading the controls goes.
pub async fn make_plan_reporting(
    desired: &DesiredOrganization,
    clients: &Clients,
    options: PlanOptions,
    concurrency: Concurrency,
    reporter: &dyn ReadReporter,
) -> Result<PlanOutcome> {
    make_targeted_plan(desired, clients, options, concurrency, reporter, &[]).await
}

/// [`make_plan_reporting`] limited to `targets` (none: the whole organization): reads only what
/// they need, and the plan holds only their actions and what those depend on.
pub async fn make_targeted_plan(
    desired: &DesiredOrganization,
    clients: &Clients,
    options: PlanOptions,
    concurrency: Concurrency,
    reporter: &dyn ReadReporter,
    targets: &[Target],
) -> Result<PlanOutcome> {
    let scope = if targets.is_empty() { None } else { Some(crate::plan::target::resolve(targets, desired)?) };
    let mut limits = scope.as_ref().map(|scope| ReadLimits::for_targets(scope, desired)).unwrap_or_default();
    limits.root_credentials = desired.delete_member_root_credentials && options.allow_destructive;
    let (live, known) = read_live(desired, clients, concurrency, reporter, &limits).await?;
    tracing::info!("planning");
    let full = plan(desired, &live, options)?;
    let (plan, targets) = match scope {
        None => (full, Vec::new()),
        Some(scope) => {
            let unit_ids = live.units_by_path().into_iter().map(|(path, unit)| (path, unit.id.clone())).collect();
            let scope = scope.with_live_ids(&known.accounts, &unit_ids);
            let mut restricted = scope.restrict(&full);
            restricted.blocked.extend(scope.held_back_policy_updates(&full, &live));
            (restricted, scope.targets)
        }
    };
    Ok(PlanOutcome { plan, live, known, targets })
}

/// Reads the live organization and the controls `limits` allows (every desired control in
/// existing accounts when it allows all). The accounts' reads start as soon as the organization's
/// structure is known, while its policies and tags are still being read.
pub async fn read_live(
    desired: &DesiredOrganization,
    clients: &Clients,
    concurrency: Concurrency,
    reporter: &dyn ReadReporter,
    limits: &ReadLimits,
) -> Result<(LiveOrganization, KnownIds)> {
    let scope = limited_read_scope(desired, limits);
    let tracked = crate::baseline::tracked(desired);
    let regions = &desired.regions;
    // A full read starts each account's reads as the walk lists it (`live::early`), when the
    // spec pins every account's id.
    let early = limits
        .reads_everything()
        .then(|| EarlyReads::new(desired, &clients.sessions, &tracked, regions, concurrency))
        .flatten();
    let early = early.as_ref();
    let accounts = |structure| {
        read_accounts(structure, desired, (&tracked, regions), clients, (concurrency, early), reporter, limits)
    };
    tracing::info!("reading the organization");
    let watcher = early.map(|early| early as &dyn WalkWatcher);
    let reading = async {
        let read = read_organization_with(&clients.organizations, &scope, concurrency.calls, watcher, accounts).await;
        // Whether it failed or not: the early reads end with it.
        if let Some(early) = early {
            early.stop();
        }
        read
    };
    let reading_early = async {
        if let Some(early) = early {
            early.run().await;
        }
    };
    let (read, ()) = futures::join!(reading, reading_early);
    let (mut live, (read, known)) = read?;
    tracing::info!(
        "organization read: {} accounts, {} units, {} policies",
        live.accounts.len(),
        live.units.len(),
        live.policies.len()
    );
    live.root_access_features = read.root_access_features;
    live.root_credentials = read.root_credentials;
    live.controls = read.controls;
    live.control_notes = read.control_notes;
    live.unsupported_controls = read.unsupported_controls;
    live.owned_controls = read.owned_controls;
    live.unowned_controls = read.unowned_controls;
    live.account_names_unsupported = read.account_names_unsupported;
    Ok((live, known))
}

/// What is read in and about the accounts, given the organization's `structure` (its accounts,
/// units and trusted services): root access, root credentials and the controls, filled into it.
async fn read_accounts(
    mut structure: LiveOrganization,
    desired: &DesiredOrganization,
    (tracked, regions): (&[&'static dyn crate::baseline::Baseline], &[String]),
    clients: &Clients,
    (concurrency, early): (Concurrency, Option<&EarlyReads<'_>>),
    reporter: &dyn ReadReporter,
    limits: &ReadLimits,
) -> Result<(LiveOrganization, KnownIds)> {
    if let Some(organization) = &structure.organization {
        clients.sessions.set_management_account(&organization.management_account_id).await;
    }
    // The emulator probe (one call, none against AWS) goes beside the accounts' reads rather than
    // after the whole read: at AWS's rates it was one more round trip on the plan's wall (issue 25).
    let probe = async {
        match limits.structure_only {
            true => None,
            false => account_names_unsupported(clients).await,
        }
    };
    let reads = async move {
        if !limits.structure_only || limits.root_credentials {
            read_root_access(clients, &mut structure).await?;
        }
        // Root credentials are read only when the spec and the command line both opt into deleting
        // them, and only once root credentials management is on (AssumeRoot needs it).
        if limits.root_credentials && structure.root_access_features.contains(crate::spec::ROOT_CREDENTIALS_MANAGEMENT)
        {
            structure.root_credentials =
                Some(read_member_root_credentials(clients, &structure, concurrency.accounts).await?);
        }
        let known = KnownIds {
            accounts: match_accounts(desired, &structure),
            organization: structure.organization.as_ref().map(|org| org.id.clone()),
        };
        let to_read = match &limits.controls {
            None => std::borrow::Cow::Borrowed(desired),
            Some(keys) => desired.with_controls_only(|control| keys.contains(&control.key)),
        };
        let to_read = to_read.as_ref();
        // The early reads hold only if they were made with the ids matched now. The walk is done: the early reads go on through every account it listed when they hold,
        // and stop (the accounts are read below instead) when they do not.
        let early = match early {
            Some(early) if early.usable(&known) => {
                early.close();
                Some(early)
            }
            Some(early) => {
                early.stop();
                tracing::info!(
                    "the accounts matched are not the spec's pinned ids: every account is read after the walk"
                );
                None
            }
            None => None,
        };
        // What the reads share (one listing answering several controls), kept for the search below:
        // the early reads' own when they hold (it names every desired control; only the matched
        // accounts' are ever read).
        let fresh;
        let reads = match early {
            Some(early) => early.reads(),
            None => {
                fresh = RunReads::new(
                    to_read
                        .controls
                        .iter()
                        .filter(|control| known.accounts.contains_key(&control.key.account))
                        .map(|control| control.key.clone())
                        .collect(),
                );
                &fresh
            }
        };
        let (controls, unsupported) = read_controls_reporting(
            to_read,
            &known,
            &structure,
            &clients.sessions,
            concurrency,
            reporter,
            (reads, early),
        )
        .await?;
        let (controls, notes) = take_control_notes(controls);
        structure.controls = controls;
        structure.control_notes = notes;
        structure.unsupported_controls = unsupported;
        // What the tool created and the spec no longer asks for (a reviewed plan without removals
        // searches nothing).
        let search = limits.owned_keys.as_ref().is_none_or(|keys| !keys.is_empty());
        if search {
            let scope = FindScope {
                baselines: tracked,
                accounts: limits.owned_accounts.as_ref(),
                keys: limits.owned_keys.as_ref(),
            };
            let found = {
                let context = BaselineContext { sessions: &clients.sessions, ids: &known, reads: Some(reads) };
                find_owned(desired, regions, &structure, &context, concurrency, scope, early).await?
            };
            for (key, (attributes, loses)) in found.owned {
                structure.controls.insert(key.clone(), Some(attributes));
                structure.owned_controls.insert(key, loses);
            }
            structure.unowned_controls = found.unowned;
        }
        Ok::<_, anyhow::Error>((structure, known))
    };
    let (read, names_unsupported) = futures::join!(reads, probe);
    let (mut structure, known) = read?;
    structure.account_names_unsupported = names_unsupported;
    Ok((structure, known))
}

pub use crate::plan::planner::match_accounts;

/// Fills in the centralized root access features, read only where IAM would answer (an
/// organization with trusted access for `iam.amazonaws.com`): one call, none otherwise.
pub async fn read_root_access(clients: &Clients, live: &mut LiveOrganization) -> Result<()> {
    let Some(organization) = &live.organization else { return Ok(()) };
    if !live.trusted_services.contains("iam.amazonaws.com") {
        return Ok(());
    }
    let iam = clients.sessions.client::<aws_sdk_iam::Client>(&organization.management_account_id, None).await;
    live.root_access_features = crate::live::organization::read_root_access_features(&iam).await?;
    Ok(())
}

/// Every active member account's root credentials (one AssumeRoot each); the first failure fails
/// the plan, since a plan that skipped an account would not show what apply leaves behind.
async fn read_member_root_credentials(
    clients: &Clients,
    live: &LiveOrganization,
    accounts_at_once: usize,
) -> Result<std::collections::BTreeMap<String, crate::plan::state::RootCredentials>> {
    let Some(organization) = &live.organization else { return Ok(Default::default()) };
    let management = &organization.management_account_id;
    let members: Vec<String> = live
        .accounts
        .values()
        .filter(|account| account.state.is_active() && &account.id != management)
        .map(|account| account.id.clone())
        .collect();
    let read =
        crate::live::root_credentials::read_members(&clients.sessions, management, &members, accounts_at_once).await;
    read.into_iter().map(|(id, result)| result.map(|credentials| (id, credentials))).collect()
}

/// The current time as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    crate::plan::saved::rfc3339(seconds)
}

/// The plan as `plan --out` saves it: with the spec's digest and a digest of every live object the
/// plan touches, so `apply FILE` can refuse it when either moved.
pub fn saved_plan(valid: &ValidSpec, desired: &DesiredOrganization, outcome: &PlanOutcome) -> SavedPlan {
    let touched = Touched::of(&outcome.plan, desired);
    SavedPlan {
        format_version: SAVED_PLAN_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: now_rfc3339(),
        spec_digest: valid.content_digest(),
        live_digests: touched.digests(&outcome.live),
        targets: outcome.targets.clone(),
        known_accounts: outcome.known.accounts.clone(),
        known_organization: outcome.known.organization.clone(),
        plan_digest: plan_digest(&outcome.plan),
        plan: outcome.plan.clone(),
    }
}

/// Against an emulator (an endpoint override), whether it lacks the Account API's account names:
/// one `GetAccountInformation` of the management account, answered with an HTML page by emulators
/// that lack the operation. Never called against AWS, which has it.
async fn account_names_unsupported(clients: &Clients) -> Option<String> {
    if !crate::aws::errors::endpoint_overridden() {
        return None;
    }
    let management = clients.sessions.management_account().await?;
    let client = clients.sessions.client::<aws_sdk_account::Client>(&management, None).await;
    let error = client.get_account_information().send().await.err()?;
    let failure = crate::aws::errors::aws_error("GetAccountInformation", error);
    crate::aws::errors::unimplemented(&failure).map(|_| "PutAccountName".to_string())
}

type ControlValues = BTreeMap<crate::plan::control::ControlKey, Option<serde_json::Value>>;

/// Moves what readers saw but controls do not own out of the live attributes, into notes.
fn take_control_notes(
    mut controls: ControlValues,
) -> (ControlValues, BTreeMap<crate::plan::control::ControlKey, Vec<String>>) {
    let mut notes = BTreeMap::new();
    for (key, value) in &mut controls {
        let (Some(value), Ok(owner)) = (value.as_mut(), crate::baseline::owner(key)) else { continue };
        let taken = owner.take_notes(key, value);
        if !taken.is_empty() {
            notes.insert(key.clone(), taken);
        }
    }
    (controls, notes)
}
