//! Semantic validation: the rules AWS enforces (and moto does not), checked offline, all at once.
//!
//! Each rule reports the offending value with its location and, where the fix is obvious, a hint.
//! Nothing here reads files or calls AWS; documents arrive parsed in `ValidSpec`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::diagnostic::{did_you_mean, SpecDiagnostic};
use super::load::{DocumentOrigin, ValidSpec};
use super::model::{FeatureSet, InspectorScan, PolicyType, SecurityHubConfiguration, Targets, UnitSpec, ROOT};
use super::names::{self, NameKind};
use super::policy_grammar::{self, GrammarError};
use super::regions::{config_global_types_region, is_aws_region, partition_of, AWS_REGIONS};

/// Managed policies IAM attaches to one role by default.
const MANAGED_POLICIES_PER_ROLE: usize = 10;

/// Deepest OU nesting AWS allows under the root.
pub const MAX_UNIT_DEPTH: usize = 5;
const MAX_TAGS: usize = 50;

/// Every rule violation in the spec.
pub fn validate(valid: &ValidSpec) -> Vec<SpecDiagnostic> {
    let mut checker = Checker::new(valid);
    checker.version();
    checker.organization();
    checker.units();
    checker.accounts();
    checker.policies();
    checker.baseline();
    checker.identity_center();
    checker.alerts();
    checker.conformance_packs();
    checker.network();
    checker.errors
}

struct Checker<'a> {
    valid: &'a ValidSpec,
    /// Every OU path (`Workloads/Prod`) -> its spans path.
    unit_paths: BTreeMap<String, Vec<String>>,
    errors: Vec<SpecDiagnostic>,
}

