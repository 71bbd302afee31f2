//! Semantic validation: the rules AWS enforces (and moto does not), checked offline, all at once.
//!
//! Each rule reports the offending value with its location and, where the fix is obvious, a hint.
//! Nothing here reads files or calls AWS; documents arrive parsed in `ValidSpec`.
//!
//! This file owns the spec's own sections: `version`, `organization`, `units`, `accounts` and
//! `policies`. Each baseline's section is checked by the baseline itself (`Baseline::validate`, in
//! its folder under `src/baseline/`), through the same [`Checker`], after these rules: the loader
//! takes those rules as [`SectionRules`] so that `spec` names no baseline.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::diagnostic::{did_you_mean, SpecDiagnostic};
use super::load::{DocumentOrigin, ValidSpec};
use super::model::{FeatureSet, PolicyType, Spec, Targets, UnitSpec, ROOT};
use super::names::{self, NameKind};
use super::policy_grammar::{self, GrammarError};
use super::regions::{is_aws_region, AWS_REGIONS};

/// Deepest OU nesting AWS allows under the root.
pub const MAX_UNIT_DEPTH: usize = 5;
const MAX_TAGS: usize = 50;

/// Rules another module owns for its sections of the spec (every baseline's, from the registry),
/// run after the spec's own with the same [`Checker`].
pub type SectionRules<'r> = &'r dyn Fn(&mut Checker<'_>);

/// Every rule violation in the spec: its own sections', then `sections`'.
pub fn validate(valid: &ValidSpec, sections: SectionRules<'_>) -> Vec<SpecDiagnostic> {
    let mut checker = Checker::new(valid);
    checker.version();
    checker.organization();
    checker.units();
    checker.accounts();
    checker.policies();
    sections(&mut checker);
    checker.errors
}

/// Collects diagnostics about one spec, each at the line and column of the value (or key) it is
/// about, and answers the questions rules share (does this account exist, are these targets
/// sound). Baselines check their sections through it (`Baseline::validate`).
pub struct Checker<'a> {
    valid: &'a ValidSpec,
    /// Every OU path (`Workloads/Prod`) -> its spans path.
    unit_paths: BTreeMap<String, Vec<String>>,
    errors: Vec<SpecDiagnostic>,
}

/// Turns a unit path into the document path of its key: `A/B` -> units.A.units.B.
fn unit_document_path(unit_path: &str) -> Vec<String> {
    unit_path.split('/').flat_map(|name| ["units".to_string(), name.to_string()]).collect()
}

/// A 12-digit AWS account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// An IAM name of at most `max` characters: letters, digits and `+=,.@_-`.
pub fn is_iam_name(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.chars().count() <= max
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// A practical email check: AWS accepts 6-64 characters, one `@`, a dotted domain, no spaces.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    (6..=64).contains(&email.len())
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && email.chars().all(|c| c.is_ascii_graphic())
}

