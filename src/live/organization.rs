//! Reads the organization with the fewest calls (the read floor, docs/performance.md): a breadth-first
//! walk with ListOrganizationalUnitsForParent + ListAccountsForParent per container, ListPolicies
//! per enabled type, ListTargetsForPolicy per policy, DescribePolicy and tags only for
//! customer-managed policies, and tags of OUs and accounts only where the spec manages them.
//!
//! Calls run concurrently up to `parallelism`, every list is paginated to the end (AWS returns
//! empty pages that still carry a NextToken), and every call goes through the retry policy.
//!
//! The lists here are paged by hand, not through the SDK's paginators, for that reason: each page
//! is one call through `aws::retry::with_retry`, which paces it to the Organizations API's
//! published rate (`aws::rate_limit`), counts it, and retries that page on throttles and
//! ConcurrentModificationException with the tool's policy (a throttle on the fifth page retries
//! the fifth page, not the list). A paginator's stream leaves each page to the client's own retry.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use aws_sdk_organizations::types::{CreateAccountState, PolicySummary, PolicyType as AwsPolicyType};
use aws_sdk_organizations::Client;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::aws::errors::{describe, is_no_organization};
use crate::aws::retry::{with_retry, RetryPolicy};
use crate::plan::state::{
    AccountState, LiveAccount, LiveOrganization, LivePolicy, LiveUnit, OrganizationInfo, PendingAccountCreation,
    RootInfo,
};
use crate::spec::PolicyType;

/// The IAM actions the organization reader calls (with the caller's credentials).
pub const PERMISSIONS: crate::baseline::Actions = crate::baseline::Actions {
    read: &[
        "organizations:Describe*",
        "organizations:List*",
        "iam:ListOrganizationsFeatures",
        "account:GetAccountInformation",
    ],
    write: &[],
};

/// Which optional reads to make.
#[derive(Debug, Clone, Default)]
pub struct ReadScope {
    /// OU paths whose tags the spec manages.
    pub unit_tags: BTreeSet<String>,
    /// Account emails (lower-case) and ids whose tags the spec manages.
    pub account_tags: BTreeSet<String>,
    /// Read tags of every OU and account (for `import`).
    pub all_tags: bool,
    /// Policy types to list even when not (yet) enabled on the root: policies of a disabled type
    /// still exist, and an interrupted apply may have created them before enabling the type.
    pub policy_types: BTreeSet<PolicyType>,
    /// Customer policies (type, name) the spec names without `tags:`: their tags are not needed
    /// (ownership only matters for policies outside the spec), so they are not read.
    pub skip_policy_tags: BTreeSet<(PolicyType, String)>,
    /// When set, tags are read only for these live ids (among those the fields above select):
    /// the re-read under the apply lock of the objects a reviewed plan touches.
    pub tags_only_for: Option<BTreeSet<String>>,
    /// `--target`: read in full only the policies the targets need; None: every policy.
    pub policy_focus: Option<PolicyFocus>,
}

/// What a targeted read needs of the organization's policies (`plan --target`).
///
/// ListPolicies is still made per type: a spec policy must be known to exist, or the planner would
/// create it again. DescribePolicy, its tags and ListTargetsForPolicy are made only for:
/// - every policy attached to a covered container or to one of its ancestors up to the root, as
///   ListPoliciesForTarget answers for each of them and each enabled type
///   (<https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListPoliciesForTarget.html>:
///   the policies "directly attached to the specified target root, organizational unit (OU), or
///   account"). So the attachments of those containers are known in full: the targets'
///   attachments and detachments, their order on a target (never to zero SCPs, never past the
///   limit), the last-SCP and too-many checks on the path, and the lock-out order of an SCP
///   attached to a target all rest on the same data as an untargeted read;
/// - the spec policies the spec attaches to one of those containers (`needed`): whether they are
///   attached already, and their content changes (an attachment waits for nothing else of them,
///   but their update, detachments elsewhere and trail-guard checks are planned as before, with
///   their full target lists);
/// - every customer-managed policy the spec does not name: the plan's note on it (or its deletion
///   when landing-zone owns it) needs its tags and target count, as before.
///
/// Every other policy (in the spec, attached neither to the path nor by the spec to it) is listed
/// only: `LiveOrganization::unread_policies`. Whatever the planner would do with it (update it,
/// attach or detach it elsewhere) is outside the targets and is not a dependency of theirs, so
/// `Scope::restrict` drops it; the planner plans nothing for it, and checks the per-target rules
/// only on `LiveOrganization::attachments_known_for`.
#[derive(Debug, Clone, Default)]
pub struct PolicyFocus {
    /// Covered accounts: emails (lower-case) and ids.
    pub accounts: BTreeSet<String>,
    /// Covered units and the ancestors of every covered unit and account, by path (`Root` too).
    pub units: BTreeSet<String>,
    /// Every spec policy by (type, name).
    pub named: BTreeSet<(PolicyType, String)>,
    /// The spec policies the spec attaches to a covered container or an ancestor.
    pub needed: BTreeSet<(PolicyType, String)>,
}

