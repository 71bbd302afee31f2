//! `landing-zone import --out DIR`: write a spec (and policy files) from an existing organization,
//! so that `plan` on it right after shows no changes.
//!
//! Files that exist are never overwritten without `--force`: the check runs before anything is
//! written (so a refusal writes nothing), and each file is then created with `create_new`, so a
//! file that appears in between is refused too.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use super::{runtime, write_stderr, write_stdout, GlobalOptions, EXIT_OK};
use crate::baseline::import::{import_sections, ImportScope};
use crate::live::{read_organization, ReadScope};
use crate::ops::import::{account_names, import, to_yaml, RecognisedBaselines};
use crate::ops::plan::connect;
use crate::plan::control::KnownIds;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    Text,
    /// One JSON document on stdout: the files written and what the spec holds.
    Json,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[arg(long, value_enum, default_value_t = ImportFormat::Text)]
    pub format: ImportFormat,
    /// Directory to write `landing-zone.yaml` and `policies/` into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Regions for `organization.regions` (home region first); default: the session's region.
    #[arg(long = "regions", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Overwrite `landing-zone.yaml` and policy files that already exist in `--out`.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub access: super::AwsAccessArgs,
    #[command(flatten)]
    pub region: super::RegionArgs,
    #[command(flatten)]
    pub concurrency: super::ConcurrencyArgs,
}

/// Whether anything (a file, a directory, a symlink even if dangling) is at `path`.
fn occupied(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Refuses when any of `paths` exists, naming them all.
fn refuse_existing(paths: &[PathBuf]) -> anyhow::Result<()> {
    let existing: Vec<String> =
        paths.iter().filter(|path| occupied(path)).map(|path| format!("`{}`", path.display())).collect();
    if existing.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to overwrite {}; nothing was written\nhint: choose another `--out` directory, or pass --force to overwrite",
        existing.join(", ")
    )
}

fn write_file(path: &Path, contents: &str, force: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    if force {
        options.write(true).create(true).truncate(true);
    } else {
        options.write(true).create_new(true);
    }
    let mut file = options.open(path).with_context(|| format!("writing `{}`", path.display()))?;
    file.write_all(contents.as_bytes()).with_context(|| format!("writing `{}`", path.display()))
}

/// How many sections `baseline:` has.
fn baseline_sections(baseline: &crate::spec::BaselineSpec) -> usize {
    serde_json::to_value(baseline).ok().and_then(|value| value.as_object().map(serde_json::Map::len)).unwrap_or(0)
}