impl<'a> Checker<'a> {
    fn new(valid: &'a ValidSpec) -> Checker<'a> {
        let mut unit_paths = BTreeMap::new();
        fn collect(prefix: &str, units: &BTreeMap<String, UnitSpec>, out: &mut BTreeMap<String, Vec<String>>) {
            for (name, unit) in units {
                let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
                out.insert(path.clone(), unit_document_path(&path));
                collect(&path, &unit.units, out);
            }
        }
        collect("", &valid.spec.units, &mut unit_paths);
        Checker { valid, unit_paths, errors: Vec::new() }
    }

    /// Reports `message` at the value at `path` (a spec path: `["baseline", "macie", "admin_account"]`).
    pub fn error(&mut self, path: &[&str], message: String, help: Option<String>) {
        self.error_at(path, false, message, help);
    }

    /// Reports `message` at the key (`at_key`) or the value at `path`; at the top of the file when
    /// the path is not in it.
    pub fn error_at(&mut self, path: &[&str], at_key: bool, message: String, help: Option<String>) {
        let spans = &self.valid.spans;
        let span = if at_key { spans.key(path) } else { spans.value(path) };
        let span = span.unwrap_or_else(|| self.valid.source.span_at(1, 1, 1));
        let mut diagnostic = SpecDiagnostic::new(&self.valid.source, span, message).with_label("here");
        if let Some(help) = help {
            diagnostic = diagnostic.with_help(help);
        }
        self.errors.push(diagnostic);
    }

    /// Reports a grammar problem inside a document: at its line and column in the JSON file, or
    /// in the spec for an inline document.
    pub fn document_error(&mut self, document_path: &[&str], problem: GrammarError) {
        let key: Vec<String> = document_path.iter().map(|segment| (*segment).to_string()).collect();
        if let Some(DocumentOrigin::File { source, index }) = self.valid.document_origins.get(&key) {
            let position = if problem.at_key { index.key(&problem.path) } else { index.value(&problem.path) };
            let span = match position {
                Some(position) => source.span_at(position.line, position.column, 1),
                None => source.span_at(1, 1, 1),
            };
            let reference = self.valid.spans.value(document_path).unwrap_or_else(|| self.valid.source.span_at(1, 1, 1));
            let referenced =
                format!("referenced from {}:{}:{}", self.valid.source.name(), reference.line, reference.column);
            let help = match problem.hint {
                Some(hint) => format!("{hint} ({referenced})"),
                None => referenced,
            };
            self.errors.push(SpecDiagnostic::new(source, span, problem.message).with_label("here").with_help(help));
            return;
        }
        let mut full: Vec<&str> = document_path.to_vec();
        full.extend(problem.path.iter().map(String::as_str));
        self.error_at(&full, problem.at_key, problem.message, problem.hint);
    }

    /// Reports each look-alike or ambiguous-name problem of `name`, at its key.
    pub fn name_rules(&mut self, path: &[&str], name: &str, kind: NameKind) -> bool {
        let problems = names::problems(name, kind);
        let found = !problems.is_empty();
        for problem in problems {
            self.error_at(path, true, problem.message, Some(problem.hint));
        }
        found
    }

    /// Reports names of one namespace that differ only in letter case, surrounding spaces or
    /// invisible characters: `(name, spec path of its key)` in file order.
    pub fn look_alikes(&mut self, noun: &str, entries: Vec<(String, Vec<String>)>) {
        let mut seen: HashMap<String, String> = HashMap::new();
        for (name, path) in entries {
            if let Some(other) = seen.insert(names::comparison_key(&name), name.clone()) {
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                self.error_at(
                    &path,
                    true,
                    format!(
                        "{noun} `{}` and `{}` differ only in letter case, spaces or invisible characters",
                        names::shown(&other),
                        names::shown(&name)
                    ),
                    Some("rename one of them so the two read differently".to_string()),
                );
            }
        }
    }

    /// The spec being checked.
    pub fn spec(&self) -> &'a Spec {
        &self.valid.spec
    }

