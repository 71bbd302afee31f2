//! Policy steps: create (adopting one an interrupted run created), update, delete, attach, detach.

use super::*;

/// `Action::CreatePolicy`.
pub(super) async fn create_policy(
    step: &Step<'_>,
    name: &str,
    policy_type: &PolicyType,
    description: &str,
    document: &Value,
    tags: &BTreeMap<String, String>,
) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    let clients = step.clients;
    let resolution = step.resolution;
    // A generated document may name an account created earlier in this apply (the backup
    // policy's bunker vault): its id is known now.
    let document = {
        let resolution = resolution.lock().await;
        let ids = KnownIds { accounts: resolution.accounts.clone(), organization: resolution.organization_id.clone() };
        resolve(document, &ids)
    };
    if has_placeholders(&document) {
        bail!("policy `{name}`: an id it refers to is still unknown: {document}");
    }
    let content = document.to_string();
    let created = with_retry(&retry, "CreatePolicy", || {
        organizations
            .create_policy()
            .name(name)
            .r#type(AwsPolicyType::from(policy_type.as_aws()))
            .description(description)
            .content(&content)
            .set_tags(aws_tags(tags).ok())
            .send()
    })
    .await;
    let id = match created {
        Ok(output) => output
            .policy
            .and_then(|policy| policy.policy_summary)
            .and_then(|summary| summary.id)
            .context("CreatePolicy returned no id")?,
        Err(error) if is_already_exists(&error) => find_policy(clients, *policy_type, name).await?,
        Err(error) => bail!("CreatePolicy `{name}` failed: {}", describe(&error)),
    };
    resolution.lock().await.policies.insert(name.to_string(), id);
    Ok(())
}

/// `Action::UpdatePolicy`.
pub(super) async fn update_policy(
    step: &Step<'_>,
    id: &str,
    name: &str,
    description: &Option<Change<String>>,
    document: &Option<Change<Value>>,
) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    let content = document.as_ref().map(|change| change.after.to_string());
    let description = description.as_ref().map(|change| change.after.clone());
    with_retry(&retry, "UpdatePolicy", || {
        organizations
            .update_policy()
            .policy_id(id)
            .set_content(content.clone())
            .set_description(description.clone())
            .send()
    })
    .await
    .map_err(|error| anyhow!("UpdatePolicy `{name}` failed: {}", describe(&error)))?;
    Ok(())
}

/// `Action::DeletePolicy`.
pub(super) async fn delete_policy(step: &Step<'_>, id: &str, name: &str) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    match with_retry(&retry, "DeletePolicy", || organizations.delete_policy().policy_id(id).send()).await {
        Ok(_) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => bail!("DeletePolicy `{name}` failed: {}", describe(&error)),
    }
}

/// `Action::AttachPolicy`.
pub(super) async fn attach_policy(step: &Step<'_>, policy: &PolicyRef, target: &TargetRef) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    let resolution = step.resolution;
    let policy_id = policy_id(policy, resolution).await?;
    let target_id = target_id(target, resolution).await?;
    match with_retry(&retry, "AttachPolicy", || {
        organizations.attach_policy().policy_id(&policy_id).target_id(&target_id).send()
    })
    .await
    {
        Ok(_) => Ok(()),
        Err(error) if is_already_exists(&error) => Ok(()),
        Err(error) => {
            bail!("AttachPolicy `{}` to {} failed: {}", policy.name(), target.label(), describe(&error))
        }
    }
}

/// `Action::DetachPolicy`.
pub(super) async fn detach_policy(step: &Step<'_>, policy: &PolicyRef, target: &TargetRef) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    let resolution = step.resolution;
    let policy_id = policy_id(policy, resolution).await?;
    let target_id = target_id(target, resolution).await?;
    match with_retry(&retry, "DetachPolicy", || {
        organizations.detach_policy().policy_id(&policy_id).target_id(&target_id).send()
    })
    .await
    {
        Ok(_) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => {
            bail!("DetachPolicy `{}` from {} failed: {}", policy.name(), target.label(), describe(&error))
        }
    }
}

pub(super) async fn find_policy(clients: &Clients, policy_type: PolicyType, name: &str) -> Result<String> {
    // Paged by hand: each page is one call through `with_retry` (paced to the Organizations
    // API's rate, retried alone on its throttles), as `live::organization` pages its lists.
    let mut token: Option<String> = None;
    loop {
        let output = with_retry(&RetryPolicy::default(), "ListPolicies", || {
            clients
                .organizations
                .list_policies()
                .filter(AwsPolicyType::from(policy_type.as_aws()))
                .set_next_token(token.clone())
                .send()
        })
        .await
        .map_err(|error| anyhow!("ListPolicies failed: {}", describe(&error)))?;
        if let Some(id) =
            output.policies().iter().find(|policy| policy.name() == Some(name)).and_then(|policy| policy.id.clone())
        {
            return Ok(id);
        }
        token = output.next_token;
        if token.is_none() {
            bail!("policy `{name}` reported as existing but not found");
        }
    }
}
