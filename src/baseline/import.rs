//! `import`'s side of the baselines: what each baseline is told about the organization it imports
//! ([`ImportScope`]), what it hands back ([`ImportedSection`]), and the registry run that makes the
//! `baseline:` section from them ([`import_sections`]). Each baseline owns its own reading (its
//! `Baseline::import`); this module only gathers, and never writes to AWS.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, Result};
use serde_json::{Map, Value};

use super::{Context, REGISTRY};
use crate::spec::{BaselineSpec, PolicyType, Targets};

/// What a baseline knows when it imports.
#[derive(Debug, Clone, Default)]
pub struct ImportScope {
    /// The accounts the imported spec names (active ones): spec name -> id.
    pub accounts: BTreeMap<String, String>,
    /// The spec name of the management account.
    pub management: Option<String>,
    /// Where each of those accounts lives: spec name -> unit path (`Root`, `Workloads/Prod`), as
    /// the imported spec writes its `unit`.
    pub account_units: BTreeMap<String, String>,
    /// `organization.regions` of the imported spec, home region first.
    pub regions: Vec<String>,
    /// Service principals with trusted access in the organization.
    pub trusted_services: BTreeSet<String>,
    /// Delegated administrators registered through Organizations: (service principal, account id).
    pub delegated_administrators: BTreeSet<(String, String)>,
    /// The root's and every OU's path (`Root`, `Workloads/Prod`) by id.
    pub containers: BTreeMap<String, String>,
    /// The organization's customer-managed policies, with their documents and targets.
    pub policies: Vec<crate::plan::state::LivePolicy>,
}

impl ImportScope {
    /// The spec name of the account with this id.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.accounts.iter().find(|(_, account_id)| account_id.as_str() == id).map(|(name, _)| name.as_str())
    }

    /// The imported accounts as the desired organization holds them (id known, in their unit):
    /// what a baseline's own `desired` is given when its import checks a section the way the plan
    /// would.
    pub fn desired_accounts(&self) -> Vec<crate::plan::desired::DesiredAccount> {
        self.accounts
            .iter()
            .map(|(name, id)| crate::plan::desired::DesiredAccount {
                name: name.clone(),
                aws_name: None,
                email: String::new(),
                unit_path: self.account_units.get(name).cloned().unwrap_or_else(|| crate::spec::ROOT.to_string()),
                id: Some(id.clone()),
                tags: None,
                close: false,
            })
            .collect()
    }

    /// The account ids registered as delegated administrator for `principal` through
    /// Organizations.
    pub fn delegated_administrators_of(&self, principal: &str) -> Vec<&str> {
        self.delegated_administrators
            .iter()
            .filter(|(service, _)| service == principal)
            .map(|(_, account)| account.as_str())
            .collect()
    }
}

/// What the regions of an imported spec have of one setting.
#[derive(Debug, Clone, PartialEq)]
pub enum AcrossRegions<T> {
    /// No region has it.
    Nowhere,
    /// Every region has this one.
    Everywhere(T),
    /// Some regions lack it or have another: why, naming the regions, for a note.
    Differs(String),
}

/// `read` in each region of the imported spec, home region first: the setting when every region
/// has the same (a section applies to every region of `organization.regions`, so it can only be
/// written then). Reads one region at a time: a section has few regions, and the first region
/// without the setting ends the reading.
pub async fn across_regions<T, F, Fut>(scope: &ImportScope, read: F) -> Result<AcrossRegions<T>>
where
    T: PartialEq,
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let mut first: Option<(&str, T)> = None;
    for region in &scope.regions {
        let found = read(region.clone()).await.with_context(|| format!("reading {region}"))?;
        match (&first, found) {
            // The home region decides whether the section is there at all.
            (None, Some(found)) => first = Some((region, found)),
            (None, None) => return Ok(AcrossRegions::Nowhere),
            (Some((home, _)), None) => {
                return Ok(AcrossRegions::Differs(format!("{home} has it and {region} does not")))
            }
            (Some((home, setting)), Some(found)) if *setting != found => {
                return Ok(AcrossRegions::Differs(format!("{region} differs from {home}")))
            }
            _ => {}
        }
    }
    Ok(first.map_or(AcrossRegions::Nowhere, |(_, setting)| AcrossRegions::Everywhere(setting)))
}