pub fn run(global: &GlobalOptions, args: &ImportArgs) -> anyhow::Result<u8> {
    let spec_path = args.out.join("landing-zone.yaml");
    // Fails before reading the organization when the spec itself is in the way.
    if !args.force {
        refuse_existing(std::slice::from_ref(&spec_path))?;
    }
    let (live, baselines, regions) = runtime()?.block_on(async {
        let clients = connect(&global.connect_options(), None).await?;
        // Policies of types not enabled on the root are not imported, so only enabled types are listed.
        let scope = ReadScope { all_tags: true, ..ReadScope::default() };
        let mut live = read_organization(&clients.organizations, &scope, global.parallelism).await?;
        anyhow::ensure!(
            live.organization.is_some(),
            "the caller's account is not in an organization: nothing to import"
        );
        if let Some(organization) = &live.organization {
            clients.sessions.set_management_account(&organization.management_account_id).await;
        }
        crate::ops::plan::read_root_access(&clients, &mut live).await?;
        let regions = if args.regions.is_empty() {
            vec![clients.organizations.config().region().map_or_else(|| "us-east-1".to_string(), |r| r.to_string())]
        } else {
            args.regions.clone()
        };
        // Every baseline reads what it finds live, under the names the spec will give the accounts.
        let names = account_names(&live);
        let account_units = live
            .accounts
            .values()
            .filter_map(|account| {
                let unit = live.path_of(&account.parent_id).unwrap_or_else(|| crate::spec::ROOT.to_string());
                names.get(&account.id).map(|name| (name.clone(), unit))
            })
            .collect();
        let management = live.organization.as_ref().and_then(|org| names.get(&org.management_account_id)).cloned();
        let accounts: std::collections::BTreeMap<String, String> =
            names.into_iter().map(|(id, name)| (name, id)).collect();
        let ids = KnownIds {
            accounts: accounts.clone(),
            organization: live.organization.as_ref().map(|organization| organization.id.clone()),
        };
        // Shared by the baselines' imports: what several need (the organization trail, the bunker)
        // is read once.
        let reads = crate::baseline::reads::RunReads::new(std::collections::BTreeSet::new());
        let context = crate::baseline::Context { sessions: &clients.sessions, ids: &ids, reads: Some(&reads) };
        let scope = ImportScope {
            accounts,
            management,
            account_units,
            regions: regions.clone(),
            trusted_services: live.trusted_services.clone(),
            delegated_administrators: live.delegated_administrators.clone(),
            containers: live
                .root
                .iter()
                .map(|root| root.id.clone())
                .chain(live.units.keys().cloned())
                .filter_map(|id| live.path_of(&id).map(|path| (id, path)))
                .collect(),
            policies: live.policies.values().filter(|policy| !policy.aws_managed).cloned().collect(),
        };
        let imported = import_sections(&context, &scope).await?;
        for note in &imported.notes {
            write_stderr(&format!("note: {}", crate::plan::escape::inline(note)));
        }
        let recognised = RecognisedBaselines {
            baseline: imported.baseline,
            top_level: imported.top_level,
            documents: imported.documents,
            organization_policies: imported.organization_policies,
        };
        Ok::<_, anyhow::Error>((live, recognised, regions))
    })?;
    let imported = import(&live, regions, baselines)?;
    let mut files = vec![(spec_path.clone(), to_yaml(&imported.spec)?)];
    for (file, document) in &imported.documents {
        files.push((args.out.join("policies").join(file), serde_json::to_string_pretty(document)? + "\n"));
    }
    if !args.force {
        refuse_existing(&files.iter().map(|(path, _)| path.clone()).collect::<Vec<_>>())?;
    }
    std::fs::create_dir_all(args.out.join("policies")).with_context(|| format!("creating `{}`", args.out.display()))?;
    // Policy files first: a spec is only written once everything it points to is there.
    for (path, contents) in files.iter().skip(1).chain(files.iter().take(1)) {
        write_file(path, contents, args.force)?;
    }
    if args.format == ImportFormat::Json {
        let sections: Vec<String> = serde_json::to_value(&imported.spec.baseline)?
            .as_object()
            .map(|sections| sections.keys().cloned().collect())
            .unwrap_or_default();
        let document = serde_json::json!({
            "spec": spec_path.display().to_string(),
            "files": files.iter().map(|(path, _)| path.display().to_string()).collect::<Vec<_>>(),
            "units": live.units.len(),
            "accounts": imported.spec.accounts.len(),
            "policies": imported.spec.policies.len(),
            "baseline_sections": sections,
            "permission_sets": imported.spec.identity_center.as_ref().map_or(0, |section| section.permission_sets.len()),
        });
        write_stdout(&(serde_json::to_string_pretty(&document)? + "\n"))?;
        return Ok(EXIT_OK);
    }
    write_stdout(&format!(
        "wrote {} ({} OUs pinned, {} accounts, {} policies, {} baseline sections, {} permission sets)\n",
        crate::plan::escape::inline(&spec_path.display().to_string()),
        live.units.len(),
        imported.spec.accounts.len(),
        imported.spec.policies.len(),
        baseline_sections(&imported.spec.baseline),
        imported.spec.identity_center.as_ref().map_or(0, |section| section.permission_sets.len())
    ))?;
    Ok(EXIT_OK)
}