/// Told what the read learns before it ends (`live::early` starts the accounts' reads from it
/// while the tree is still being walked). Called from the read's own task: it must not block.
pub trait WalkWatcher: Sync {
    /// The organization and its trusted services, once both are read.
    fn organization(&self, organization: &OrganizationInfo, trusted_services: &BTreeSet<String>);
    /// An account the walk has just listed under its parent.
    fn account(&self, account: &LiveAccount);
}

/// What a failed read of the organization is reported as.
const READ_FAILED: &str = "reading the live organization failed";

/// Reads the whole organization.
pub async fn read_organization(client: &Client, scope: &ReadScope, parallelism: usize) -> Result<LiveOrganization> {
    let (live, ()) = read_organization_with(client, scope, parallelism, None, |_| async { Ok(()) }).await?;
    Ok(live)
}

/// [`read_organization`], running `alongside` as soon as the organization's structure is known
/// (its accounts, units and trusted services), concurrently with the reads that remain (policies,
/// delegated administrators, pending creations, tags). `alongside` is given the structure; the
/// baselines' reads in every account start there instead of waiting for the slowest
/// Organizations read (DescribePolicy, 2 a second: issue 13). `watcher` is told of the
/// organization and of each account as the walk lists it, before the structure is complete.
pub async fn read_organization_with<T, Fut>(
    client: &Client,
    scope: &ReadScope,
    parallelism: usize,
    watcher: Option<&dyn WalkWatcher>,
    alongside: impl FnOnce(LiveOrganization) -> Fut,
) -> Result<(LiveOrganization, T)>
where
    Fut: std::future::Future<Output = Result<T>>,
{
    let reader = Reader { client, retry: RetryPolicy::default(), parallelism: parallelism.max(1), watcher };
    let Some(organization) = reader.organization().await.context(READ_FAILED)? else {
        let live = LiveOrganization::default();
        let extra = alongside(live.clone()).await?;
        return Ok((live, extra));
    };
    let root = reader.root().await.context(READ_FAILED)?;
    let structure = async {
        let tree = reader.walk_tree(&root.id);
        let services = async {
            let services = reader.trusted_services().await?;
            if let Some(watcher) = watcher {
                watcher.organization(&organization, &services);
            }
            Ok(services)
        };
        let ((units, accounts), trusted_services) = futures::try_join!(tree, services).context(READ_FAILED)?;
        let live = LiveOrganization {
            organization: Some(organization),
            root: Some(root.clone()),
            units,
            accounts,
            trusted_services,
            ..Default::default()
        };
        let tags = async { reader.container_tags(&live, scope).await.context(READ_FAILED) };
        // A targeted read of the policies needs the containers' ids: it waits for the tree.
        let focused = async {
            match &scope.policy_focus {
                Some(focus) => reader.focused_policies(&root, scope, focus, &live).await.map(Some),
                None => Ok(None),
            }
        };
        let (tags, extra, focused) =
            futures::try_join!(tags, alongside(live.clone()), async { focused.await.context(READ_FAILED) })?;
        Ok::<_, anyhow::Error>((live, tags, extra, focused))
    };
    let rest = async {
        let policies = async {
            if scope.policy_focus.is_some() {
                Ok(BTreeMap::new())
            } else {
                reader.policies(&root, scope, None).await
            }
        };
        let admins = reader.delegated_administrators();
        let pending = reader.pending_account_creations();
        futures::try_join!(policies, admins, pending).context(READ_FAILED)
    };
    let ((mut live, tags, extra, focused), (mut policies, admins, pending)) = futures::try_join!(structure, rest)?;
    if let Some((read, unread, known)) = focused {
        policies = read;
        live.unread_policies = unread;
        live.attachments_known_for = Some(known);
    }
    for (id, tags) in tags {
        if let Some(unit) = live.units.get_mut(&id) {
            unit.tags = Some(tags);
        } else if let Some(account) = live.accounts.get_mut(&id) {
            account.tags = Some(tags);
        }
    }
    live.policies = policies;
    live.delegated_administrators = admins;
    live.pending_account_creations = pending;
    Ok((live, extra))
}