/// One baseline's imported section.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedSection {
    /// The section as the spec writes it (`baseline.<section>`), serialized from its spec type;
    /// Null when it is left out (the notes say why).
    pub section: Value,
    /// What was seen but left out (accounts that differ), for the user.
    pub notes: Vec<String>,
    /// The documents the section refers to as `policies/<file>` (role inline policies): file name
    /// under `policies/` -> document. The baseline names the files ([`policy_file_name`], with a
    /// prefix of its own); [`import_sections`] leaves a section out whose file another took.
    pub documents: BTreeMap<String, Value>,
    /// The organization policies the section makes (the backup policy), by type and name: the
    /// imported spec does not list them under `policies:` as well.
    pub organization_policies: Vec<(PolicyType, String)>,
}

impl ImportedSection {
    pub fn new(section: impl serde::Serialize, notes: Vec<String>) -> Result<ImportedSection> {
        Ok(ImportedSection {
            section: serde_json::to_value(section)?,
            notes,
            documents: BTreeMap::new(),
            organization_policies: Vec::new(),
        })
    }

    /// The section with the organization policies it makes.
    pub fn with_organization_policies(mut self, policies: Vec<(PolicyType, String)>) -> ImportedSection {
        self.organization_policies = policies;
        self
    }

    /// The section with the documents it refers to under `policies/`.
    pub fn with_documents(mut self, documents: BTreeMap<String, Value>) -> ImportedSection {
        self.documents = documents;
        self
    }

    /// Nothing written, and why.
    pub fn left_out(note: String) -> ImportedSection {
        ImportedSection::left_out_with(vec![note])
    }

    /// Nothing written, and why, with every note.
    pub fn left_out_with(notes: Vec<String>) -> ImportedSection {
        ImportedSection { section: Value::Null, notes, documents: BTreeMap::new(), organization_policies: Vec::new() }
    }
}

/// A section of its own that a baseline imports beside `baseline:` (Identity Center's
/// `identity_center:`), with the policy documents it refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedTopLevel {
    /// The spec's top-level key.
    pub key: &'static str,
    /// The section as the spec writes it, serialized from its spec type.
    pub section: Value,
    /// File name under `policies/` -> document.
    pub documents: BTreeMap<String, Value>,
}

/// A baseline's own top-level section as import found it: the section (None when there was nothing
/// to write) and the notes of what was left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OwnSection {
    pub found: Option<ImportedTopLevel>,
    pub notes: Vec<String>,
}

/// What the registry's baselines import: `baseline:`, their own top-level sections, and the notes
/// of what was left out.
#[derive(Debug, Clone, Default)]
pub struct ImportedBaselines {
    pub baseline: BaselineSpec,
    pub top_level: Vec<ImportedTopLevel>,
    /// The documents `baseline:` refers to: file name under `policies/` -> document.
    pub documents: BTreeMap<String, Value>,
    /// The organization policies `baseline:` makes (by type and name).
    pub organization_policies: Vec<(PolicyType, String)>,
    pub notes: Vec<String>,
}

/// A file name under `policies/` for a document named `name`, not yet in `taken` (which it joins).
pub fn policy_file_name(name: &str, taken: &mut BTreeSet<String>) -> String {
    let stem: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    let mut file = format!("{stem}.json");
    let mut counter = 2;
    while !taken.insert(file.clone()) {
        file = format!("{stem}-{counter}.json");
        counter += 1;
    }
    file
}

