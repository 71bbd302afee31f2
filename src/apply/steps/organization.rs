//! Organization-level steps: create the organization, enable policy types and trusted access,
//! register delegated administrators, turn on centralized root access, tag roots, OUs and accounts.

use super::*;

pub(super) const POLICY_TYPE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// `Action::CreateOrganization`.
pub(super) async fn create_organization(step: &Step<'_>, management_account: &Option<String>) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    let clients = step.clients;
    let resolution = step.resolution;
    let created = with_retry(&retry, "CreateOrganization", || {
        organizations
            .create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
    })
    .await;
    if let Err(error) = created {
        if !is_already_exists(&error) {
            bail!("CreateOrganization failed: {}", describe(&error));
        }
    }
    let organization = with_retry(&retry, "DescribeOrganization", || organizations.describe_organization().send())
        .await
        .map_err(|error| anyhow!("DescribeOrganization failed: {}", describe(&error)))?
        .organization
        .context("DescribeOrganization returned nothing")?;
    let roots = with_retry(&retry, "ListRoots", || organizations.list_roots().send())
        .await
        .map_err(|error| anyhow!("ListRoots failed: {}", describe(&error)))?;
    let root_id = roots.roots().first().and_then(|root| root.id.clone()).context("no root")?;
    if let Some(id) = &organization.master_account_id {
        clients.sessions.set_management_account(id).await;
    }
    let mut resolution = resolution.lock().await;
    resolution.root_id = Some(root_id);
    resolution.organization_id = organization.id.clone();
    if let (Some(name), Some(id)) = (management_account, organization.master_account_id) {
        resolution.accounts.insert(name.to_string(), id);
    }
    Ok(())
}

/// `Action::EnablePolicyType`.
pub(super) async fn enable_policy_type(step: &Step<'_>, policy_type: &PolicyType) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    let clients = step.clients;
    let resolution = step.resolution;
    let root = unit_id(&UnitRef::Planned { path: ROOT.to_string() }, resolution).await;
    let root = match root {
        Ok(root) => root,
        Err(_) => current_root(clients).await?,
    };
    let enabled = with_retry(&retry, "EnablePolicyType", || {
        organizations.enable_policy_type().root_id(&root).policy_type(AwsPolicyType::from(policy_type.as_aws())).send()
    })
    .await;
    if let Err(error) = enabled {
        if !is_already_exists(&error) {
            bail!("EnablePolicyType {policy_type} failed: {}", describe(&error));
        }
    }
    wait_for_policy_type(clients, *policy_type).await
}

/// `Action::EnableServiceAccess`.
pub(super) async fn enable_service_access(step: &Step<'_>, service: &str) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    with_retry(&retry, "EnableAWSServiceAccess", || {
        organizations.enable_aws_service_access().service_principal(service).send()
    })
    .await
    .map_err(|error| anyhow!("EnableAWSServiceAccess {service} failed: {}", describe(&error)))?;
    Ok(())
}

/// `Action::RegisterDelegatedAdministrator`.
pub(super) async fn register_delegated_administrator(
    step: &Step<'_>,
    service: &str,
    account: &AccountRef,
) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    let resolution = step.resolution;
    let account = account_id(account, resolution).await?;
    let registered = with_retry(&retry, "RegisterDelegatedAdministrator", || {
        organizations.register_delegated_administrator().account_id(&account).service_principal(service).send()
    })
    .await;
    match registered {
        Ok(_) => Ok(()),
        Err(error) if is_already_exists(&error) => Ok(()),
        Err(error) => bail!("RegisterDelegatedAdministrator {service} failed: {}", describe(&error)),
    }
}

