//! `landing-zone validate`: load the spec and report every problem, offline; as text (miette), or
//! as JSON or SARIF 2.1.0 for CI and code scanning (`spec::report`).

use clap::ValueEnum;

use super::load_spec;
use super::{write_stdout, GlobalOptions, MissingSpec, EXIT_ERROR, EXIT_OK};
use crate::spec::report;
use crate::spec::{SpecDiagnostic, SpecErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    Text,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning (`upload-sarif`).
    Sarif,
}

/// `validate` reads only the spec.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// `json` and `sarif` print every diagnostic with its file, line, column and rule id on stdout
    /// (exit 1 when there is any), for CI.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    pub format: ValidateFormat,
    #[command(flatten)]
    pub spec: super::SpecFileArgs,
}

pub fn run(global: &GlobalOptions, args: &ValidateArgs) -> anyhow::Result<u8> {
    if args.format == ValidateFormat::Text {
        let valid = load_spec(&global.file)?;
        let spec = &valid.spec;
        write_stdout(&format!(
            "{} is valid: {} units, {} accounts, {} policies\n",
            global.file.display(),
            count_units(&spec.units),
            spec.accounts.len(),
            spec.policies.len()
        ))?;
        return Ok(EXIT_OK);
    }
    let file = global.file.display().to_string();
    let diagnostics = match load_spec(&global.file) {
        Ok(_) => Vec::new(),
        Err(error) => match error.downcast::<SpecErrors>() {
            Ok(errors) => errors.diagnostics,
            Err(error) => match error.downcast_ref::<MissingSpec>() {
                Some(missing) => {
                    vec![SpecDiagnostic::whole_file(&file, missing.to_string()).with_code("missing-spec-file")]
                }
                None => return Err(error),
            },
        },
    };
    let document = match args.format {
        ValidateFormat::Sarif => report::sarif(&file, &diagnostics),
        _ => report::json(&file, &diagnostics),
    };
    write_stdout(&(serde_json::to_string_pretty(&document)? + "\n"))?;
    Ok(if diagnostics.is_empty() { EXIT_OK } else { EXIT_ERROR })
}

fn count_units(units: &std::collections::BTreeMap<String, crate::spec::UnitSpec>) -> usize {
    units.values().map(|unit| 1 + count_units(&unit.units)).sum()
}
