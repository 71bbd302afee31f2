//! Security Hub central configuration (`baseline.security_hub.configuration: central`), the mode
//! AWS recommends for organizations: the delegated administrator, in the home region, first turns
//! on cross-Region aggregation with the home region as aggregation region and the spec's other
//! regions linked (`security_hub/finding_aggregator`: central configuration's "home Region" is the
//! aggregation Region, https://docs.aws.amazon.com/securityhub/latest/userguide/start-central-configuration.html,
//! https://docs.aws.amazon.com/securityhub/latest/userguide/aggregation-central-configuration.html),
//! then turns the organization to `CENTRAL` (`security_hub/organization_configuration`), keeps one configuration
//! policy named `landing-zone` with the spec's standards (`security_hub/configuration_policy`) and
//! associates it with the organization root (`security_hub/policy_association`). The policy then
//! enables Security Hub and the standards in every account and linked region, so the per-account
//! `standards` and `members` controls are not planned.
//!
//! It never deletes a policy nor disassociates one; the policy named `landing-zone` is the only
//! one it writes. The `read_*` / `apply_*` functions take the SDK client: moto lacks these
//! operations, so they are tested against recorded responses (tests/testsuite/recorded_responses.rs).

use std::collections::BTreeSet;

use anyhow::{anyhow, bail, Result};
use aws_sdk_securityhub::types::{
    AssociationFilters, AssociationType, AutoEnableStandards, ConfigurationPolicyAssociationStatus,
    OrganizationConfiguration, OrganizationConfigurationConfigurationType, OrganizationConfigurationStatus, Policy,
    SecurityControlsConfiguration, SecurityHubPolicy, Target, TargetType,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::errors;
use crate::baseline::attributes::{decode, encode};
use crate::baseline::aws_error;
use crate::plan::control::ControlKey;

/// The name of the configuration policy landing-zone owns.
pub const POLICY_NAME: &str = "landing-zone";
/// What the association control's `target` says: the organization root (its id is read at apply).
pub const ROOT_TARGET: &str = "root";

/// `security_hub/finding_aggregator`: cross-Region aggregation into the home region.
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_CreateFindingAggregator.html
/// ("can be invoked from the home Region only"); RegionLinkingMode `SPECIFIED_REGIONS` links
/// exactly the Regions listed (new Regions are never linked behind the spec's back), and
/// `NO_REGIONS` is the home Region alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingAggregator {
    /// `FindingAggregationRegion`: the home Region.
    pub home_region: String,
    pub region_linking_mode: String,
    /// The linked Regions, sorted (AWS does not promise an order).
    pub regions: BTreeSet<String>,
}

impl FindingAggregator {
    /// The home region with every other region of the spec linked.
    pub fn desired(home_region: &str, regions: &[String]) -> FindingAggregator {
        let linked: BTreeSet<String> = regions.iter().filter(|region| *region != home_region).cloned().collect();
        let mode = if linked.is_empty() { "NO_REGIONS" } else { "SPECIFIED_REGIONS" };
        FindingAggregator {
            home_region: home_region.to_string(),
            region_linking_mode: mode.to_string(),
            regions: linked,
        }
    }
}

/// `security_hub/organization_configuration` under central configuration.
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_UpdateOrganizationConfiguration.html:
/// under `CENTRAL`, `AutoEnable` "is set to false and can't be changed" and `AutoEnableStandards`
/// must be `NONE`; the configuration policy enables accounts instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralOrganization {
    /// `CENTRAL` once AWS reports it ENABLED or PENDING; otherwise the type and status read
    /// (`LOCAL`, `CENTRAL (FAILED: ...)`), so the plan shows the change still to make.
    pub configuration_type: String,
    pub auto_enable: bool,
    pub auto_enable_standards: String,
}

impl CentralOrganization {
    pub fn desired() -> CentralOrganization {
        CentralOrganization {
            configuration_type: "CENTRAL".to_string(),
            auto_enable: false,
            auto_enable_standards: "NONE".to_string(),
        }
    }
}

/// `security_hub/configuration_policy`: the policy named `landing-zone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigurationPolicy {
    pub name: String,
    pub service_enabled: bool,
    /// Standard ARNs, sorted (AWS does not promise an order).
    pub enabled_standards: BTreeSet<String>,
    /// Security control ids disabled by the policy (none: every control of the standards runs,
    /// new ones included).
    pub disabled_controls: BTreeSet<String>,
}