/// Turns a unit path into the document path of its key: `A/B` -> units.A.units.B.
fn unit_document_path(unit_path: &str) -> Vec<String> {
    unit_path.split('/').flat_map(|name| ["units".to_string(), name.to_string()]).collect()
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

fn is_iam_name(text: &str, max: usize) -> bool {
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

    fn error(&mut self, path: &[&str], message: String, help: Option<String>) {
        self.error_at(path, false, message, help);
    }

    fn error_at(&mut self, path: &[&str], at_key: bool, message: String, help: Option<String>) {
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
    fn document_error(&mut self, document_path: &[&str], problem: GrammarError) {
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
    fn name_rules(&mut self, path: &[&str], name: &str, kind: NameKind) -> bool {
        let problems = names::problems(name, kind);
        let found = !problems.is_empty();
        for problem in problems {
            self.error_at(path, true, problem.message, Some(problem.hint));
        }
        found
    }

    /// Reports names of one namespace that differ only in letter case, surrounding spaces or
    /// invisible characters: `(name, spec path of its key)` in file order.
    fn look_alikes(&mut self, noun: &str, entries: Vec<(String, Vec<String>)>) {
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

    fn account_exists(&self, name: &str) -> bool {
        self.valid.spec.accounts.contains_key(name)
    }

    fn unit_exists(&self, path: &str) -> bool {
        path == ROOT || self.unit_paths.contains_key(path)
    }

    /// Checks one account-name reference.
    fn account_reference(&mut self, path: &[&str], name: &str) {
        if !self.account_exists(name) {
            let hint = did_you_mean(name, self.valid.spec.accounts.keys().map(String::as_str))
                .or_else(|| Some("accounts are referenced by their key under `accounts:`".to_string()));
            self.error(path, format!("account `{name}` does not exist in the spec"), hint);
        }
    }

    /// Checks one unit-path reference.
    fn unit_reference(&mut self, path: &[&str], unit: &str) {
        if !self.unit_exists(unit) {
            let candidates: Vec<&str> =
                std::iter::once(ROOT).chain(self.unit_paths.keys().map(String::as_str)).collect();
            let hint = did_you_mean(unit, candidates.iter().copied())
                .or_else(|| Some("units are `Root` or an OU path such as `Workloads/Prod`".to_string()));
            self.error(path, format!("unit `{unit}` does not exist in the spec"), hint);
        }
    }

    fn targets(&mut self, path: &[&str], targets: &Targets, allow_exclude: bool) {
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

    /// `baseline.backup`: the vault, its lock, and the plans the backup policy is made from.
    fn backup(&mut self) {
        let spec = &self.valid.spec;
        let Some(backup) = &spec.baseline.backup else { return };
        match (&backup.vault_account, &spec.baseline.log_archive) {
            (Some(account), _) => self.account_reference(&["baseline", "backup", "vault_account"], account),
            (None, Some(_)) => {}
            (None, None) => self.error(
                &["baseline", "backup"],
                "the backup vault needs an account: `baseline.backup.vault_account` or `baseline.log_archive`"
                    .to_string(),
                Some("add `vault_account: <bunker account>`".to_string()),
            ),
        }
        // https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html:
        // `^[a-zA-Z0-9\-\_]{2,50}$`.
        let name_ok = (2..=50).contains(&backup.vault_name.len())
            && backup.vault_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            self.error(
                &["baseline", "backup", "vault_name"],
                format!("`{}` is not a backup vault name", backup.vault_name),
                Some("2-50 letters, digits, hyphens and underscores".to_string()),
            );
        }
        // The backup policy's rules back up into `landing-zone-backup` in member accounts, which
        // the backup baseline creates and removes (`baseline::backup::MEMBER_VAULT`): the bunker
        // vault must not share its name.
        if backup.vault_name == "landing-zone-backup" {
            self.error(
                &["baseline", "backup", "vault_name"],
                "`landing-zone-backup` is the name of the vault landing-zone creates in member accounts".to_string(),
                Some("choose another name, such as the default `landing-zone-bunker`".to_string()),
            );
        }
        let lock = backup.vault_lock.unwrap_or_default();
        // https://docs.aws.amazon.com/aws-backup/latest/devguide/API_PutBackupVaultLockConfiguration.html
        if let Some(min) = lock.min_retention_days.filter(|days| *days < 1) {
            self.error(
                &["baseline", "backup", "vault_lock", "min_retention_days"],
                format!("{min} days: the minimum retention is at least 1 day"),
                None,
            );
        }
        if let Some(max) = lock.max_retention_days.filter(|days| *days > 36_500) {
            self.error(
                &["baseline", "backup", "vault_lock", "max_retention_days"],
                format!("{max} days: the maximum retention is at most 36,500 days"),
                None,
            );
        }
        if let (Some(min), Some(max)) = (lock.min_retention_days, lock.max_retention_days) {
            if min > max {
                self.error(
                    &["baseline", "backup", "vault_lock", "min_retention_days"],
                    format!("the minimum retention ({min} days) is longer than the maximum ({max} days)"),
                    None,
                );
            }
        }
        if let Some(days) = lock.changeable_for_days {
            let path = ["baseline", "backup", "vault_lock", "changeable_for_days"];
            if days < 3 {
                self.error(
                    &path,
                    format!("{days} days: AWS Backup's grace time is at least 3 days (its 72-hour cooling-off period)"),
                    None,
                );
            }
            if !spec.organization.allow.compliance_vault_lock {
                self.error(
                    &path,
                    "`changeable_for_days` puts the vault in compliance mode, which becomes immutable after the grace time: irreversible, and not allowed".to_string(),
                    Some("set `organization.allow.compliance_vault_lock: true` (and pass --allow-destructive) to lock it; or drop `changeable_for_days` for governance mode".to_string()),
                );
            }
        }
        let mut first_targets: Option<(&String, &Targets)> = None;
        for (name, plan) in &backup.plans {
            let base = ["baseline", "backup", "plans", name.as_str()];
            let with = |key: &'static str| [base[0], base[1], base[2], base[3], key];
            // https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupRuleInput.html:
            // a cron expression in UTC, or rate().
            let schedule = plan.schedule.trim();
            let shaped = (schedule.starts_with("cron(") || schedule.starts_with("rate(")) && schedule.ends_with(')');
            let cron_fields = schedule
                .strip_prefix("cron(")
                .and_then(|rest| rest.strip_suffix(')'))
                .map(|body| body.split_whitespace().count());
            if !shaped || cron_fields.is_some_and(|fields| fields != 6) {
                self.error(
                    &with("schedule"),
                    format!("`{}` is not a schedule expression", plan.schedule),
                    Some("`cron(minutes hours day-of-month month day-of-week year)` such as `cron(0 5 ? * * *)`, or `rate(12 hours)`".to_string()),
                );
            }
            if plan.retention_days < 1 {
                self.error(&with("retention_days"), "recovery points are kept at least 1 day".to_string(), None);
            }
            if let Some(days) = plan.copy_to_bunker_retention_days {
                // The bunker vault's lock refuses copies whose retention is outside its range.
                if let Some(min) = lock.min_retention_days.filter(|min| days < *min) {
                    self.error(
                        &with("copy_to_bunker_retention_days"),
                        format!("{days} days is shorter than the bunker vault lock's minimum ({min} days); AWS Backup would refuse the copies"),
                        None,
                    );
                }
                if let Some(max) = lock.max_retention_days.filter(|max| days > *max) {
                    self.error(
                        &with("copy_to_bunker_retention_days"),
                        format!("{days} days is longer than the bunker vault lock's maximum ({max} days); AWS Backup would refuse the copies"),
                        None,
                    );
                }
            }
            for (index, region) in plan.regions.iter().enumerate() {
                if !is_aws_region(region) {
                    let index = index.to_string();
                    self.error(
                        &[base[0], base[1], base[2], base[3], "regions", &index],
                        format!("`{region}` is not an AWS Region code"),
                        None,
                    );
                }
            }
            if plan.selection_tags.is_empty() {
                self.error(
                    &with("selection_tags"),
                    format!("plan `{name}` selects nothing: give it at least one tag"),
                    None,
                );
            }
            self.targets(&with("targets"), &plan.targets, false);
            match first_targets {
                None => first_targets = Some((name, &plan.targets)),
                Some((first, targets)) if targets != &plan.targets => self.error(
                    &with("targets"),
                    format!("plan `{name}` targets other units or accounts than plan `{first}`; all plans make one backup policy, attached once"),
                    Some("give every plan the same `targets`".to_string()),
                ),
                Some(_) => {}
            }
        }
    }

    fn baseline(&mut self) {
        self.backup();
        let baseline = &self.valid.spec.baseline;
        if let Some(log_archive) = &baseline.log_archive {
            self.account_reference(&["baseline", "log_archive", "account"], &log_archive.account);
            if let Some(days) = log_archive.retention_days {
                if days == 0 {
                    self.error(
                        &["baseline", "log_archive", "retention_days"],
                        "retention_days must be at least 1".to_string(),
                        None,
                    );
                }
                if log_archive.object_lock.is_some() && days < log_archive.object_lock_days {
                    self.error(
                        &["baseline", "log_archive", "retention_days"],
                        format!(
                            "retention_days {days} is shorter than object_lock_days {}: expiry would fight the lock",
                            log_archive.object_lock_days
                        ),
                        None,
                    );
                }
            }
            if !(1..=36_500).contains(&log_archive.object_lock_days) {
                self.error(
                    &["baseline", "log_archive", "object_lock_days"],
                    "object_lock_days must be 1-36,500".to_string(),
                    None,
                );
            }
            if let Some(bucket) = &log_archive.bucket_name {
                if !is_bucket_name(bucket) {
                    self.error(
                        &["baseline", "log_archive", "bucket_name"],
                        format!(
                            "`{bucket}` is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)"
                        ),
                        None,
                    );
                }
            }
        }
        if let Some(trail) = &baseline.cloudtrail {
            let valid_name = (3..=128).contains(&trail.name.len())
                && trail.name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                && trail.name.starts_with(|c: char| c.is_ascii_alphanumeric());
            if !valid_name {
                self.error(
                    &["baseline", "cloudtrail", "name"],
                    format!("`{}` is not a valid trail name (3-128 of letters, digits, . _ -, starting with a letter or digit)", trail.name),
                    None,
                );
            }
            if self.valid.spec.organization.management_account.is_none() {
                self.error_at(
                    &["baseline", "cloudtrail"],
                    true,
                    "the organization trail lives in the management account: `organization.management_account` must name it".to_string(),
                    Some("add `management_account: <name of the management account entry>` under `organization`".to_string()),
                );
            }
            if baseline.log_archive.is_none() {
                self.error_at(
                    &["baseline", "cloudtrail"],
                    true,
                    "the organization trail needs `baseline.log_archive` to write into".to_string(),
                    Some("add `log_archive: { account: <log archive account> }`".to_string()),
                );
            }
        }
        // GuardDuty and Security Hub delegate their administrator per region from the management
        // account; Access Analyzer's is registered through Organizations, also from there.
        let management = self.valid.spec.organization.management_account.clone();
        for (section, service, present) in [
            ("guardduty", "GuardDuty", baseline.guardduty.is_some()),
            ("security_hub", "Security Hub", baseline.security_hub.is_some()),
            ("access_analyzer", "IAM Access Analyzer", baseline.access_analyzer.is_some()),
            ("macie", "Amazon Macie", baseline.macie.is_some()),
            ("inspector", "Amazon Inspector", baseline.inspector.is_some()),
        ] {
            if present && management.is_none() {
                self.error_at(
                    &["baseline", section],
                    true,
                    format!("{service}'s delegated administrator is designated from the management account: `organization.management_account` must name it"),
                    Some("add `management_account: <name of the management account entry>` under `organization`".to_string()),
                );
            }
        }
        if let Some(guardduty) = &baseline.guardduty {
            self.account_reference(&["baseline", "guardduty", "admin_account"], &guardduty.admin_account);
        }
        if let Some(macie) = &baseline.macie {
            self.account_reference(&["baseline", "macie", "admin_account"], &macie.admin_account);
        }
        if let Some(inspector) = &baseline.inspector {
            self.account_reference(&["baseline", "inspector", "admin_account"], &inspector.admin_account);
            let mut seen = BTreeSet::new();
            for (index, scan) in inspector.scan.iter().enumerate() {
                if !seen.insert(scan) {
                    let index = index.to_string();
                    self.error(&["baseline", "inspector", "scan", &index], "scan type listed twice".to_string(), None);
                }
            }
            // Lambda code scanning runs on top of Lambda standard scanning.
            // https://docs.aws.amazon.com/inspector/latest/user/scanning-lambda.html
            if let Some(index) = inspector.scan.iter().position(|scan| *scan == InspectorScan::LambdaCode) {
                if !inspector.scan.contains(&InspectorScan::Lambda) {
                    let index = index.to_string();
                    self.error(
                        &["baseline", "inspector", "scan", &index],
                        "`lambda_code` scanning needs `lambda` scanning".to_string(),
                        Some("add `lambda` to `scan`".to_string()),
                    );
                }
            }
        }
        if let Some(hub) = &baseline.security_hub {
            self.account_reference(&["baseline", "security_hub", "admin_account"], &hub.admin_account);
            // Under CENTRAL, AutoEnable "is set to false and can't be changed"; AWS refuses true.
            // https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_UpdateOrganizationConfiguration.html
            if hub.configuration == SecurityHubConfiguration::Central && hub.auto_enable == Some(true) {
                self.error(
                    &["baseline", "security_hub", "auto_enable"],
                    "`auto_enable: true` cannot apply under `configuration: central`: AWS fixes AutoEnable to false there and the configuration policy enables new accounts".to_string(),
                    Some("remove `auto_enable`, or use `configuration: local`".to_string()),
                );
            }
            let mut seen = BTreeSet::new();
            for (index, standard) in hub.standards.iter().enumerate() {
                if !seen.insert(standard) {
                    let index = index.to_string();
                    self.error(
                        &["baseline", "security_hub", "standards", &index],
                        "standard listed twice".to_string(),
                        None,
                    );
                }
            }
        }
        if let Some(analyzer) = &baseline.access_analyzer {
            self.account_reference(&["baseline", "access_analyzer", "admin_account"], &analyzer.admin_account);
            // Organizations refuses to register the management account as a delegated
            // administrator (ConstraintViolationException CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR).
            if management.as_deref() == Some(analyzer.admin_account.as_str()) {
                self.error(
                    &["baseline", "access_analyzer", "admin_account"],
                    format!(
                        "`{}` is the management account, which Organizations cannot register as a delegated administrator",
                        analyzer.admin_account
                    ),
                    Some("name a member account, such as the security account".to_string()),
                );
            }
            if !is_iam_name(&analyzer.analyzer_name, 255) {
                self.error(
                    &["baseline", "access_analyzer", "analyzer_name"],
                    "analyzer name must be 1-255 of letters, digits, . _ -".to_string(),
                    None,
                );
            }
        }
        if let Some(ebs) = &baseline.ebs_encryption {
            self.targets(&["baseline", "ebs_encryption", "targets"], &ebs.targets, true);
        }
        if let Some(config) = &baseline.aws_config {
            self.targets(&["baseline", "aws_config", "targets"], &config.targets, true);
            for rule in config.rules.keys() {
                if rule.is_empty() || !rule.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
                    self.error_at(
                        &["baseline", "aws_config", "rules", rule],
                        true,
                        format!(
                            "`{rule}` is not a managed rule identifier (UPPER_SNAKE_CASE, e.g. ACCESS_KEYS_ROTATED)"
                        ),
                        None,
                    );
                }
            }
            // https://docs.aws.amazon.com/config/latest/developerguide/select-resources.html: the
            // global IAM resource types are recorded only in Regions AWS Config supported before
            // February 2022; the recorder records them in the first such Region of the spec.
            if config_global_types_region(&self.valid.spec.organization.regions).is_none() {
                self.error_at(
                    &["baseline", "aws_config"],
                    true,
                    "AWS Config cannot record the global IAM resource types (users, groups, roles, policies) in any Region of `organization.regions`".to_string(),
                    Some("add a Region AWS Config supported before February 2022 (e.g. us-east-1) to `organization.regions`".to_string()),
                );
            }
            if baseline.log_archive.is_none() {
                self.error_at(
                    &["baseline", "aws_config"],
                    true,
                    "AWS Config delivers into the bunker bucket: `baseline.log_archive` is required".to_string(),
                    None,
                );
            }
        }
        if let Some(bpa) = &baseline.s3_block_public_access {
            self.targets(&["baseline", "s3_block_public_access", "targets"], &bpa.targets, true);
        }
        if let Some(password) = &baseline.password_policy {
            let base = ["baseline", "password_policy"];
            self.targets(&[base[0], base[1], "targets"], &password.targets, true);
            if !(6..=128).contains(&password.minimum_length) {
                self.error(
                    &[base[0], base[1], "minimum_length"],
                    format!("minimum_length {} is outside AWS's range 6-128", password.minimum_length),
                    None,
                );
            }
            if let Some(days) = password.max_age_days {
                if !(1..=1095).contains(&days) {
                    self.error(
                        &[base[0], base[1], "max_age_days"],
                        format!("max_age_days {days} is outside AWS's range 1-1,095"),
                        None,
                    );
                }
            }
            if let Some(reuse) = password.reuse_prevention {
                if !(1..=24).contains(&reuse) {
                    self.error(
                        &[base[0], base[1], "reuse_prevention"],
                        format!("reuse_prevention {reuse} is outside AWS's range 1-24"),
                        None,
                    );
                }
            }
        }
        if let Some(contacts) = &baseline.contacts {
            self.targets(&["baseline", "contacts", "targets"], &contacts.targets, true);
            if contacts.security.is_none() && contacts.operations.is_none() && contacts.billing.is_none() {
                self.error_at(
                    &["baseline", "contacts"],
                    true,
                    "`contacts` sets no contact".to_string(),
                    Some("add `security: { name, email, phone, title }`".to_string()),
                );
            }
            for (kind, contact) in
                [("security", &contacts.security), ("operations", &contacts.operations), ("billing", &contacts.billing)]
            {
                let Some(contact) = contact else { continue };
                if !is_valid_email(&contact.email) {
                    self.error(
                        &["baseline", "contacts", kind, "email"],
                        format!("`{}` is not a valid email address", contact.email),
                        None,
                    );
                }
                if contact.phone.is_empty() || !contact.phone.chars().all(|c| c.is_ascii_digit() || " ()+-".contains(c))
                {
                    self.error(
                        &["baseline", "contacts", kind, "phone"],
                        format!("`{}` is not a phone number (digits, spaces, + ( ) -)", contact.phone),
                        None,
                    );
                }
                for (field, value, max) in [("name", &contact.name, 64), ("title", &contact.title, 50)] {
                    if value.is_empty() || value.chars().count() > max {
                        self.error(
                            &["baseline", "contacts", kind, field],
                            format!("contact {field} must be 1-{max} characters"),
                            None,
                        );
                    }
                }
            }
        }
        self.roles();
        self.budgets();
    }

    /// `baseline.budgets`: where each budget lives, its alarms and its recipients, against the
    /// Budgets API's limits. Names are map keys, so they are unique in the spec and hence in every
    /// account; look-alike names are refused as everywhere else.
    fn budgets(&mut self) {
        let spec = &self.valid.spec;
        let mut entries = Vec::new();
        for (name, budget) in &spec.baseline.budgets {
            let base = ["baseline", "budgets", name.as_str()];
            entries.push((name.clone(), base.iter().map(|segment| segment.to_string()).collect()));
            // BudgetName: 1-100 characters, no `:` or `\`.
            // https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html
            if name.is_empty() || name.chars().count() > 100 || name.contains([':', '\\']) {
                self.error_at(
                    &base,
                    true,
                    format!("`{name}` is not a valid budget name (1-100 characters, no `:` or `\\`)"),
                    None,
                );
            }
            match (&budget.account, &budget.targets) {
                (Some(_), Some(_)) => self.error_at(
                    &[base[0], base[1], base[2], "targets"],
                    true,
                    format!("budget `{name}` sets both `account` and `targets`"),
                    Some(
                        "use `account` for one budget in one account, or `targets` for one in each covered account"
                            .to_string(),
                    ),
                ),
                (None, None) => self.error_at(
                    &base,
                    true,
                    format!("budget `{name}` says neither `account` nor `targets`"),
                    Some("add `account: <account name>` or `targets: { units: [...] }`".to_string()),
                ),
                (Some(account), None) => self.account_reference(&[base[0], base[1], base[2], "account"], account),
                (None, Some(targets)) => self.targets(&[base[0], base[1], base[2], "targets"], targets, true),
            }
            if budget.limit_usd == 0 {
                self.error(&[base[0], base[1], base[2], "limit_usd"], "limit_usd must be at least 1".to_string(), None);
            }
            let mut seen = BTreeSet::new();
            for (index, threshold) in budget.thresholds.iter().enumerate() {
                let index = index.to_string();
                let at = [base[0], base[1], base[2], "thresholds", index.as_str()];
                if !(1..=1000).contains(threshold) {
                    self.error(&at, format!("threshold {threshold} is outside 1-1,000 (percent of the limit)"), None);
                } else if !seen.insert(threshold) {
                    self.error(&at, format!("threshold {threshold} is listed twice"), None);
                }
            }
            if let Some(threshold) = budget.forecast_threshold {
                if !(1..=1000).contains(&threshold) {
                    self.error(
                        &[base[0], base[1], base[2], "forecast_threshold"],
                        format!("forecast_threshold {threshold} is outside 1-1,000 (percent of the limit)"),
                        None,
                    );
                }
            }
            let alarms = budget.thresholds.len() + usize::from(budget.forecast_threshold.is_some());
            // "A budget can have up to ten notifications" (API_budgets_Notification).
            if alarms == 0 {
                self.error_at(
                    &base,
                    true,
                    format!("budget `{name}` has no alarm"),
                    Some("add `thresholds: [80, 100]` or `forecast_threshold: 100`".to_string()),
                );
            } else if alarms > 10 {
                self.error(
                    &[base[0], base[1], base[2], "thresholds"],
                    format!("budget `{name}` has {alarms} alarms; AWS Budgets allows 10 per budget"),
                    None,
                );
            }
            // "Each notification can have one SNS subscriber and up to 10 email subscribers"
            // (API_budgets_CreateNotification).
            if budget.notify.is_empty() {
                self.error(
                    &[base[0], base[1], base[2], "notify"],
                    format!("budget `{name}` notifies nobody"),
                    Some("list at least one e-mail address under `notify`".to_string()),
                );
            } else if budget.notify.len() > 10 {
                self.error(
                    &[base[0], base[1], base[2], "notify"],
                    format!(
                        "budget `{name}` notifies {} addresses; AWS Budgets allows 10 per alarm",
                        budget.notify.len()
                    ),
                    None,
                );
            }
            let mut addresses = BTreeSet::new();
            for (index, address) in budget.notify.iter().enumerate() {
                let index = index.to_string();
                let at = [base[0], base[1], base[2], "notify", index.as_str()];
                if !is_valid_email(address) {
                    self.error(&at, format!("`{address}` is not a valid email address"), None);
                } else if !addresses.insert(address.to_ascii_lowercase()) {
                    self.error(&at, format!("`{address}` is listed twice"), None);
                }
            }
        }
        self.look_alikes("budgets", entries);
    }

    /// IAM attaches at most 10 managed policies to a role by default (20 after a quota increase),
    /// and a policy ARN names its partition, which must be the spec's.
    /// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
    /// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
    fn managed_policies(&mut self, base: &[&str; 3], role: &crate::spec::RoleSpec) {
        let path = [base[0], base[1], base[2], "managed_policies"];
        if role.managed_policies.len() > MANAGED_POLICIES_PER_ROLE {
            self.error(
                &path,
                format!(
                    "role `{}` attaches {} managed policies; IAM allows {MANAGED_POLICIES_PER_ROLE} per role by default",
                    base[2],
                    role.managed_policies.len()
                ),
                Some("merge policies, or move some into `inline_policies`; AWS raises the quota to 20 on request (Service Quotas: IAM `Managed policies per role`)".to_string()),
            );
        }
        let home = self.valid.spec.organization.regions.first().map_or("us-east-1", String::as_str);
        let expected = partition_of(home);
        for (index, arn) in role.managed_policies.iter().enumerate() {
            let partition = arn.strip_prefix("arn:").and_then(|rest| rest.split(':').next()).unwrap_or_default();
            if partition != expected {
                let index = index.to_string();
                self.error(
                    &[path[0], path[1], path[2], path[3], index.as_str()],
                    format!("managed policy `{arn}` is not in partition `{expected}`, the partition of `{home}`"),
                    Some(format!("write it as `arn:{expected}:iam::...`")),
                );
            }
        }
    }

    fn roles(&mut self) {
        let spec = &self.valid.spec;
        for (name, role) in &spec.baseline.roles {
            let base = ["baseline", "roles", name.as_str()];
            if !is_iam_name(name, 64) {
                self.error_at(
                    &base,
                    true,
                    format!("`{name}` is not a valid IAM role name (1-64 of letters, digits and +=,.@_-)"),
                    None,
                );
            }
            if name == &spec.organization.access_role {
                self.error_at(
                    &base,
                    true,
                    format!("`{name}` is the executor's access role; managing it here could lock the tool out"),
                    Some("pick another role name".to_string()),
                );
            }
            self.targets(&[base[0], base[1], base[2], "targets"], &role.targets, true);
            self.managed_policies(&base, role);
            if role.targets.is_empty() {
                self.error(&[base[0], base[1], base[2], "targets"], format!("role `{name}` targets no account"), None);
            }
            let trust = &role.trust;
            if trust.accounts.is_empty() && trust.roles.is_empty() && trust.services.is_empty() {
                self.error(
                    &[base[0], base[1], base[2], "trust"],
                    format!("role `{name}` trusts nobody"),
                    Some("list `accounts`, `roles` or `services` under `trust`".to_string()),
                );
            }
            for (index, account) in trust.accounts.iter().enumerate() {
                if !is_account_id(account) {
                    let index = index.to_string();
                    self.account_reference(&[base[0], base[1], base[2], "trust", "accounts", &index], account);
                }
            }
            for (index, reference) in trust.roles.iter().enumerate() {
                let index = index.to_string();
                let at = [base[0], base[1], base[2], "trust", "roles", index.as_str()];
                match reference.split_once('/') {
                    Some((account, role_name)) => {
                        if !is_account_id(account) {
                            self.account_reference(&at, account);
                        }
                        let known =
                            role_name == spec.organization.access_role || spec.baseline.roles.contains_key(role_name);
                        if !known && !is_account_id(account) {
                            let candidates: Vec<&str> = spec
                                .baseline
                                .roles
                                .keys()
                                .map(String::as_str)
                                .chain(std::iter::once(spec.organization.access_role.as_str()))
                                .collect();
                            self.error(
                                &at,
                                format!("role `{role_name}` is not defined in the spec"),
                                did_you_mean(role_name, candidates.iter().copied()).or_else(|| {
                                    Some(
                                        "trusted roles must be `baseline.roles` entries or `organization.access_role`"
                                            .to_string(),
                                    )
                                }),
                            );
                        }
                    }
                    None => self.error(
                        &at,
                        format!("`{reference}` is not of the form `account/RoleName`"),
                        Some("e.g. `security/SecurityAuditor`".to_string()),
                    ),
                }
            }
            for (index, service) in trust.services.iter().enumerate() {
                if !service.ends_with(".amazonaws.com") {
                    let index = index.to_string();
                    self.error(
                        &[base[0], base[1], base[2], "trust", "services", &index],
                        format!("`{service}` is not a service principal"),
                        None,
                    );
                }
            }
            if let Some(external_id) = &trust.external_id {
                if !(2..=1224).contains(&external_id.len()) {
                    self.error(
                        &[base[0], base[1], base[2], "trust", "external_id"],
                        "external ID must be 2-1224 characters".to_string(),
                        None,
                    );
                }
            }
            for (index, arn) in role.managed_policies.iter().enumerate() {
                let valid = arn.starts_with("arn:aws") && arn.contains(":iam::") && arn.contains(":policy/");
                if !valid {
                    let index = index.to_string();
                    self.error(
                        &[base[0], base[1], base[2], "managed_policies", &index],
                        format!("`{arn}` is not an IAM policy ARN"),
                        Some("e.g. arn:aws:iam::aws:policy/ReadOnlyAccess".to_string()),
                    );
                }
            }
            if role.managed_policies.len() > 20 {
                self.error(
                    &[base[0], base[1], base[2], "managed_policies"],
                    "a role may have at most 20 managed policies".to_string(),
                    None,
                );
            }
            if !(3600..=43_200).contains(&role.max_session_duration) {
                self.error(
                    &[base[0], base[1], base[2], "max_session_duration"],
                    format!(
                        "max_session_duration {} is outside AWS's range 3,600-43,200 seconds",
                        role.max_session_duration
                    ),
                    None,
                );
            }
        }
    }
}

#[path = "validate_identity_center.rs"]
mod identity_center;

#[path = "validate_alerts.rs"]
mod alerts;
#[path = "validate_conformance_packs.rs"]
mod conformance_packs;
#[path = "validate_network.rs"]
mod network;
pub use identity_center::session_duration_seconds;

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

fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..")
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

    fn messages(spec: &str) -> Vec<String> {
        match crate::spec::load_spec_from_str(std::path::Path::new("landing-zone.yaml"), spec.to_string()) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.diagnostics.iter().map(|diagnostic| format!("{diagnostic:?}")).collect(),
        }
    }

    const ROLE: &str = "version: 1
organization: { management_account: management, regions: [REGIONS] }
accounts:
  management: { email: root@example.com }
baseline:
  roles:
    Auditor:
      targets: { accounts: [management] }
      trust: { accounts: [management] }
      managed_policies: [POLICIES]
";

    fn role_spec(regions: &str, policies: &[String]) -> String {
        ROLE.replace("REGIONS", regions).replace("POLICIES", &policies.join(", "))
    }

    #[test]
    fn at_most_ten_managed_policies_per_role() {
        // Issue 11, fix 14.
        let policies: Vec<String> = (0..11).map(|n| format!("arn:aws:iam::aws:policy/P{n}")).collect();
        let errors = messages(&role_spec("us-east-1", &policies));
        assert!(
            errors.iter().any(|error| error.contains("attaches 11 managed policies") && error.contains("20")),
            "{errors:#?}"
        );
        assert!(messages(&role_spec("us-east-1", &policies[..10])).is_empty());
    }

    #[test]
    fn managed_policy_arns_carry_the_specs_partition() {
        let policies = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_string()];
        let errors = messages(&role_spec("us-gov-west-1", &policies));
        assert!(
            errors
                .iter()
                .any(|error| error.contains("arn:aws:iam::aws:policy/ReadOnlyAccess") && error.contains("aws-us-gov")),
            "{errors:#?}"
        );
        let china = vec!["arn:aws-cn:iam::aws:policy/ReadOnlyAccess".to_string()];
        assert!(messages(&role_spec("cn-north-1", &china)).is_empty());
    }

    #[test]
    fn config_needs_a_region_that_records_global_types() {
        let spec = "version: 1
organization: { management_account: management, regions: [REGIONS] }
accounts:
  management: { email: root@example.com }
  logs: { email: logs@example.com }
baseline:
  log_archive: { account: logs }
  aws_config: {}
";
        let errors = messages(&spec.replace("REGIONS", "il-central-1, eu-central-2"));
        assert!(errors.iter().any(|error| error.contains("global IAM resource types")), "{errors:#?}");
        assert!(messages(&spec.replace("REGIONS", "il-central-1, eu-west-1")).is_empty());
    }

    #[test]
    fn unit_ids() {
        assert!(is_unit_id("ou-abcd-12345678"));
        assert!(!is_unit_id("ou-ab-12345678"));
        assert!(!is_unit_id("r-abcd"));
    }
}
