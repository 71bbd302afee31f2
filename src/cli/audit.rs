//! `landing-zone audit`: the posture report, as a table or JSON; exits 1 when a control fails.

use clap::{Args, ValueEnum};

use super::load_spec;
use super::{runtime, write_stdout, GlobalOptions, EXIT_ERROR, EXIT_OK};
use crate::live::{read_organization, ReadScope};
use crate::ops::audit::{audit, has_failures, render_table};
use crate::ops::plan::connect;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[arg(long, value_enum, default_value_t = AuditFormat::Text)]
    pub format: AuditFormat,
    /// Regions to check regional services in (default: the spec's, else the session's). The
    /// organization's calls go to the profile's Region, else the spec's home Region, else the first
    /// of these.
    #[arg(long = "regions", value_delimiter = ',')]
    pub regions: Vec<String>,
    #[command(flatten)]
    pub spec: super::SpecFileArgs,
    #[command(flatten)]
    pub access: super::AwsAccessArgs,
    #[command(flatten)]
    pub concurrency: super::ConcurrencyArgs,
}

pub fn run(global: &GlobalOptions, args: &AuditArgs) -> anyhow::Result<u8> {
    // The spec is optional: without it, the report covers what the organization has.
    let valid = if global.file.exists() { Some(load_spec(&global.file)?) } else { None };
    let findings = runtime()?.block_on(async {
        let mut options = global.connect_options();
        if valid.is_none() {
            // No spec to name a home region: the first Region the audit looks at.
            options.fallback_region = args.regions.first().cloned();
        }
        let clients = connect(&options, valid.as_ref()).await?;
        let live = read_organization(&clients.organizations, &ReadScope::default(), global.parallelism).await?;
        let mut regions = args.regions.clone();
        if regions.is_empty() {
            regions = match &valid {
                Some(valid) => valid.spec.organization.regions.clone(),
                None => clients.organizations.config().region().map(|r| vec![r.to_string()]).unwrap_or_default(),
            };
        }
        audit(&clients, &live, valid.as_ref(), &regions, global.concurrency()).await
    })?;
    match args.format {
        AuditFormat::Text => write_stdout(&render_table(&findings))?,
        AuditFormat::Json => {
            write_stdout(&(serde_json::to_string_pretty(&serde_json::json!({ "findings": findings }))? + "\n"))?
        }
    }
    Ok(if has_failures(&findings) { EXIT_ERROR } else { EXIT_OK })
}