/// `security_hub/policy_association`: which policy is applied to the organization root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyAssociation {
    /// The policy's name (or the id AWS returned when no listed policy has it, or
    /// `SELF_MANAGED_SECURITY_HUB`); a FAILED association reads as `NAME (FAILED: ...)`.
    pub policy: String,
    pub target: String,
}

// ---- organization configuration ----

/// The organization's configuration type as the delegated administrator sees it; None while the
/// account is not (yet) the administrator.
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_DescribeOrganizationConfiguration.html
pub async fn read_central_organization(client: &aws_sdk_securityhub::Client) -> Result<Option<Value>> {
    let configuration = match client.describe_organization_configuration().send().await {
        Ok(configuration) => configuration,
        Err(error) if errors::is_not_security_hub_administrator(&error) => return Ok(None),
        Err(error) => return Err(aws_error("DescribeOrganizationConfiguration", error)),
    };
    let organization = configuration.organization_configuration.as_ref();
    let kind = organization.and_then(|o| o.configuration_type.as_ref()).map_or("LOCAL", |kind| kind.as_str());
    // https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_OrganizationConfiguration.html:
    // Status PENDING | ENABLED | FAILED, with StatusMessage explaining a failure.
    let status = organization.and_then(|o| o.status.as_ref());
    let configuration_type = match status {
        Some(OrganizationConfigurationStatus::Failed) => {
            let message = organization.and_then(|o| o.status_message.as_deref()).unwrap_or("no message");
            format!("{kind} (FAILED: {message})")
        }
        _ => kind.to_string(),
    };
    Ok(Some(encode(&CentralOrganization {
        configuration_type,
        auto_enable: configuration.auto_enable.unwrap_or(false),
        auto_enable_standards: configuration
            .auto_enable_standards
            .map_or_else(|| "NONE".to_string(), |standards| standards.as_str().to_string()),
    })))
}

/// Turns the organization to central configuration: AutoEnable false, no default standards.
pub async fn apply_central_organization(
    client: &aws_sdk_securityhub::Client,
    key: &ControlKey,
    attributes: &Value,
) -> Result<()> {
    let wanted: CentralOrganization = decode(key, attributes)?;
    if wanted != CentralOrganization::desired() {
        bail!("`{}`: central configuration is CENTRAL, AutoEnable false, AutoEnableStandards NONE", key.label());
    }
    client
        .update_organization_configuration()
        .auto_enable(false)
        .auto_enable_standards(AutoEnableStandards::None)
        .organization_configuration(
            OrganizationConfiguration::builder()
                .configuration_type(OrganizationConfigurationConfigurationType::Central)
                .build(),
        )
        .send()
        .await
        .map_err(|error| {
            aws_error("UpdateOrganizationConfiguration", error).context(
                "turning Security Hub to central configuration failed\nhint: central configuration needs cross-Region aggregation in the home region first: the `security_hub/finding_aggregator` control creates it",
            )
        })?;
    Ok(())
}

// ---- finding aggregator ----

/// ARN and content of the account's finding aggregator (an account has at most one), read
/// through every page of ListFindingAggregators and GetFindingAggregator; None without one, or
/// while the account has no hub (InvalidAccessException).
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_ListFindingAggregators.html
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_GetFindingAggregator.html
async fn find_aggregator(client: &aws_sdk_securityhub::Client) -> Result<Option<(String, FindingAggregator)>> {
    let mut pages = client.list_finding_aggregators().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(error) if errors::is_invalid_access(&error) || errors::is_access_denied(&error) => return Ok(None),
            Err(error) => return Err(aws_error("ListFindingAggregators", error)),
        };
        let Some(arn) = page.finding_aggregators().iter().find_map(|aggregator| aggregator.finding_aggregator_arn())
        else {
            continue;
        };
        let found = client
            .get_finding_aggregator()
            .finding_aggregator_arn(arn)
            .send()
            .await
            .map_err(|error| aws_error("GetFindingAggregator", error))?;
        let aggregator = FindingAggregator {
            home_region: found.finding_aggregation_region().unwrap_or_default().to_string(),
            region_linking_mode: found.region_linking_mode().unwrap_or_default().to_string(),
            regions: found.regions().iter().cloned().collect(),
        };
        return Ok(Some((arn.to_string(), aggregator)));
    }
    Ok(None)
}

pub async fn read_finding_aggregator(client: &aws_sdk_securityhub::Client) -> Result<Option<Value>> {
    Ok(find_aggregator(client).await?.map(|(_, aggregator)| encode(&aggregator)))
}

