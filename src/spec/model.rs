//! The typed shape of `landing-zone.yaml`, version 1 (DESIGN.md §2).
//!
//! These types only describe the document: defaults, allowed enum values and unknown-key rejection.
//! Rules that need the whole document (references, uniqueness, AWS limits) live in `validate.rs`
//! and each baseline's `validate.rs`, and nothing here touches the file system or AWS. The
//! `identity_center:` section and the policy types are in `model/`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod alerts;
mod identity_center;
mod network;
mod policy_type;

pub use alerts::*;
pub use identity_center::*;
pub use network::*;
pub use policy_type::PolicyType;

/// Name of the organization root in `unit:` and `targets.units`.
pub const ROOT: &str = "Root";

/// The whole spec file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Spec format version; only `1` exists.
    pub version: u32,
    /// Organization-wide settings.
    pub organization: OrganizationSpec,
    /// The OU tree under the root; the key is the OU name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub units: BTreeMap<String, UnitSpec>,
    /// Member and management accounts; the key is the account name (unique).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub accounts: BTreeMap<String, AccountSpec>,
    /// Organization policies of every type; the key is the policy name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, PolicySpec>,
    /// The security baseline every account carries.
    #[serde(default, skip_serializing_if = "BaselineSpec::is_empty")]
    pub baseline: BaselineSpec,
    /// IAM Identity Center: groups, permission sets and account assignments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_center: Option<IdentityCenterSpec>,
    /// VPCs landing-zone builds and the Transit Gateways they attach to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSpec>,
}

/// `organization:` — settings of the organization itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationSpec {
    /// `ALL` (required for SCPs and every other policy type) or `CONSOLIDATED_BILLING`.
    #[serde(default)]
    pub feature_set: FeatureSet,
    /// Policy types enabled on the root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_types: Vec<PolicyType>,
    /// Role the executor assumes in member accounts.
    #[serde(default = "default_access_role")]
    pub access_role: String,
    /// External ID sent when assuming `access_role`, if the role's trust demands one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The account entry that is the organization's management account (matched to the live
    /// management account whatever its email). When omitted, accounts are matched by email only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_account: Option<String>,
    /// AWS regions the regional baselines run in; the home region first.
    pub regions: Vec<String>,
    /// Extra service principals granted trusted access (baselines add the ones they need).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_services: Vec<String>,
    /// Extra delegated administrators: service principal -> account name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub delegated_administrators: BTreeMap<String, String>,
    /// Opt-ins for destructive changes. Each also needs `--allow-destructive` on the command line.
    #[serde(default, skip_serializing_if = "DestructiveOptIns::is_default")]
    pub allow: DestructiveOptIns,
    /// Centralized root access for member accounts (IAM, from the management account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_access: Option<RootAccessSpec>,
}

/// `organization.root_access`: the IAM features of centralized root access. `true` enables a
/// feature (after trusted access for `iam.amazonaws.com`); `false` leaves it as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RootAccessSpec {
    /// Root credentials management: member accounts' root credentials can be deleted centrally.
    #[serde(default)]
    pub credentials_management: bool,
    /// Privileged root sessions: `sts:AssumeRoot` into member accounts for root-only tasks.
    #[serde(default)]
    pub root_sessions: bool,
    /// Delete every member account's root credentials (password, access keys, MFA devices,
    /// signing certificates). Irreversible: also needs `--allow-destructive`, and
    /// `credentials_management: true`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_member_root_credentials: bool,
}

impl RootAccessSpec {
    /// The IAM feature names (`FeatureType`) the spec turns on.
    pub fn features(&self) -> Vec<&'static str> {
        let mut features = Vec::new();
        if self.credentials_management {
            features.push(ROOT_CREDENTIALS_MANAGEMENT);
        }
        if self.root_sessions {
            features.push(ROOT_SESSIONS);
        }
        features
    }
}

/// IAM's names of the centralized root access features.
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListOrganizationsFeatures.html
pub const ROOT_CREDENTIALS_MANAGEMENT: &str = "RootCredentialsManagement";
pub const ROOT_SESSIONS: &str = "RootSessions";