/// The setting most accounts share, and the targets that name exactly those accounts: `Root` when
/// every imported account has it. Accounts with another setting (or none) are left out of the
/// targets, so the plan of the imported spec does not change them, and named in a note. Ties go to
/// the management account's setting, then to the first by account name. None when no account has
/// one.
pub fn common_setting<T: Clone + PartialEq>(
    scope: &ImportScope,
    section: &str,
    found: &BTreeMap<String, T>,
) -> Option<(T, Targets, Vec<String>)> {
    let mut counts: Vec<(&T, usize)> = Vec::new();
    for setting in found.values() {
        match counts.iter_mut().find(|(seen, _)| *seen == setting) {
            Some((_, count)) => *count += 1,
            None => counts.push((setting, 1)),
        }
    }
    let best = counts.iter().map(|(_, count)| *count).max()?;
    let management = scope.management.as_ref().and_then(|name| found.get(name));
    let chosen = management
        .filter(|setting| counts.iter().any(|(seen, count)| seen == setting && *count == best))
        .or_else(|| counts.iter().find(|(_, count)| *count == best).map(|(seen, _)| *seen))?
        .clone();
    let covered: Vec<String> =
        found.iter().filter(|(_, setting)| **setting == chosen).map(|(name, _)| name.clone()).collect();
    let left_out: Vec<&str> =
        scope.accounts.keys().filter(|name| !covered.contains(name)).map(String::as_str).collect();
    let mut notes = Vec::new();
    let targets = if left_out.is_empty() {
        Targets::everywhere()
    } else {
        notes.push(format!(
            "`baseline.{section}` targets the {} accounts that share one setting; {} differ or have none and are left out",
            covered.len(),
            left_out.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
        ));
        Targets { accounts: covered, ..Targets::default() }
    };
    Some((chosen, targets, notes))
}

/// How many accounts a baseline reads at once while importing (the sessions bound the calls
/// within each).
const ACCOUNTS_AT_ONCE: usize = 16;

/// `read` for every imported account, at most [`ACCOUNTS_AT_ONCE`] at a time: what each has
/// (accounts where it reads None are absent from the map).
pub async fn per_account<T, F, Fut>(scope: &ImportScope, read: F) -> Result<BTreeMap<String, T>>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    use futures::StreamExt;
    let results: Vec<(String, Result<Option<T>>)> = futures::stream::iter(scope.accounts.keys().cloned())
        .map(|account| {
            let read = read(account.clone());
            async move { (account, read.await) }
        })
        .buffer_unordered(ACCOUNTS_AT_ONCE)
        .collect()
        .await;
    let mut found = BTreeMap::new();
    for (account, result) in results {
        if let Some(setting) = result.with_context(|| format!("reading account `{account}`"))? {
            found.insert(account, setting);
        }
    }
    Ok(found)
}

