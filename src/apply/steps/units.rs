//! OU steps: create (adopting one an interrupted run created), rename, delete.

use super::*;

/// `Action::CreateUnit`.
pub(super) async fn create_unit(
    step: &Step<'_>,
    path: &str,
    name: &str,
    parent: &UnitRef,
    tags: &BTreeMap<String, String>,
) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    let clients = step.clients;
    let resolution = step.resolution;
    let parent_id = unit_id(parent, resolution).await?;
    let created = with_retry(&retry, "CreateOrganizationalUnit", || {
        organizations.create_organizational_unit().parent_id(&parent_id).name(name).set_tags(aws_tags(tags).ok()).send()
    })
    .await;
    let id = match created {
        Ok(output) => output.organizational_unit.and_then(|unit| unit.id).context("no OU id returned")?,
        // Created by an earlier, interrupted run: adopt it.
        Err(error) if is_already_exists(&error) => find_unit(clients, &parent_id, name).await?,
        Err(error) => bail!("CreateOrganizationalUnit `{path}` failed: {}", describe(&error)),
    };
    resolution.lock().await.units.insert(path.to_string(), id);
    Ok(())
}

/// `Action::RenameUnit`.
pub(super) async fn rename_unit(step: &Step<'_>, id: &str, name: &Change<String>) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    with_retry(&retry, "UpdateOrganizationalUnit", || {
        organizations.update_organizational_unit().organizational_unit_id(id).name(&name.after).send()
    })
    .await
    .map_err(|error| anyhow!("UpdateOrganizationalUnit `{id}` failed: {}", describe(&error)))?;
    Ok(())
}

/// `Action::DeleteUnit`.
pub(super) async fn delete_unit(step: &Step<'_>, id: &str, path: &str) -> Result<()> {
    let organizations = &step.clients.organizations;
    let retry = RetryPolicy::default();
    match with_retry(&retry, "DeleteOrganizationalUnit", || {
        organizations.delete_organizational_unit().organizational_unit_id(id).send()
    })
    .await
    {
        Ok(_) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(error) => bail!("DeleteOrganizationalUnit `{path}` failed: {}", describe(&error)),
    }
}

pub(super) async fn find_unit(clients: &Clients, parent_id: &str, name: &str) -> Result<String> {
    // Paged by hand: each page is one call through `with_retry` (paced to the Organizations
    // API's rate, retried alone on its throttles), as `live::organization` pages its lists.
    let mut token: Option<String> = None;
    loop {
        let output = with_retry(&RetryPolicy::default(), "ListOrganizationalUnitsForParent", || {
            clients
                .organizations
                .list_organizational_units_for_parent()
                .parent_id(parent_id)
                .set_next_token(token.clone())
                .send()
        })
        .await
        .map_err(|error| anyhow!("ListOrganizationalUnitsForParent failed: {}", describe(&error)))?;
        if let Some(id) =
            output.organizational_units().iter().find(|unit| unit.name() == Some(name)).and_then(|unit| unit.id.clone())
        {
            return Ok(id);
        }
        token = output.next_token;
        if token.is_none() {
            bail!("OU `{name}` reported as existing under `{parent_id}` but not found there");
        }
    }
}
