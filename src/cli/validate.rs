//! `landing-zone validate`: load the spec and report every problem, offline.

use super::load_spec;
use super::{GlobalOptions, EXIT_OK};

/// `validate` reads only the spec.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub spec: super::SpecFileArgs,
}

pub fn run(global: &GlobalOptions) -> anyhow::Result<u8> {
    let valid = load_spec(&global.file)?;
    let spec = &valid.spec;
    println!(
        "{} is valid: {} units, {} accounts, {} policies",
        global.file.display(),
        count_units(&spec.units),
        spec.accounts.len(),
        spec.policies.len()
    );
    Ok(EXIT_OK)
}

fn count_units(units: &std::collections::BTreeMap<String, crate::spec::UnitSpec>) -> usize {
    units.values().map(|unit| 1 + count_units(&unit.units)).sum()
}