    /// The loaded spec being checked: its source, spans and parsed documents.
    pub fn valid(&self) -> &'a ValidSpec {
        self.valid
    }

    /// Whether the spec has an account of that name.
    pub fn account_exists(&self, name: &str) -> bool {
        self.valid.spec.accounts.contains_key(name)
    }

    fn unit_exists(&self, path: &str) -> bool {
        path == ROOT || self.unit_paths.contains_key(path)
    }

    /// Checks one account-name reference.
    pub fn account_reference(&mut self, path: &[&str], name: &str) {
        if !self.account_exists(name) {
            let hint = did_you_mean(name, self.valid.spec.accounts.keys().map(String::as_str))
                .or_else(|| Some("accounts are referenced by their key under `accounts:`".to_string()));
            self.error(path, format!("account `{name}` does not exist in the spec"), hint);
        }
    }

    /// Checks one unit-path reference.
    pub fn unit_reference(&mut self, path: &[&str], unit: &str) {
        if !self.unit_exists(unit) {
            let candidates: Vec<&str> =
                std::iter::once(ROOT).chain(self.unit_paths.keys().map(String::as_str)).collect();
            let hint = did_you_mean(unit, candidates.iter().copied())
                .or_else(|| Some("units are `Root` or an OU path such as `Workloads/Prod`".to_string()));
            self.error(path, format!("unit `{unit}` does not exist in the spec"), hint);
        }
    }

    /// Checks `targets` at `path`: units and accounts exist, nothing listed twice, `exclude` only
    /// where `allow_exclude` (a policy attached to an OU reaches every account below it).
    pub fn targets(&mut self, path: &[&str], targets: &Targets, allow_exclude: bool) {
        let mut base: Vec<&str> = path.to_vec();
        base.push("units");
        for (index, unit) in targets.units.iter().enumerate() {
            let index = index.to_string();
            let mut item = base.clone();
            item.push(&index);
            self.unit_reference(&item, unit);
        }
        base.pop();
        base.push("accounts");
        for (index, account) in targets.accounts.iter().enumerate() {
            let index = index.to_string();
            let mut item = base.clone();
            item.push(&index);
            self.account_reference(&item, account);
        }
        base.pop();
        base.push("exclude");
        for (index, excluded) in targets.exclude.iter().enumerate() {
            let index = index.to_string();
            let mut item = base.clone();
            item.push(&index);
            if !allow_exclude {
                self.error(
                    &item,
                    "`exclude` does not apply to policy targets: a policy attached to an OU reaches every account below it".to_string(),
                    Some("attach the policy to the child OUs or accounts it should reach instead".to_string()),
                );
            } else if !self.account_exists(excluded) && !self.unit_exists(excluded) {
                let candidates: Vec<&str> = self
                    .valid
                    .spec
                    .accounts
                    .keys()
                    .map(String::as_str)
                    .chain(self.unit_paths.keys().map(String::as_str))
                    .collect();
                self.error(
                    &item,
                    format!("`{excluded}` is neither an account nor a unit in the spec"),
                    did_you_mean(excluded, candidates.iter().copied()),
                );
            }
        }
        for (kind, items) in [("units", &targets.units), ("accounts", &targets.accounts)] {
            let mut seen = BTreeSet::new();
            for (index, item) in items.iter().enumerate() {
                if !seen.insert(item) {
                    let index = index.to_string();
                    let mut at = path.to_vec();
                    at.push(kind);
                    at.push(&index);
                    self.error(&at, format!("`{item}` is listed twice in `{kind}`"), None);
                }
            }
        }
    }

    fn tags(&mut self, path: &[&str], tags: &Option<BTreeMap<String, String>>) {
        let Some(tags) = tags else { return };
        let mut tags_path = path.to_vec();
        tags_path.push("tags");
        if tags.len() > MAX_TAGS {
            self.error(&tags_path, format!("{} tags; AWS allows at most {MAX_TAGS} per resource", tags.len()), None);
        }
        for (key, value) in tags {
            let mut at = tags_path.clone();
            at.push(key);
            self.name_rules(&at, key, NameKind::TagKey);
            for problem in names::problems(value, NameKind::TagValue) {
                self.error(&at, problem.message, Some(problem.hint));
            }
            if key.is_empty() || key.chars().count() > 128 {
                self.error_at(&at, true, format!("tag key `{key}` must be 1-128 characters"), None);
            } else if key.to_lowercase().starts_with("aws:") {
                self.error_at(&at, true, format!("tag key `{key}` uses the reserved `aws:` prefix"), None);
            } else if key == crate::spec::OWNERSHIP_TAG {
                self.error_at(
                    &at,
                    true,
                    format!("tag key `{key}` is reserved for landing-zone's ownership mark"),
                    None,
                );
            }
            if value.chars().count() > 256 {
                self.error(&at, format!("tag value of `{key}` is longer than 256 characters"), None);
            }
        }
    }

    fn version(&mut self) {
        let version = self.valid.spec.version;
        if version != 1 {
            self.error(
                &["version"],
                format!("unsupported spec version `{version}`"),
                Some("this landing-zone understands `version: 1`".to_string()),
            );
        }
    }

    fn organization(&mut self) {
        let organization = &self.valid.spec.organization;
        if organization.regions.is_empty() {
            self.error(
                &["organization", "regions"],
                "`organization.regions` is empty".to_string(),
                Some("list the regions the landing zone allows, home region first, e.g. [us-east-1]".to_string()),
            );
        }
        let mut seen = BTreeSet::new();
        for (index, region) in organization.regions.iter().enumerate() {
            let index = index.to_string();
            let path = ["organization", "regions", index.as_str()];
            if !is_aws_region(region) {
                let hint = did_you_mean(region, AWS_REGIONS.iter().copied());
                self.error(&path, format!("`{region}` is not an AWS region code"), hint);
            } else if !seen.insert(region) {
                self.error(&path, format!("region `{region}` is listed twice"), None);
            }
        }
        let mut types = BTreeSet::new();
        for (index, policy_type) in organization.policy_types.iter().enumerate() {
            if !types.insert(policy_type) {
                let index = index.to_string();
                self.error(
                    &["organization", "policy_types", &index],
                    format!("policy type `{policy_type}` is listed twice"),
                    None,
                );
            }
        }
        // Centralized root access needs all features: IAM answers OrganizationNotInAllFeaturesMode.
        // https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableOrganizationsRootSessions.html
        if organization.feature_set == FeatureSet::ConsolidatedBilling && organization.root_access.is_some() {
            self.error(
                &["organization", "root_access"],
                "`organization.root_access` needs `feature_set: ALL`".to_string(),
                Some("centralized root access is an IAM feature of organizations with all features".to_string()),
            );
        }
        // Deleting member root credentials goes through AssumeRoot with the
        // IAMDeleteRootUserCredentials task policy, which needs root credentials management.
        // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user-privileged-task.html
        if let Some(root_access) = &organization.root_access {
            if root_access.delete_member_root_credentials && !root_access.credentials_management {
                self.error(
                    &["organization", "root_access", "delete_member_root_credentials"],
                    "`delete_member_root_credentials` needs `credentials_management: true`".to_string(),
                    Some("set `organization.root_access.credentials_management: true`".to_string()),
                );
            }
        }
        if organization.feature_set == FeatureSet::ConsolidatedBilling && !organization.policy_types.is_empty() {
            self.error(
                &["organization", "feature_set"],
                "policy types need the `ALL` feature set".to_string(),
                Some("set `feature_set: ALL` or remove `policy_types`".to_string()),
            );
        }
        if !is_iam_name(&organization.access_role, 64) {
            self.error(
                &["organization", "access_role"],
                format!(
                    "`{}` is not a valid IAM role name (1-64 of letters, digits and +=,.@_-)",
                    organization.access_role
                ),
                None,
            );
        }
        if let Some(external_id) = &organization.external_id {
            if !(2..=1224).contains(&external_id.len()) {
                self.error(&["organization", "external_id"], "external ID must be 2-1224 characters".to_string(), None);
            }
        }
        if let Some(management) = &organization.management_account {
            let management = management.clone();
            self.account_reference(&["organization", "management_account"], &management);
        }
        for (service, account) in &organization.delegated_administrators {
            let path = ["organization", "delegated_administrators", service.as_str()];
            if !service.ends_with(".amazonaws.com") {
                self.error_at(&path, true, format!("`{service}` is not a service principal (`*.amazonaws.com`)"), None);
            }
            self.account_reference(&path, account);
        }
        for (index, service) in organization.trusted_services.iter().enumerate() {
            if !service.ends_with(".amazonaws.com") {
                let index = index.to_string();
                self.error(
                    &["organization", "trusted_services", &index],
                    format!("`{service}` is not a service principal (`*.amazonaws.com`)"),
                    None,
                );
            }
        }
    }

    /// Raw OU names, checked before paths are built from them (a `/` inside a name would make
    /// the path lie about the tree).
    fn unit_names(&mut self, parent: &[String], units: &'a BTreeMap<String, UnitSpec>) {
        for (name, unit) in units {
            let mut path = parent.to_vec();
            path.push("units".to_string());
            path.push(name.clone());
            let document_path: Vec<&str> = path.iter().map(String::as_str).collect();
            self.name_rules(&document_path, name, NameKind::Unit);
            if name.contains('/') {
                self.error_at(
                    &document_path,
                    true,
                    format!("OU name `{name}` contains `/`, which separates OU paths"),
                    Some("nest the OU under `units:` of its parent instead".to_string()),
                );
            }
            self.unit_names(&path, &unit.units);
        }
    }

    fn units(&mut self) {
        self.unit_names(&[], &self.valid.spec.units);
        let unit_paths: Vec<(String, Vec<String>)> =
            self.unit_paths.iter().map(|(path, doc)| (path.clone(), doc.clone())).collect();
        let mut ids: HashMap<String, String> = HashMap::new();
        for (unit_path, document_path) in unit_paths {
            let document_path: Vec<&str> = document_path.iter().map(String::as_str).collect();
            let name = unit_path.rsplit('/').next().unwrap_or(&unit_path).to_string();
            let depth = unit_path.split('/').count();
            if depth > MAX_UNIT_DEPTH {
                self.error_at(
                    &document_path,
                    true,
                    format!(
                        "OU `{unit_path}` is nested {depth} levels deep; AWS allows {MAX_UNIT_DEPTH} under the root"
                    ),
                    Some("flatten the tree: move this OU up a level".to_string()),
                );
            }
            if name.is_empty() || name.chars().count() > 128 {
                self.error_at(&document_path, true, format!("OU name `{name}` must be 1-128 characters"), None);
            }
            if name == ROOT {
                self.error_at(
                    &document_path,
                    true,
                    "`Root` is reserved for the organization root and cannot name an OU".to_string(),
                    None,
                );
            }
            let unit = self.unit_at(&unit_path);
            let (id, tags) = (unit.and_then(|u| u.id.clone()), unit.and_then(|u| u.tags.clone()));
            if let Some(id) = id {
                let mut id_path = document_path.clone();
                id_path.push("id");
                if !is_unit_id(&id) {
                    self.error(&id_path, format!("`{id}` is not an OU id (ou-xxxx-xxxxxxxx)"), None);
                } else if let Some(other) = ids.insert(id.clone(), unit_path.clone()) {
                    self.error(&id_path, format!("OU id `{id}` is also pinned by `{other}`"), None);
                }
            }
            self.tags(&document_path, &tags);
        }
        // Sibling names that differ only in case, spaces or invisible characters read as the same
        // OU to people and are easy to create by accident (or on purpose, to hide a change); AWS's
        // own uniqueness check is exact, which the map keys guarantee.
        let mut by_parent: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
        for path in self.unit_paths.keys() {
            let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
            by_parent.entry(parent.to_string()).or_default().push((name.to_string(), unit_document_path(path)));
        }
        for (_, siblings) in by_parent {
            self.look_alikes("sibling OUs", siblings);
        }
    }

    fn unit_at(&self, path: &str) -> Option<&'a UnitSpec> {
        let mut units = &self.valid.spec.units;
        let mut found = None;
        for name in path.split('/') {
            let unit = units.get(name)?;
            found = Some(unit);
            units = &unit.units;
        }
        found
    }

    fn accounts(&mut self) {
        let spec = &self.valid.spec;
        let account_names =
            spec.accounts.keys().map(|name| (name.clone(), vec!["accounts".to_string(), name.clone()])).collect();
        self.look_alikes("accounts", account_names);
        let mut emails: HashMap<String, String> = HashMap::new();
        let mut ids: HashMap<String, String> = HashMap::new();
        for (name, account) in &spec.accounts {
            let path = ["accounts", name.as_str()];
            let name_problems = self.name_rules(&path, name, NameKind::Account);
            if name.is_empty() || name.chars().count() > 50 {
                self.error_at(&path, true, format!("account name `{name}` must be 1-50 characters"), None);
            } else if !name_problems && !name.chars().all(|c| (' '..='~').contains(&c)) {
                self.error_at(
                    &path,
                    true,
                    format!("account name `{}` must be printable ASCII", name.escape_default()),
                    None,
                );
            }
            let email_path = ["accounts", name.as_str(), "email"];
            if !is_valid_email(&account.email) {
                self.error(
                    &email_path,
                    format!("`{}` is not a valid email address", account.email),
                    Some("AWS needs 6-64 characters: local part, `@`, and a dotted domain".to_string()),
                );
            } else if let Some(other) = emails.insert(account.email.to_lowercase(), name.clone()) {
                self.error(
                    &email_path,
                    format!("email `{}` is also used by account `{other}`", account.email),
                    Some("AWS identifies accounts by email, case-insensitively: each needs its own".to_string()),
                );
            }
            self.aws_account_name(name, account.name.as_deref(), name_problems);
            let unit = account.unit.clone();
            self.unit_reference(&["accounts", name, "unit"], &unit);
            if let Some(id) = &account.id {
                if !is_account_id(id) {
                    self.error(&["accounts", name, "id"], format!("`{id}` is not a 12-digit account id"), None);
                } else if let Some(other) = ids.insert(id.clone(), name.clone()) {
                    self.error(&["accounts", name, "id"], format!("account id `{id}` is also used by `{other}`"), None);
                }
            }
            if account.close && !spec.organization.allow.close_accounts {
                self.error(
                    &["accounts", name, "close"],
                    format!("account `{name}` is marked `close: true` but closing accounts is not allowed"),
                    Some(
                        "set `organization.allow.close_accounts: true` (and pass --allow-destructive) to close it"
                            .to_string(),
                    ),
                );
            }
            if account.close && spec.organization.management_account.as_deref() == Some(name) {
                self.error(&["accounts", name, "close"], "the management account cannot be closed".to_string(), None);
            }
            self.tags(&path, &account.tags);
        }
    }

    /// The name an account carries in AWS (`name:`, else the key) is what `account:PutAccountName`
    /// sends: 1-50 characters of `[ -;=?-~]`, i.e. printable ASCII without `<` and `>`.
    /// https://docs.aws.amazon.com/accounts/latest/reference/API_PutAccountName.html
    fn aws_account_name(&mut self, key: &str, name: Option<&str>, key_problems: bool) {
        let allowed = |c: char| (' '..=';').contains(&c) || c == '=' || ('?'..='~').contains(&c);
        let hint = Some("AWS account names are 1-50 printable ASCII characters other than `<` and `>`".to_string());
        match name {
            Some(name) => {
                // The pattern leaves out control, bidi and zero-width characters: nothing can hide.
                let path = ["accounts", key, "name"];
                if !(1..=50).contains(&name.chars().count()) || !name.chars().all(allowed) {
                    let message = format!("account name `{}` is not a valid AWS account name", name.escape_default());
                    self.error(&path, message, hint);
                }
            }
            None if !key_problems && key.contains(['<', '>']) => {
                let message = format!("account `{key}` cannot be named so in AWS: `<` and `>` are refused");
                let hint = Some("keep the key and give the AWS name with `name:`".to_string());
                self.error_at(&["accounts", key], true, message, hint);
            }
            None => {}
        }
    }

    fn policies(&mut self) {
        let spec = &self.valid.spec;
        let policy_names =
            spec.policies.keys().map(|name| (name.clone(), vec!["policies".to_string(), name.clone()])).collect();
        self.look_alikes("policies", policy_names);
        let enabled: BTreeSet<PolicyType> = spec.organization.policy_types.iter().copied().collect();
        // (type, target) -> policies attached directly to that target.
        let mut per_target: BTreeMap<(PolicyType, String), Vec<String>> = BTreeMap::new();
        let mut managed_defaults = BTreeSet::new();
        for (name, policy) in &spec.policies {
            let path = ["policies", name.as_str()];
            self.name_rules(&path, name, NameKind::Policy);
            if name.is_empty() || name.chars().count() > 128 {
                self.error_at(&path, true, format!("policy name `{name}` must be 1-128 characters"), None);
            }
            if policy.description.chars().count() > 512 {
                self.error(
                    &["policies", name, "description"],
                    "description is longer than 512 characters".to_string(),
                    None,
                );
            }
            if !enabled.contains(&policy.policy_type) {
                let at = if self.valid.spans.contains(&["policies", name, "type"]) { "type" } else { "document" };
                self.error(
                    &["policies", name, at],
                    format!(
                        "policy `{name}` is a {} but that type is not enabled in `organization.policy_types`",
                        policy.policy_type
                    ),
                    Some(format!("add {} to organization.policy_types", policy.policy_type)),
                );
            }
            let aws_default = policy.policy_type.aws_managed_default();
            match (&policy.document, aws_default) {
                (None, Some(default)) if default == name => {
                    managed_defaults.insert(policy.policy_type);
                }
                (None, _) => self.error_at(
                    &path,
                    true,
                    format!("policy `{name}` has no `document`"),
                    Some(
                        "give a JSON file path or an inline mapping; only FullAWSAccess/RCPFullAWSAccess may omit it"
                            .to_string(),
                    ),
                ),
                (Some(_), Some(default)) if default == name => self.error(
                    &["policies", name, "document"],
                    format!("`{name}` is AWS-managed; its document cannot be set"),
                    Some("omit `document` to manage only its targets, or choose another name".to_string()),
                ),
                (Some(_), _) => {
                    if let Some(document) = self.valid.policy_documents.get(name) {
                        self.policy_document(name, policy.policy_type, document);
                    }
                }
            }
            self.targets(&["policies", name, "targets"], &policy.targets, false);
            self.tags(&path, &policy.tags);
            for unit in &policy.targets.units {
                per_target.entry((policy.policy_type, format!("unit {unit}"))).or_default().push(name.clone());
            }
            for account in &policy.targets.accounts {
                per_target.entry((policy.policy_type, format!("account {account}"))).or_default().push(name.clone());
            }
        }
        for ((policy_type, target), names) in per_target {
            let Some(max) = policy_type.max_per_target() else {
                continue;
            };
            // The AWS-managed default stays attached unless the spec manages its targets itself.
            // RCPFullAWSAccess stays attached everywhere whatever the spec says: it cannot be detached
            // (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html).
            let permanent = policy_type == PolicyType::ResourceControlPolicy;
            let implicit = usize::from(permanent || !managed_defaults.contains(&policy_type));
            let managed_default_here = names.iter().any(|n| Some(n.as_str()) == policy_type.aws_managed_default());
            let count = names.len() + if managed_default_here { 0 } else { implicit };
            if count > max {
                let last = names.last().cloned().unwrap_or_default();
                let default = policy_type.aws_managed_default().unwrap_or("the AWS default");
                self.error(
                    &["policies", &last, "targets"],
                    format!(
                        "{target} would have {count} {policy_type}s attached ({} plus {default}); AWS allows {max}",
                        names.join(", ")
                    ),
                    Some("merge statements into fewer policies, or attach some to a parent OU instead".to_string()),
                );
            }
        }
    }

    fn policy_document(&mut self, name: &str, policy_type: PolicyType, document: &Value) {
        let path = ["policies", name, "document"];
        for problem in policy_grammar::check(policy_type, document) {
            self.document_error(&path, problem);
        }
        let minified = document.to_string();
        let size = minified.chars().count();
        let max = policy_type.max_document_chars();
        if size > max {
            self.error(
                &path,
                format!("policy `{name}` is {size} characters minified; a {policy_type} may have {max}"),
                Some("split it into two policies or use wildcards to shorten action lists".to_string()),
            );
        }
    }
}

#[path = "validate_conformance_packs.rs"]
mod conformance_packs;
pub use conformance_packs::{is_pack_name, MAX_TEMPLATE_BODY};

fn is_unit_id(id: &str) -> bool {
    let mut parts = id.split('-');
    let (Some("ou"), Some(root), Some(suffix), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let ok = |s: &str, min: usize| {
        s.len() >= min && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    ok(root, 4) && ok(suffix, 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(is_valid_email("aws+log@example.com"));
        assert!(!is_valid_email("aws@localhost"));
        assert!(!is_valid_email("a b@example.com"));
        assert!(!is_valid_email("@example.com"));
        assert!(!is_valid_email("x@@example.com"));
    }

    #[test]
    fn unit_ids() {
        assert!(is_unit_id("ou-abcd-12345678"));
        assert!(!is_unit_id("ou-ab-12345678"));
        assert!(!is_unit_id("r-abcd"));
    }
}
