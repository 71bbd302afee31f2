//! `landing-zone init`: write a starter spec (with the line that points editors at the schema),
//! the schema itself and a policies folder, all of which validate as written. Offline; files that
//! exist are never overwritten without `--force`, and nothing is written when one would be.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use super::{GlobalOptions, EXIT_OK};

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub spec: super::SpecFileArgs,
    /// Overwrite the spec, schema and policy files that already exist.
    #[arg(long)]
    pub force: bool,
}

/// Where the starter spec points yaml-language-server (VS Code, Neovim, Helix...) for completion.
const SCHEMA_FILE: &str = "landing-zone.schema.json";
const POLICY_FILE: &str = "policies/deny-leave-organization.json";

const STARTER_SPEC: &str = r#"# yaml-language-server: $schema=./landing-zone.schema.json
#
# A starter landing zone: replace the emails with your own, then `landing-zone plan`.
# Every key is described in docs/spec.md; `landing-zone validate` checks this file offline.
version: 1

organization:
  feature_set: ALL
  policy_types: [SERVICE_CONTROL_POLICY]
  access_role: OrganizationAccountAccessRole
  management_account: management
  # Home region first.
  regions: [us-east-1]

units:
  Security: {}
  Workloads:
    units:
      Prod: {}
      Dev: {}

accounts:
  management: { email: aws-root@example.com, unit: Root }
  security: { email: aws+security@example.com, unit: Security }
  app-prod: { email: aws+app-prod@example.com, unit: Workloads/Prod }
  app-dev: { email: aws+app-dev@example.com, unit: Workloads/Dev }

policies:
  deny-leave-organization:
    description: Member accounts cannot leave the organization
    document: policies/deny-leave-organization.json
    targets: { units: [Root] }

baseline:
  s3_block_public_access: { targets: { units: [Root] } }
  password_policy: { minimum_length: 14, require_symbols: true, require_numbers: true }
"#;

const STARTER_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "DenyLeaveOrganization",
      "Effect": "Deny",
      "Action": "organizations:LeaveOrganization",
      "Resource": "*"
    }
  ]
}
"#;

pub fn run(global: &GlobalOptions, args: &InitArgs) -> anyhow::Result<u8> {
    let spec = global.file.clone();
    let dir = match spec.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let schema = serde_json::to_string_pretty(&crate::spec::json_schema())? + "\n";
    let files: [(PathBuf, &str); 3] =
        [(spec.clone(), STARTER_SPEC), (dir.join(SCHEMA_FILE), &schema), (dir.join(POLICY_FILE), STARTER_POLICY)];
    if !args.force {
        let existing: Vec<String> = files
            .iter()
            .filter(|(path, _)| std::fs::symlink_metadata(path).is_ok())
            .map(|(path, _)| format!("`{}`", path.display()))
            .collect();
        if !existing.is_empty() {
            anyhow::bail!(
                "refusing to overwrite {}; nothing was written\nhint: pass --force to overwrite, or `-f OTHER.yaml` to write elsewhere",
                existing.join(", ")
            );
        }
    }
    std::fs::create_dir_all(dir.join("policies"))
        .with_context(|| format!("creating `{}`", dir.join("policies").display()))?;
    for (path, contents) in &files {
        write_file(path, contents, args.force)?;
    }
    eprintln!(
        "wrote {}, {} and {}\nhint: replace the example emails, then run `landing-zone validate` and `landing-zone plan`",
        spec.display(),
        dir.join(SCHEMA_FILE).display(),
        dir.join(POLICY_FILE).display()
    );
    Ok(EXIT_OK)
}

fn write_file(path: &Path, contents: &str, force: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    if force {
        options.write(true).create(true).truncate(true);
    } else {
        // Checked above, and again here: a file that appears in between is not clobbered.
        options.write(true).create_new(true);
    }
    let mut file = options.open(path).with_context(|| format!("writing `{}`", path.display()))?;
    file.write_all(contents.as_bytes()).with_context(|| format!("writing `{}`", path.display()))
}