/// Destructive changes the spec explicitly opts into (DESIGN.md §3, safety rules).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestructiveOptIns {
    /// Close accounts marked `close: true`.
    #[serde(default)]
    pub close_accounts: bool,
    /// Delete OUs that are no longer in the spec, when they are empty.
    #[serde(default)]
    pub delete_empty_units: bool,
    /// Detach or delete a policy that protects the organization trail.
    #[serde(default)]
    pub detach_trail_guards: bool,
    /// Put an AWS Backup vault under Vault Lock in compliance mode (immutable after its grace time).
    #[serde(default)]
    pub compliance_vault_lock: bool,
    /// Remove baseline resources landing-zone created that the spec no longer asks for, when
    /// removing them loses data the spec cannot re-create (a backup vault's recovery points).
    #[serde(default)]
    pub delete_baseline_data: bool,
}

impl DestructiveOptIns {
    fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

fn default_access_role() -> String {
    "OrganizationAccountAccessRole".to_string()
}

/// The organization's feature set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FeatureSet {
    #[default]
    All,
    ConsolidatedBilling,
}

/// One OU; the map key is its name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitSpec {
    /// Pins an existing OU (as `import` writes it), so a changed name is a rename, not a new OU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When present, the OU's tags are exactly these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Child OUs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub units: BTreeMap<String, UnitSpec>,
}

/// One account; the map key is its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// Root user email: AWS's unique key for an account.
    pub email: String,
    /// The account's name in AWS, when it is not the key (AWS lets two accounts share a name; keys
    /// are unique). An account named otherwise in AWS is renamed (`account:PutAccountName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where the account lives: `Root` or an OU path such as `Workloads/Prod`.
    #[serde(default = "default_unit")]
    pub unit: String,
    /// Adopts an existing account (12 digits) instead of creating one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When present, the account's tags are exactly these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Close the account (needs `organization.allow.close_accounts` and `--allow-destructive`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub close: bool,
}

fn default_unit() -> String {
    ROOT.to_string()
}

/// One organization policy; the map key is its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// The policy type; `SERVICE_CONTROL_POLICY` when omitted.
    #[serde(rename = "type", default)]
    pub policy_type: PolicyType,
    /// Description shown in the console (at most 512 characters).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// A JSON file path relative to the spec, or the document inline as a mapping. Omitted only for
    /// the AWS-managed defaults (`FullAWSAccess`, `RCPFullAWSAccess`), whose targets the spec then
    /// manages exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentSource>,
    /// Where the policy is attached: OUs (and everything below them) and accounts.
    #[serde(default)]
    pub targets: Targets,
    /// When present, the policy's tags are exactly these (plus the tool's ownership tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// A JSON document given as a file path or inline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DocumentSource {
    /// Path to a JSON file, relative to the spec file.
    File(String),
    /// The document itself.
    Inline(serde_json::Map<String, serde_json::Value>),
}

/// The one target shape used everywhere: `units` cover the OU and everything below it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// OU paths (`Workloads/Prod`) or `Root`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<String>,
    /// Account names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Account names or OU paths taken out again (baselines only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

impl Targets {
    pub fn is_empty(&self) -> bool {
        self.units.is_empty() && self.accounts.is_empty()
    }

    /// Every account in the organization.
    pub fn everywhere() -> Targets {
        Targets { units: vec![ROOT.to_string()], ..Targets::default() }
    }
}