/// Every baseline's imported section, through the registry, as the spec's `baseline:`; the
/// top-level sections baselines own; and the notes of what was left out.
pub async fn import_sections(context: &Context<'_>, scope: &ImportScope) -> Result<ImportedBaselines> {
    let imported = futures::future::join_all(REGISTRY.iter().map(|baseline| async move {
        // One baseline that cannot be read (refused, or an endpoint without its calls) does not
        // cost the import of the organization and the other sections: its section is left out
        // and the note says why, so nothing is written that the plan would then change.
        let section = match baseline.import(context, scope).await {
            Ok(section) => section,
            Err(error) => Some(ImportedSection::left_out(format!(
                "`baseline.{}` left out: it could not be read: {error:#}",
                baseline.section()
            ))),
        };
        let top_level = match baseline.import_top_level(context, scope).await {
            Ok(found) => Ok(found),
            Err(error) => Err(format!("`{}` left out: it could not be read: {error:#}", baseline.section())),
        };
        (baseline.section(), section, top_level)
    }))
    .await;
    let mut sections = Map::new();
    let mut notes = Vec::new();
    let mut top_level = Vec::new();
    let mut documents = BTreeMap::new();
    let mut organization_policies = Vec::new();
    let mut own_files: BTreeSet<String> = BTreeSet::new();
    for (_, _, own) in &imported {
        if let Ok(Some(own)) = own {
            own_files.extend(own.found.iter().flat_map(|found| found.documents.keys().cloned()));
        }
    }
    for (name, section, own) in imported {
        if let Some(section) = section {
            // Two sections' files may not share a name: the second would overwrite the first.
            let taken: Vec<&String> = section
                .documents
                .keys()
                .filter(|file| documents.contains_key(*file) || own_files.contains(*file))
                .collect();
            if let Some(file) = taken.first() {
                notes.push(format!("`baseline.{name}` left out: its file `policies/{file}` is another section's"));
            } else if !section.section.is_null() {
                sections.insert(name.to_string(), section.section);
                documents.extend(section.documents);
                organization_policies.extend(section.organization_policies);
            }
            notes.extend(section.notes);
        }
        match own {
            Ok(Some(own)) => {
                top_level.extend(own.found);
                notes.extend(own.notes);
            }
            Ok(None) => {}
            Err(why) => notes.push(why),
        }
    }
    let baseline = serde_json::from_value(Value::Object(sections)).context("the imported `baseline:` section")?;
    Ok(ImportedBaselines { baseline, top_level, documents, organization_policies, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(accounts: &[&str]) -> ImportScope {
        ImportScope {
            accounts: accounts.iter().map(|name| (name.to_string(), format!("id-{name}"))).collect(),
            management: Some("management".to_string()),
            ..ImportScope::default()
        }
    }

    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        match tokio::runtime::Builder::new_current_thread().build() {
            Ok(runtime) => runtime.block_on(future),
            Err(error) => panic!("no runtime: {error}"),
        }
    }

    #[test]
    fn a_setting_is_written_only_when_every_region_has_the_same() {
        let regions = |regions: &[&str]| ImportScope {
            regions: regions.iter().map(|region| region.to_string()).collect(),
            ..ImportScope::default()
        };
        let settings: BTreeMap<&str, Option<u32>> =
            [("us-east-1", Some(1)), ("eu-west-1", Some(1)), ("eu-central-1", Some(2)), ("ap-south-1", None)]
                .into_iter()
                .collect();
        let read = |region: String| {
            let found = settings.get(region.as_str()).copied().flatten();
            async move { Ok::<_, anyhow::Error>(found) }
        };
        let across = |names: &[&str]| block_on(across_regions(&regions(names), read)).ok();
        assert_eq!(across(&["us-east-1", "eu-west-1"]), Some(AcrossRegions::Everywhere(1)));
        assert_eq!(across(&["ap-south-1", "us-east-1"]), Some(AcrossRegions::Nowhere));
        assert_eq!(
            across(&["us-east-1", "eu-central-1"]),
            Some(AcrossRegions::Differs("eu-central-1 differs from us-east-1".to_string()))
        );
        assert_eq!(
            across(&["eu-west-1", "ap-south-1"]),
            Some(AcrossRegions::Differs("eu-west-1 has it and ap-south-1 does not".to_string()))
        );
    }

    #[test]
    fn a_setting_every_account_shares_targets_the_root() {
        let scope = scope(&["management", "a", "b"]);
        let found: BTreeMap<String, u32> = scope.accounts.keys().map(|name| (name.clone(), 14)).collect();
        let (setting, targets, notes) = common_setting(&scope, "password_policy", &found).expect("found");
        assert_eq!((setting, targets, notes), (14, Targets::everywhere(), Vec::<String>::new()));
    }

    #[test]
    fn accounts_that_differ_are_left_out_and_named() {
        let scope = scope(&["management", "a", "b", "c"]);
        let found: BTreeMap<String, u32> =
            [("management", 14), ("a", 14), ("b", 8)].iter().map(|(name, value)| (name.to_string(), *value)).collect();
        let (setting, targets, notes) = common_setting(&scope, "password_policy", &found).expect("found");
        assert_eq!(setting, 14);
        assert_eq!(targets.accounts, vec!["a".to_string(), "management".to_string()]);
        assert!(targets.units.is_empty());
        assert!(notes[0].contains("`b`, `c`"), "{notes:?}");
    }

    #[test]
    fn a_tie_goes_to_the_management_account() {
        let scope = scope(&["management", "a"]);
        let found: BTreeMap<String, u32> =
            [("management", 14), ("a", 8)].iter().map(|(name, value)| (name.to_string(), *value)).collect();
        assert_eq!(common_setting(&scope, "x", &found).map(|(setting, ..)| setting), Some(14));
        assert_eq!(common_setting::<u32>(&scope, "x", &BTreeMap::new()), None);
    }
}