/// Which listed policies to read in full (document, tags, targets).
type ReadInFull<'a> = dyn Fn(&PolicySummary, PolicyType) -> bool + Sync + 'a;

struct Reader<'a> {
    client: &'a Client,
    retry: RetryPolicy,
    parallelism: usize,
    watcher: Option<&'a dyn WalkWatcher>,
}

impl Reader<'_> {
    async fn organization(&self) -> Result<Option<OrganizationInfo>> {
        let result =
            with_retry(&self.retry, "DescribeOrganization", || self.client.describe_organization().send()).await;
        let output = match result {
            Ok(output) => output,
            Err(error) if is_no_organization(&error) => return Ok(None),
            Err(error) => return Err(anyhow::anyhow!(describe(&error))).context("DescribeOrganization failed"),
        };
        let organization = output.organization.context("DescribeOrganization returned no organization")?;
        Ok(Some(OrganizationInfo {
            id: organization.id.unwrap_or_default(),
            management_account_id: organization.master_account_id.unwrap_or_default(),
            management_account_email: organization.master_account_email.unwrap_or_default(),
            all_features: organization.feature_set.is_some_and(|set| set.as_str() == "ALL"),
        }))
    }

    async fn root(&self) -> Result<RootInfo> {
        let output = with_retry(&self.retry, "ListRoots", || self.client.list_roots().send())
            .await
            .map_err(|error| anyhow::anyhow!(describe(&error)))
            .context("ListRoots failed")?;
        let root = output.roots.unwrap_or_default().into_iter().next().context("the organization has no root")?;
        let policy_types = root
            .policy_types
            .unwrap_or_default()
            .into_iter()
            .filter_map(|summary| {
                let policy_type = PolicyType::from_aws(summary.r#type()?.as_str())?;
                Some((policy_type, summary.status()?.as_str().to_string()))
            })
            .collect();
        Ok(RootInfo { id: root.id.unwrap_or_default(), policy_types })
    }

    /// Breadth-first: each round lists the children of every container found in the last round.
    async fn walk_tree(&self, root_id: &str) -> Result<(BTreeMap<String, LiveUnit>, BTreeMap<String, LiveAccount>)> {
        let mut units = BTreeMap::new();
        let mut accounts = BTreeMap::new();
        let mut frontier = vec![root_id.to_string()];
        while !frontier.is_empty() {
            let mut results = stream::iter(frontier.iter())
                .map(|parent| async move {
                    let (children, members) =
                        futures::try_join!(self.child_units(parent), self.child_accounts(parent))?;
                    Ok::<_, anyhow::Error>((children, members))
                })
                .buffer_unordered(self.parallelism);
            let mut next = Vec::new();
            // Each parent's children as they come, so the watcher hears of its accounts at once.
            while let Some((children, members)) = results.try_next().await? {
                for unit in children {
                    next.push(unit.id.clone());
                    units.insert(unit.id.clone(), unit);
                }
                for account in members {
                    if let Some(watcher) = self.watcher {
                        watcher.account(&account);
                    }
                    accounts.insert(account.id.clone(), account);
                }
            }
            drop(results);
            frontier = next;
            frontier.sort();
        }
        Ok((units, accounts))
    }

    async fn child_units(&self, parent: &str) -> Result<Vec<LiveUnit>> {
        let mut units = Vec::new();
        // Paged by hand: each page through `with_retry` (the module's docs say why).
        let mut token: Option<String> = None;
        loop {
            let output = with_retry(&self.retry, "ListOrganizationalUnitsForParent", || {
                self.client
                    .list_organizational_units_for_parent()
                    .parent_id(parent)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(|error| anyhow::anyhow!(describe(&error)))
            .with_context(|| format!("ListOrganizationalUnitsForParent `{parent}` failed"))?;
            for unit in output.organizational_units.unwrap_or_default() {
                units.push(LiveUnit {
                    id: unit.id.unwrap_or_default(),
                    name: unit.name.unwrap_or_default(),
                    parent_id: parent.to_string(),
                    tags: None,
                });
            }
            token = output.next_token;
            if token.is_none() {
                return Ok(units);
            }
        }
    }

    async fn child_accounts(&self, parent: &str) -> Result<Vec<LiveAccount>> {
        let mut accounts = Vec::new();
        // Paged by hand: each page through `with_retry` (the module's docs say why).
        let mut token: Option<String> = None;
        loop {
            let output = with_retry(&self.retry, "ListAccountsForParent", || {
                self.client.list_accounts_for_parent().parent_id(parent).set_next_token(token.clone()).send()
            })
            .await
            .map_err(|error| anyhow::anyhow!(describe(&error)))
            .with_context(|| format!("ListAccountsForParent `{parent}` failed"))?;
            for account in output.accounts.unwrap_or_default() {
                accounts.push(LiveAccount {
                    id: account.id.unwrap_or_default(),
                    name: account.name.unwrap_or_default(),
                    email: account.email.unwrap_or_default(),
                    // `State`, never the retired `Status` (API_Account.html; see `AccountState`).
                    state: AccountState::from_aws(account.state.as_ref().map_or("", |state| state.as_str())),
                    parent_id: parent.to_string(),
                    tags: None,
                });
            }
            token = output.next_token;
            if token.is_none() {
                return Ok(accounts);
            }
        }
    }

    /// The policies as [`PolicyFocus`] says: all listed, those the targets need read in full.
    /// Returns them, the ids of those left unread, and the containers whose attachments are known.
    async fn focused_policies(
        &self,
        root: &RootInfo,
        scope: &ReadScope,
        focus: &PolicyFocus,
        structure: &LiveOrganization,
    ) -> Result<(BTreeMap<String, LivePolicy>, BTreeSet<String>, BTreeSet<String>)> {
        let mut path: BTreeSet<String> = BTreeSet::new();
        for (id, account) in &structure.accounts {
            if focus.accounts.contains(id) || focus.accounts.contains(&account.email.to_lowercase()) {
                path.insert(id.clone());
            }
        }
        for unit in structure.units.values() {
            if structure.path_of(&unit.id).is_some_and(|unit_path| focus.units.contains(&unit_path)) {
                path.insert(unit.id.clone());
            }
        }
        path.insert(root.id.clone());
        // Ancestors by the live tree (an account the plan moves keeps its live parent's policies
        // until it moves).
        let mut pending: Vec<String> = path.iter().cloned().collect();
        while let Some(id) = pending.pop() {
            let parent = structure
                .accounts
                .get(&id)
                .map(|account| account.parent_id.clone())
                .or_else(|| structure.units.get(&id).map(|unit| unit.parent_id.clone()));
            if let Some(parent) = parent.filter(|parent| !parent.is_empty()) {
                if path.insert(parent.clone()) {
                    pending.push(parent);
                }
            }
        }
        let enabled: Vec<PolicyType> =
            root.policy_types.iter().filter(|(_, status)| *status == "ENABLED").map(|(t, _)| *t).collect();
        let pairs: Vec<(String, PolicyType)> =
            path.iter().flat_map(|id| enabled.iter().map(move |t| (id.clone(), *t))).collect();
        let attached: Vec<BTreeSet<String>> = stream::iter(pairs)
            .map(|(target, policy_type)| async move { self.policies_for_target(&target, policy_type).await })
            .buffer_unordered(self.parallelism)
            .try_collect()
            .await?;
        let attached: BTreeSet<String> = attached.into_iter().flatten().collect();
        let wanted = |summary: &PolicySummary, policy_type: PolicyType| {
            let id = summary.id.clone().unwrap_or_default();
            let key = (policy_type, summary.name.clone().unwrap_or_default());
            attached.contains(&id)
                || focus.needed.contains(&key)
                || (!summary.aws_managed && !focus.named.contains(&key))
        };
        let policies = self.policies(root, scope, Some(&wanted)).await?;
        let unread = policies
            .values()
            .filter(|policy| !attached.contains(&policy.id))
            .filter(|policy| !focus.needed.contains(&(policy.policy_type, policy.name.clone())))
            .filter(|policy| policy.aws_managed || focus.named.contains(&(policy.policy_type, policy.name.clone())))
            .map(|policy| policy.id.clone())
            .collect();
        Ok((policies, unread, path))
    }

    /// The ids of the policies of `policy_type` attached directly to `target`.
    /// <https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListPoliciesForTarget.html>
    async fn policies_for_target(&self, target: &str, policy_type: PolicyType) -> Result<BTreeSet<String>> {
        let mut ids = BTreeSet::new();
        // Paged by hand: each page through `with_retry` (the module's docs say why).
        let mut token: Option<String> = None;
        loop {
            let output = with_retry(&self.retry, "ListPoliciesForTarget", || {
                self.client
                    .list_policies_for_target()
                    .target_id(target)
                    .filter(AwsPolicyType::from(policy_type.as_aws()))
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(|error| anyhow::anyhow!(describe(&error)))
            .with_context(|| format!("ListPoliciesForTarget `{target}` {policy_type} failed"))?;
            ids.extend(output.policies.unwrap_or_default().into_iter().filter_map(|policy| policy.id));
            token = output.next_token;
            if token.is_none() {
                return Ok(ids);
            }
        }
    }

    /// Every policy of the enabled and wanted types; in full those `full` accepts (all: None),
    /// only listed the others (no document, tags nor targets).
    async fn policies(
        &self,
        root: &RootInfo,
        scope: &ReadScope,
        full: Option<&ReadInFull<'_>>,
    ) -> Result<BTreeMap<String, LivePolicy>> {
        let wanted = &scope.policy_types;
        let enabled = root.policy_types.iter().filter(|(_, status)| *status == "ENABLED").map(|(t, _)| *t);
        let types: Vec<PolicyType> =
            enabled.chain(wanted.iter().copied()).collect::<BTreeSet<_>>().into_iter().collect();
        // Each ListPolicies page's policies are read as the page comes, not once every page is
        // listed: DescribePolicy (2 a second) is the organization's slowest read (issue 25).
        let pages = stream::try_unfold((0usize, None::<String>), |(index, token)| {
            let types = &types;
            async move {
                let Some(policy_type) = types.get(index).copied() else { return Ok(None) };
                // Paged by hand: each page through `with_retry` (the module's docs say why).
                let output = with_retry(&self.retry, "ListPolicies", || {
                    self.client
                        .list_policies()
                        .filter(AwsPolicyType::from(policy_type.as_aws()))
                        .set_next_token(token.clone())
                        .send()
                })
                .await
                .map_err(|error| anyhow::anyhow!(describe(&error)))
                .with_context(|| format!("ListPolicies {policy_type} failed"))?;
                let page: Vec<(PolicyType, PolicySummary)> =
                    output.policies.unwrap_or_default().into_iter().map(|summary| (policy_type, summary)).collect();
                let next = match output.next_token {
                    Some(token) => (index, Some(token)),
                    None => (index + 1, None),
                };
                Ok::<_, anyhow::Error>(Some((stream::iter(page.into_iter().map(Ok::<_, anyhow::Error>)), next)))
            }
        });
        let policies: Vec<LivePolicy> = pages
            .try_flatten()
            .map_ok(|(policy_type, summary)| async move {
                let id = summary.id.clone().unwrap_or_default();
                let aws_managed = summary.aws_managed;
                if full.is_some_and(|full| !full(&summary, policy_type)) {
                    return Ok(LivePolicy {
                        id,
                        name: summary.name.unwrap_or_default(),
                        policy_type,
                        description: summary.description.unwrap_or_default(),
                        aws_managed,
                        document: None,
                        targets: BTreeSet::new(),
                        tags: None,
                    });
                }
                let targets = self.policy_targets(&id);
                let skip_tags =
                    scope.skip_policy_tags.contains(&(policy_type, summary.name.clone().unwrap_or_default()));
                let details = async {
                    if aws_managed {
                        Ok((None, None))
                    } else if skip_tags {
                        Ok::<_, anyhow::Error>((Some(self.policy_document(&id).await?), None))
                    } else {
                        let (document, tags) = futures::try_join!(self.policy_document(&id), self.tags(&id))?;
                        Ok::<_, anyhow::Error>((Some(document), Some(tags)))
                    }
                };
                let (targets, (document, tags)) = futures::try_join!(targets, details)?;
                Ok::<_, anyhow::Error>(LivePolicy {
                    id,
                    name: summary.name.unwrap_or_default(),
                    policy_type,
                    description: summary.description.unwrap_or_default(),
                    aws_managed,
                    document,
                    targets,
                    tags,
                })
            })
            .try_buffer_unordered(self.parallelism)
            .try_collect()
            .await?;
        Ok(policies.into_iter().map(|policy| (policy.id.clone(), policy)).collect())
    }

    async fn policy_targets(&self, policy_id: &str) -> Result<BTreeSet<String>> {
        let mut targets = BTreeSet::new();
        // Paged by hand: each page through `with_retry` (the module's docs say why).
        let mut token: Option<String> = None;
        loop {
            let output = with_retry(&self.retry, "ListTargetsForPolicy", || {
                self.client.list_targets_for_policy().policy_id(policy_id).set_next_token(token.clone()).send()
            })
            .await
            .map_err(|error| anyhow::anyhow!(describe(&error)))
            .with_context(|| format!("ListTargetsForPolicy `{policy_id}` failed"))?;
            targets.extend(output.targets.unwrap_or_default().into_iter().filter_map(|target| target.target_id));
            token = output.next_token;
            if token.is_none() {
                return Ok(targets);
            }
        }
    }

    async fn policy_document(&self, policy_id: &str) -> Result<serde_json::Value> {
        let output =
            with_retry(&self.retry, "DescribePolicy", || self.client.describe_policy().policy_id(policy_id).send())
                .await
                .map_err(|error| anyhow::anyhow!(describe(&error)))
                .with_context(|| format!("DescribePolicy `{policy_id}` failed"))?;
        let content = output.policy.and_then(|policy| policy.content).unwrap_or_default();
        // A document AWS holds but we cannot parse is kept as a string, so it shows as a change.
        Ok(serde_json::from_str(&content).unwrap_or(serde_json::Value::String(content)))
    }

    async fn tags(&self, resource_id: &str) -> Result<BTreeMap<String, String>> {
        let mut tags = BTreeMap::new();
        // Paged by hand: each page through `with_retry` (the module's docs say why).
        let mut token: Option<String> = None;
        loop {
            let output = with_retry(&self.retry, "ListTagsForResource", || {
                self.client.list_tags_for_resource().resource_id(resource_id).set_next_token(token.clone()).send()
            })
            .await
            .map_err(|error| anyhow::anyhow!(describe(&error)))
            .with_context(|| format!("ListTagsForResource `{resource_id}` failed"))?;
            tags.extend(output.tags.unwrap_or_default().into_iter().map(|tag| (tag.key, tag.value)));
            token = output.next_token;
            if token.is_none() {
                return Ok(tags);
            }
        }
    }

    async fn trusted_services(&self) -> Result<BTreeSet<String>> {
        let mut services = BTreeSet::new();
        // Paged by hand: each page through `with_retry` (the module's docs say why).
        let mut token: Option<String> = None;
        loop {
            let output = with_retry(&self.retry, "ListAWSServiceAccessForOrganization", || {
                self.client.list_aws_service_access_for_organization().set_next_token(token.clone()).send()
            })
            .await
            .map_err(|error| anyhow::anyhow!(describe(&error)))
            .context("ListAWSServiceAccessForOrganization failed")?;
            services.extend(
                output.enabled_service_principals.unwrap_or_default().into_iter().filter_map(|p| p.service_principal),
            );
            token = output.next_token;
            if token.is_none() {
                return Ok(services);
            }
        }
    }

    /// Delegated administrators with the services each administers; both lists are read to the
    /// last page (https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListDelegatedAdministrators.html).
    async fn delegated_administrators(&self) -> Result<BTreeSet<(String, String)>> {
        let mut admins = BTreeSet::new();
        // Paged by hand: each page through `with_retry` (the module's docs say why).
        let mut token: Option<String> = None;
        let mut accounts = Vec::new();
        loop {
            let output = with_retry(&self.retry, "ListDelegatedAdministrators", || {
                self.client.list_delegated_administrators().set_next_token(token.clone()).send()
            })
            .await
            .map_err(|error| anyhow::anyhow!(describe(&error)))
            .context("ListDelegatedAdministrators failed")?;
            accounts.extend(output.delegated_administrators.unwrap_or_default().into_iter().filter_map(|a| a.id));
            token = output.next_token;
            if token.is_none() {
                break;
            }
        }
        for account in accounts {
            // Paginated like every Organizations list (`NextToken`), read to the end:
            // https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListDelegatedServicesForAccount.html
            // Paged by hand: each page through `with_retry` (the module's docs say why).
            let mut token: Option<String> = None;
            loop {
                let output = with_retry(&self.retry, "ListDelegatedServicesForAccount", || {
                    self.client
                        .list_delegated_services_for_account()
                        .account_id(&account)
                        .set_next_token(token.clone())
                        .send()
                })
                .await
                .map_err(|error| anyhow::anyhow!(describe(&error)))
                .with_context(|| format!("ListDelegatedServicesForAccount `{account}` failed"))?;
                for service in output.delegated_services.unwrap_or_default() {
                    if let Some(principal) = service.service_principal {
                        admins.insert((principal, account.clone()));
                    }
                }
                token = output.next_token;
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(admins)
    }

    async fn pending_account_creations(&self) -> Result<Vec<PendingAccountCreation>> {
        let mut pending = Vec::new();
        // Paged by hand: each page through `with_retry` (the module's docs say why).
        let mut token: Option<String> = None;
        loop {
            let output = with_retry(&self.retry, "ListCreateAccountStatus", || {
                self.client
                    .list_create_account_status()
                    .states(CreateAccountState::InProgress)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(|error| anyhow::anyhow!(describe(&error)))
            .context("ListCreateAccountStatus failed")?;
            for status in output.create_account_statuses.unwrap_or_default() {
                if status.state == Some(CreateAccountState::InProgress) {
                    if let (Some(request_id), Some(account_name)) = (status.id, status.account_name) {
                        pending.push(PendingAccountCreation { request_id, account_name });
                    }
                }
            }
            token = output.next_token;
            if token.is_none() {
                return Ok(pending);
            }
        }
    }

    /// Tags of the OUs and accounts whose tags the spec manages, concurrently.
    async fn container_tags(
        &self,
        live: &LiveOrganization,
        scope: &ReadScope,
    ) -> Result<Vec<(String, BTreeMap<String, String>)>> {
        let unit_paths = live.units_by_path();
        let mut wanted: Vec<String> = unit_paths
            .iter()
            .filter(|(path, _)| scope.all_tags || scope.unit_tags.contains(*path))
            .map(|(_, unit)| unit.id.clone())
            .collect();
        let allowed = |id: &String| scope.tags_only_for.as_ref().is_none_or(|ids| ids.contains(id));
        wanted.extend(
            live.accounts
                .values()
                .filter(|account| {
                    scope.all_tags
                        || scope.account_tags.contains(&account.id)
                        || scope.account_tags.contains(&account.email.to_lowercase())
                })
                .map(|account| account.id.clone()),
        );
        wanted.retain(allowed);
        stream::iter(wanted)
            .map(|id| async move { self.tags(&id).await.map(|tags| (id, tags)) })
            .buffer_unordered(self.parallelism)
            .try_collect()
            .await
    }
}

/// The centralized root access features enabled (`ListOrganizationsFeatures`), with the caller's
/// credentials in the management account. Call it only when trusted access for
/// `iam.amazonaws.com` is on; IAM's refusals before that (`ServiceAccessNotEnabledException`,
/// `OrganizationNotFoundException`) read as none enabled.
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html
pub async fn read_root_access_features(iam: &aws_sdk_iam::Client) -> Result<BTreeSet<String>> {
    match iam.list_organizations_features().send().await {
        Ok(output) => Ok(output.enabled_features().iter().map(|feature| feature.as_str().to_string()).collect()),
        Err(error) if crate::aws::errors::is_organization_features_unavailable(&error) => Ok(BTreeSet::new()),
        Err(error) => Err(anyhow::anyhow!("ListOrganizationsFeatures failed: {}", describe(&error))),
    }
}