/// `Action::UpdateTags`.
pub(super) async fn update_tags(
    step: &Step<'_>,
    resource_id: &str,
    resource: &str,
    tags: &Change<BTreeMap<String, String>>,
) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    let resolution = step.resolution;
    // The management account of an organization this apply created is named by placeholder.
    let resource_id = &if resource_id.contains("{{") {
        let resolution = resolution.lock().await;
        let ids = KnownIds { accounts: resolution.accounts.clone(), organization: resolution.organization_id.clone() };
        crate::plan::control::resolve(&serde_json::Value::String(resource_id.to_string()), &ids)
            .as_str()
            .unwrap_or_default()
            .to_string()
    } else {
        resource_id.to_string()
    };
    let removed: Vec<String> = tags.before.keys().filter(|key| !tags.after.contains_key(*key)).cloned().collect();
    if !removed.is_empty() {
        with_retry(&retry, "UntagResource", || {
            organizations.untag_resource().resource_id(resource_id).set_tag_keys(Some(removed.clone())).send()
        })
        .await
        .map_err(|error| anyhow!("UntagResource {resource} failed: {}", describe(&error)))?;
    }
    let changed: BTreeMap<String, String> = tags
        .after
        .iter()
        .filter(|(key, value)| tags.before.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if !changed.is_empty() {
        let aws = aws_tags(&changed)?;
        with_retry(&retry, "TagResource", || {
            organizations.tag_resource().resource_id(resource_id).set_tags(Some(aws.clone())).send()
        })
        .await
        .map_err(|error| anyhow!("TagResource {resource} failed: {}", describe(&error)))?;
    }
    Ok(())
}

/// EnablePolicyType can leave the type PENDING_ENABLE for a while; attachments must wait.
pub(super) async fn wait_for_policy_type(clients: &Clients, policy_type: PolicyType) -> Result<()> {
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        let roots = with_retry(&RetryPolicy::default(), "ListRoots", || clients.organizations.list_roots().send())
            .await
            .map_err(|error| anyhow!("ListRoots failed: {}", describe(&error)))?;
        let status = roots
            .roots()
            .first()
            .map(|root| root.policy_types())
            .unwrap_or_default()
            .iter()
            .find(|summary| summary.r#type().map(|t| t.as_str()) == Some(policy_type.as_aws()))
            .and_then(|summary| summary.status().cloned());
        if status == Some(PolicyTypeStatus::Enabled) {
            return Ok(());
        }
        if started.elapsed() > POLICY_TYPE_TIMEOUT {
            let status = status.as_ref().map_or("not listed on the root", PolicyTypeStatus::as_str);
            bail!("policy type {policy_type} is still {status} after {} s", POLICY_TYPE_TIMEOUT.as_secs());
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// `Action::EnableRootAccessFeature`: IAM's `EnableOrganizationsRootCredentialsManagement` /
/// `EnableOrganizationsRootSessions`, with the caller's credentials in the management account
/// (the plan enabled trusted access for `iam.amazonaws.com` first). Enabling an enabled feature
/// answers with the enabled features, so a retry after a lost answer is harmless.
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableOrganizationsRootCredentialsManagement.html
/// https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableOrganizationsRootSessions.html
pub(super) async fn enable_root_access_feature(step: &Step<'_>, feature: &str) -> Result<()> {
    let sessions = &step.clients.sessions;
    let management = sessions.management_account().await.context("the management account is not known yet")?;
    let iam = sessions.client::<aws_sdk_iam::Client>(&management, None).await;
    let hint = "\nhint: centralized root access needs an organization with all features and trusted access for `iam.amazonaws.com`, called from the management account";
    match feature {
        crate::spec::ROOT_CREDENTIALS_MANAGEMENT => {
            iam.enable_organizations_root_credentials_management().send().await.map_err(|error| {
                anyhow!("EnableOrganizationsRootCredentialsManagement failed: {}{hint}", describe(&error))
            })?;
        }
        crate::spec::ROOT_SESSIONS => {
            iam.enable_organizations_root_sessions()
                .send()
                .await
                .map_err(|error| anyhow!("EnableOrganizationsRootSessions failed: {}{hint}", describe(&error)))?;
        }
        other => bail!("unknown root access feature `{other}`"),
    }
    Ok(())
}