/// `baseline:` — the security foundation, section by section. An absent section is not managed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_archive: Option<LogArchiveSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudtrail: Option<CloudTrailSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardduty: Option<GuardDutySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_hub: Option<SecurityHubSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_analyzer: Option<AccessAnalyzerSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub macie: Option<MacieSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspector: Option<InspectorSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detective: Option<DetectiveSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_encryption: Option<TargetedSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_config: Option<AwsConfigSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_block_public_access: Option<BlockPublicAccessSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<PasswordPolicySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<ContactsSpec>,
    /// IAM roles in targeted accounts; the key is the role name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, RoleSpec>,
    /// Monthly cost budgets with e-mail alarms; the key is the budget name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub budgets: BTreeMap<String, BudgetSpec>,
    /// AWS Backup: a locked vault in the bunker and the organization's backup policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupSpec>,
    /// The default VPC (with its default subnets and internet gateway) removed in every targeted
    /// account and Region, unless a network interface is in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_vpcs: Option<DefaultVpcsSpec>,
    /// The default security group of every VPC in the targeted accounts and Regions holds no
    /// rule (CIS, Security Hub EC2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_security_groups: Option<TargetedSpec>,
    /// Every VPC in the targeted accounts and Regions has a flow log to the log archive bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_logs: Option<FlowLogsSpec>,
    /// Security alerts: an SNS topic with e-mail subscriptions, and the findings that reach it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<AlertsSpec>,
    /// AWS Config organization conformance packs from template files; the key is the pack's name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conformance_packs: BTreeMap<String, ConformancePackSpec>,
}

/// `baseline.conformance_packs.<name>`: one AWS Config organization conformance pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConformancePackSpec {
    /// The template: a YAML file relative to the spec's directory, with `Parameters` and
    /// `Resources` of type `AWS::Config::ConfigRule` (or `AWS::Config::RemediationConfiguration`).
    pub template: String,
    /// The body landing-zone deploys, filled in by the loader from `template` (never written in
    /// the spec).
    #[serde(skip)]
    #[schemars(skip)]
    pub body: Option<String>,
}

impl BaselineSpec {
    pub fn is_empty(&self) -> bool {
        self == &BaselineSpec::default()
    }
}

/// `baseline.backup`: an AWS Backup vault in the bunker account (home Region), encrypted with its
/// own rotating KMS key, open to copies from the organization, under Vault Lock; and the
/// `BACKUP_POLICY` `landing-zone-backup` made from `plans`, attached where they target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupSpec {
    /// Account that holds the vault; the `baseline.log_archive` account when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_account: Option<String>,
    /// The vault's name (2-50 letters, digits and hyphens).
    #[serde(default = "default_vault_name")]
    pub vault_name: String,
    /// AWS Backup Vault Lock. Without `changeable_for_days` it is governance mode; with it,
    /// compliance mode, which becomes immutable once that many days have passed (irreversible:
    /// needs `organization.allow.compliance_vault_lock` and --allow-destructive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_lock: Option<VaultLockSpec>,
    /// Backup plans; the key is the plan name in the backup policy.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub plans: BTreeMap<String, BackupPlanSpec>,
}

pub fn default_vault_name() -> String {
    "landing-zone-bunker".to_string()
}

impl BackupSpec {
    /// The account holding the vault: `vault_account`, else the log-archive account.
    pub fn vault_account<'a>(&'a self, spec: &'a Spec) -> Option<&'a str> {
        self.vault_account
            .as_deref()
            .or_else(|| spec.baseline.log_archive.as_ref().map(|log_archive| log_archive.account.as_str()))
    }
}

/// AWS Backup Vault Lock settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VaultLockSpec {
    /// Shortest retention a recovery point in the vault may have (days, >= 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_retention_days: Option<u32>,
    /// Longest retention a recovery point in the vault may have (days, <= 36,500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retention_days: Option<u32>,
    /// Compliance mode: days (>= 3) before the lock becomes immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changeable_for_days: Option<u32>,
}

/// One plan of the backup policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupPlanSpec {
    /// `cron(...)` or `rate(...)`, in UTC.
    pub schedule: String,
    /// Days recovery points are kept in the member account's vault.
    pub retention_days: u32,
    /// Days the copy in the bunker vault is kept; no copy when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_to_bunker_retention_days: Option<u32>,
    /// Regions the plan backs up in; the home Region when omitted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Resources carrying all these tags are backed up.
    pub selection_tags: BTreeMap<String, String>,
    /// Where the backup policy is attached.
    pub targets: Targets,
}