/// Creates the aggregator, or updates the one there (read afresh) to link the spec's regions.
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_UpdateFindingAggregator.html
/// (called from the aggregation Region; another home Region cannot be changed in place).
pub async fn apply_finding_aggregator(
    client: &aws_sdk_securityhub::Client,
    key: &ControlKey,
    attributes: &Value,
) -> Result<()> {
    let wanted: FindingAggregator = decode(key, attributes)?;
    let regions = (!wanted.regions.is_empty()).then(|| wanted.regions.iter().cloned().collect::<Vec<_>>());
    match find_aggregator(client).await? {
        Some((_, current)) if current.home_region != wanted.home_region => bail!(
            "the Security Hub finding aggregator of `{}` aggregates into {}, not the home region {}\nhint: central configuration uses the aggregation region as its home region; delete that aggregator (`aws securityhub delete-finding-aggregator --region {}`) or list {} first in `organization.regions`",
            key.account,
            current.home_region,
            wanted.home_region,
            current.home_region,
            current.home_region
        ),
        Some((arn, _)) => {
            client
                .update_finding_aggregator()
                .finding_aggregator_arn(arn)
                .region_linking_mode(&wanted.region_linking_mode)
                .set_regions(regions)
                .send()
                .await
                .map_err(|error| aws_error("UpdateFindingAggregator", error))?;
        }
        None => {
            client
                .create_finding_aggregator()
                .region_linking_mode(&wanted.region_linking_mode)
                .set_regions(regions)
                .send()
                .await
                .map_err(|error| aws_error("CreateFindingAggregator", error))?;
        }
    }
    Ok(())
}

// ---- configuration policy ----

/// Id of the policy named `name`, following every page of ListConfigurationPolicies.
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_ListConfigurationPolicies.html
pub async fn find_policy(client: &aws_sdk_securityhub::Client, name: &str) -> Result<Option<String>> {
    Ok(list_policies(client).await?.into_iter().find(|(_, policy)| policy == name).map(|(id, _)| id))
}

/// (id, name) of every configuration policy.
async fn list_policies(client: &aws_sdk_securityhub::Client) -> Result<Vec<(String, String)>> {
    let mut policies = Vec::new();
    let mut pages = client.list_configuration_policies().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| aws_error("ListConfigurationPolicies", error))?;
        for summary in page.configuration_policy_summaries.unwrap_or_default() {
            if let (Some(id), Some(name)) = (summary.id, summary.name) {
                policies.push((id, name));
            }
        }
    }
    Ok(policies)
}

