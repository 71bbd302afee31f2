//! `landing-zone import --out DIR`: write a spec (and policy files) from an existing organization,
//! so that `plan` on it right after shows no changes.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{runtime, GlobalOptions, EXIT_OK};
use crate::baseline::password_policy::read_management_policy;
use crate::live::{read_organization, ReadScope};
use crate::ops::import::{import, to_yaml, RecognisedBaselines};
use crate::ops::plan::connect;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Directory to write `landing-zone.yaml` and `policies/` into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Regions for `organization.regions` (home region first); default: the session's region.
    #[arg(long = "regions", value_delimiter = ',')]
    pub regions: Vec<String>,
}

pub fn run(global: &GlobalOptions, args: &ImportArgs) -> anyhow::Result<u8> {
    let (live, password_policy, region) = runtime()?.block_on(async {
        let clients = connect(&global.connect_options(), None).await;
        // Policies of types not enabled on the root are not imported, so only enabled types are listed.
        let scope = ReadScope { all_tags: true, ..ReadScope::default() };
        let live = read_organization(&clients.organizations, &scope, global.parallelism).await?;
        anyhow::ensure!(
            live.organization.is_some(),
            "the caller's account is not in an organization: nothing to import"
        );
        let password_policy = read_management_policy(&clients).await?;
        let region = clients.organizations.config().region().map(|r| r.to_string());
        Ok::<_, anyhow::Error>((live, password_policy, region))
    })?;
    let regions = if args.regions.is_empty() {
        vec![region.unwrap_or_else(|| "us-east-1".to_string())]
    } else {
        args.regions.clone()
    };
    let imported = import(&live, regions, RecognisedBaselines { password_policy });
    std::fs::create_dir_all(args.out.join("policies")).with_context(|| format!("creating `{}`", args.out.display()))?;
    for (file, document) in &imported.documents {
        let path = args.out.join("policies").join(file);
        std::fs::write(&path, serde_json::to_string_pretty(document)? + "\n")
            .with_context(|| format!("writing `{}`", path.display()))?;
    }
    let spec_path = args.out.join("landing-zone.yaml");
    std::fs::write(&spec_path, to_yaml(&imported.spec)?)
        .with_context(|| format!("writing `{}`", spec_path.display()))?;
    println!(
        "wrote {} ({} OUs pinned, {} accounts, {} policies)",
        spec_path.display(),
        live.units.len(),
        imported.spec.accounts.len(),
        imported.spec.policies.len()
    );
    Ok(EXIT_OK)
}