/// The log-archive "data bunker".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogArchiveSpec {
    /// Account name that holds the bunker.
    pub account: String,
    /// Log bucket name; `landing-zone-logs-<account id>` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_name: Option<String>,
    /// Days objects are kept before expiry (lifecycle); kept forever when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// S3 Object Lock mode, set when the tool creates the bucket (it refuses to turn Object Lock on
    /// for an existing bucket: that cannot be undone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<ObjectLockMode>,
    /// Default retention under Object Lock, in days (1-36,500).
    #[serde(default = "default_object_lock_days")]
    pub object_lock_days: u32,
}

pub fn default_object_lock_days() -> u32 {
    365
}

/// S3 Object Lock retention mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ObjectLockMode {
    Governance,
    Compliance,
}

/// The organization trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudTrailSpec {
    /// Trail name (3-128 characters).
    pub name: String,
    #[serde(default = "yes")]
    pub multi_region: bool,
    #[serde(default = "yes")]
    pub log_file_validation: bool,
}

fn yes() -> bool {
    true
}

/// GuardDuty organization-wide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardDutySpec {
    /// Delegated administrator account name.
    pub admin_account: String,
    /// Which members GuardDuty enables itself in.
    #[serde(default)]
    pub auto_enable: AutoEnable,
}

/// GuardDuty's AutoEnableOrganizationMembers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AutoEnable {
    #[default]
    All,
    New,
    None,
}

/// One monthly cost budget (AWS Budgets) with e-mail alarms, in one account (`account`) or in
/// each covered account (`targets`); exactly one of the two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    /// The account the budget lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// One budget in each covered account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Targets>,
    /// The monthly cost limit, in whole US dollars.
    pub limit_usd: u64,
    /// Alarms on actual spend, in percent of the limit (1-1,000).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<u32>,
    /// An alarm on forecasted spend, in percent of the limit (1-1,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast_threshold: Option<u32>,
    /// E-mail addresses every alarm goes to (1-10).
    pub notify: Vec<String>,
}

/// Amazon Macie organization-wide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MacieSpec {
    /// Delegated administrator account name.
    pub admin_account: String,
    /// Enable Macie in accounts as they join, and add every existing account as a member.
    #[serde(default = "yes")]
    pub auto_enable: bool,
    /// How often Macie publishes updates to policy findings.
    #[serde(default)]
    pub finding_frequency: MacieFindingFrequency,
}

/// Macie's FindingPublishingFrequency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MacieFindingFrequency {
    FifteenMinutes,
    OneHour,
    #[default]
    SixHours,
}

/// Amazon Inspector organization-wide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectorSpec {
    /// Delegated administrator account name.
    pub admin_account: String,
    /// Resource types scanned in every account (existing ones enabled, new ones auto-enabled).
    #[serde(default = "default_inspector_scan")]
    pub scan: Vec<InspectorScan>,
}

fn default_inspector_scan() -> Vec<InspectorScan> {
    vec![InspectorScan::Ec2, InspectorScan::Ecr, InspectorScan::Lambda]
}

/// Inspector's resource scan types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InspectorScan {
    Ec2,
    Ecr,
    Lambda,
    /// Lambda code scanning; needs `lambda`.
    LambdaCode,
}

/// Amazon Detective organization-wide: the administrator's behavior graph, new accounts
/// auto-enabled, every existing account an enabled member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectiveSpec {
    /// Delegated administrator account name.
    pub admin_account: String,
}

/// Security Hub organization-wide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityHubSpec {
    /// Delegated administrator account name.
    pub admin_account: String,
    /// Standards enabled in every account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standards: Vec<SecurityStandard>,
    /// Enable Security Hub in new member accounts automatically; true when absent. Local
    /// configuration only: under central configuration AWS fixes it to false and the
    /// configuration policy enables new accounts (`validate` refuses `true` there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_enable: Option<bool>,
    /// `local`: each region configured on its own (auto-enable, standards and members per
    /// account). `central`: the delegated administrator, in the home region, applies one
    /// configuration policy to the organization root (the mode AWS recommends).
    #[serde(default)]
    pub configuration: SecurityHubConfiguration,
}