/// The policy named in `desired` as a `ConfigurationPolicy`; None when there is none, or while
/// the account is not the administrator / the organization is not central (AccessDenied).
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_GetConfigurationPolicy.html
pub async fn read_configuration_policy(
    client: &aws_sdk_securityhub::Client,
    key: &ControlKey,
    desired: &Value,
) -> Result<Option<Value>> {
    let wanted: ConfigurationPolicy = decode(key, desired)?;
    let id = match find_policy(client, &wanted.name).await {
        Ok(Some(id)) => id,
        Ok(None) => return Ok(None),
        Err(error) if refused(&error) => return Ok(None),
        Err(error) => return Err(error),
    };
    let policy = client
        .get_configuration_policy()
        .identifier(&id)
        .send()
        .await
        .map_err(|error| aws_error("GetConfigurationPolicy", error))?;
    let Some(Policy::SecurityHub(hub)) = policy.configuration_policy else {
        bail!("configuration policy `{}` ({id}) is not a Security Hub policy this version can read", wanted.name);
    };
    let controls = hub.security_controls_configuration;
    let mut disabled: BTreeSet<String> = controls
        .as_ref()
        .and_then(|c| c.disabled_security_control_identifiers.clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    // An allow-list policy (EnabledSecurityControlIdentifiers) disables every control it does not
    // list, new ones included: shown as a marker so the plan rewrites it with the disable-list form.
    if controls.as_ref().is_some_and(|c| c.enabled_security_control_identifiers.is_some()) {
        disabled.insert("(every control not in EnabledSecurityControlIdentifiers)".to_string());
    }
    Ok(Some(encode(&ConfigurationPolicy {
        name: policy.name.unwrap_or(wanted.name),
        service_enabled: hub.service_enabled.unwrap_or(false),
        enabled_standards: hub.enabled_standard_identifiers.unwrap_or_default().into_iter().collect(),
        disabled_controls: disabled,
    })))
}

/// Creates the policy, or replaces its content when one of that name exists (read afresh, so an
/// interrupted run's policy is updated rather than duplicated).
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_CreateConfigurationPolicy.html
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_UpdateConfigurationPolicy.html
/// ("provide a complete list of standards ... The updated configuration replaces the current").
pub async fn apply_configuration_policy(
    client: &aws_sdk_securityhub::Client,
    key: &ControlKey,
    attributes: &Value,
) -> Result<()> {
    let wanted: ConfigurationPolicy = decode(key, attributes)?;
    let policy = Policy::SecurityHub(
        SecurityHubPolicy::builder()
            .service_enabled(wanted.service_enabled)
            .set_enabled_standard_identifiers(Some(wanted.enabled_standards.iter().cloned().collect()))
            .security_controls_configuration(
                SecurityControlsConfiguration::builder()
                    .set_disabled_security_control_identifiers(Some(wanted.disabled_controls.iter().cloned().collect()))
                    .build(),
            )
            .build(),
    );
    let description = "Managed by landing-zone: Security Hub and the spec's standards in every account";
    match find_policy(client, &wanted.name).await? {
        Some(id) => {
            client
                .update_configuration_policy()
                .identifier(id)
                .name(&wanted.name)
                .description(description)
                .updated_reason("landing-zone apply")
                .configuration_policy(policy)
                .send()
                .await
                .map_err(|error| aws_error("UpdateConfigurationPolicy", error))?;
        }
        None => {
            client
                .create_configuration_policy()
                .name(&wanted.name)
                .description(description)
                .configuration_policy(policy)
                .send()
                .await
                .map_err(|error| aws_error("CreateConfigurationPolicy", error))?;
        }
    }
    Ok(())
}

// ---- association with the root ----

/// The policy applied to the organization root (by name); None without an applied association.
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_ListConfigurationPolicyAssociations.html
/// (Filters.AssociationType APPLIED; summaries carry TargetType ROOT, AssociationStatus).
pub async fn read_policy_association(client: &aws_sdk_securityhub::Client) -> Result<Option<Value>> {
    let mut pages = client
        .list_configuration_policy_associations()
        .filters(AssociationFilters::builder().association_type(AssociationType::Applied).build())
        .into_paginator()
        .send();
    let mut root = None;
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(error) if errors::is_invalid_access(&error) || errors::is_access_denied(&error) => return Ok(None),
            Err(error) => return Err(aws_error("ListConfigurationPolicyAssociations", error)),
        };
        let found = page
            .configuration_policy_association_summaries
            .unwrap_or_default()
            .into_iter()
            .find(|summary| summary.target_type == Some(TargetType::Root));
        if found.is_some() {
            root = found;
            break;
        }
    }
    let Some(root) = root else { return Ok(None) };
    let id = root.configuration_policy_id.unwrap_or_default();
    let name = list_policies(client).await?.into_iter().find(|(policy, _)| policy == &id).map_or(id, |(_, n)| n);
    let policy = match root.association_status {
        Some(ConfigurationPolicyAssociationStatus::Failed) => {
            let message = root.association_status_message.as_deref().unwrap_or("no message");
            format!("{name} (FAILED: {message})")
        }
        _ => name,
    };
    Ok(Some(encode(&PolicyAssociation { policy, target: ROOT_TARGET.to_string() })))
}

/// Associates the named policy with the root `root_id` (Organizations `ListRoots`).
/// https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_StartConfigurationPolicyAssociation.html
pub async fn apply_policy_association(
    client: &aws_sdk_securityhub::Client,
    key: &ControlKey,
    root_id: &str,
    attributes: &Value,
) -> Result<()> {
    let wanted: PolicyAssociation = decode(key, attributes)?;
    if wanted.target != ROOT_TARGET {
        bail!("`{}`: only the organization root is a supported target, not `{}`", key.label(), wanted.target);
    }
    let id = find_policy(client, &wanted.policy).await?.ok_or_else(|| {
        anyhow!(
            "no Security Hub configuration policy named `{}` to associate with the root\nhint: the `security_hub/configuration_policy` control creates it; run `landing-zone apply` again",
            wanted.policy
        )
    })?;
    client
        .start_configuration_policy_association()
        .configuration_policy_identifier(id)
        .target(Target::RootId(root_id.to_string()))
        .send()
        .await
        .map_err(|error| aws_error("StartConfigurationPolicyAssociation", error))?;
    Ok(())
}

/// "Not the administrator" / "not central yet": the control reads as absent.
fn refused(error: &anyhow::Error) -> bool {
    errors::is_not_security_hub_administrator_code(errors::failure_code(error))
}