/// How Security Hub is configured across the organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SecurityHubConfiguration {
    #[default]
    Local,
    Central,
}

/// Security Hub standards the tool knows the ARNs of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SecurityStandard {
    AwsFoundationalSecurityBestPractices,
    CisAwsFoundationsBenchmark,
    // The name docs/spec.md promises; kebab-case of the variant would be `nist-sp80053`.
    #[serde(rename = "nist-sp800-53")]
    NistSp80053,
    PciDss,
}

/// IAM Access Analyzer with an organization analyzer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessAnalyzerSpec {
    /// Delegated administrator account name.
    pub admin_account: String,
    /// Name of the organization analyzer.
    #[serde(default = "default_analyzer_name")]
    pub analyzer_name: String,
}

pub fn default_analyzer_name() -> String {
    "organization".to_string()
}

/// A baseline that only needs to know where it applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetedSpec {
    #[serde(default = "Targets::everywhere")]
    pub targets: Targets,
}

/// AWS Config recorder, delivery channel and managed rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsConfigSpec {
    #[serde(default = "Targets::everywhere")]
    pub targets: Targets,
    /// Managed rule identifier -> input parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rules: BTreeMap<String, BTreeMap<String, String>>,
}

/// Account-level S3 Block Public Access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockPublicAccessSpec {
    #[serde(default = "Targets::everywhere")]
    pub targets: Targets,
    #[serde(default = "yes")]
    pub block_public_acls: bool,
    #[serde(default = "yes")]
    pub ignore_public_acls: bool,
    #[serde(default = "yes")]
    pub block_public_policy: bool,
    #[serde(default = "yes")]
    pub restrict_public_buckets: bool,
}

/// The IAM account password policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicySpec {
    /// Accounts that carry the policy; every account when omitted.
    #[serde(default = "Targets::everywhere")]
    pub targets: Targets,
    /// 6-128.
    #[serde(default = "default_minimum_length")]
    pub minimum_length: u32,
    #[serde(default)]
    pub require_symbols: bool,
    #[serde(default)]
    pub require_numbers: bool,
    #[serde(default)]
    pub require_uppercase: bool,
    #[serde(default)]
    pub require_lowercase: bool,
    #[serde(default = "yes")]
    pub allow_users_to_change: bool,
    /// 1-1,095 days; passwords never expire when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<u32>,
    /// 1-24 previous passwords; no reuse check when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse_prevention: Option<u32>,
    #[serde(default)]
    pub hard_expiry: bool,
}

fn default_minimum_length() -> u32 {
    14
}

/// Alternate contacts set on every targeted account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactsSpec {
    #[serde(default = "Targets::everywhere")]
    pub targets: Targets,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<ContactSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations: Option<ContactSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<ContactSpec>,
}

/// One alternate contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactSpec {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub title: String,
}

/// One IAM role created in every targeted account; the map key is the role name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    pub targets: Targets,
    pub trust: TrustSpec,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Managed policy ARNs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_policies: Vec<String>,
    /// Inline policies: name -> JSON file path or inline document.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inline_policies: BTreeMap<String, DocumentSource>,
    /// 3,600-43,200 seconds.
    #[serde(default = "default_session_duration")]
    pub max_session_duration: u32,
}

fn default_session_duration() -> u32 {
    3600
}

/// Who may assume a role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustSpec {
    /// Account names from the spec, or 12-digit ids of accounts outside it (third parties).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Roles as `account/RoleName`, the account a spec name and the role one this spec defines
    /// (or `organization.access_role`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Service principals such as `ec2.amazonaws.com`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Require `aws:MultiFactorAuthPresent` (roles for humans).
    #[serde(default)]
    pub require_mfa: bool,
    /// Require `sts:ExternalId` (third-party trust).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}
