//! `landing-zone show PLANFILE`: a plan saved with `plan --out FILE`, rendered as `plan` renders
//! it (text, JSON or Markdown), reading nothing from AWS. A file that is not a plan, is of another
//! format version, or whose plan was edited after it was saved, is refused with the reason.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use super::plan::{render, PlanFormat};
use super::{GlobalOptions, EXIT_OK};
use crate::plan::graph::Tree;
use crate::plan::saved::SavedPlan;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The file `plan --out FILE` wrote.
    pub plan_file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

/// Reads and checks a saved plan (`SavedPlan::from_json`), naming the file in every error.
pub fn read_saved_plan(path: &Path) -> anyhow::Result<SavedPlan> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading saved plan `{}`", path.display()))?;
    SavedPlan::from_json(&text).with_context(|| {
        format!("`{}` cannot be used\nhint: make the plan again with `landing-zone plan --out FILE`", path.display())
    })
}

pub fn run(global: &GlobalOptions, args: &ShowArgs) -> anyhow::Result<u8> {
    let saved = read_saved_plan(&args.plan_file)?;
    // The Markdown drawing of the OU tree comes from the spec, and only from the spec the plan was
    // made from; without it the comment leaves the drawing out.
    let tree = match args.format {
        PlanFormat::Markdown => crate::spec::load_spec(&global.file)
            .ok()
            .filter(|valid| valid.content_digest() == saved.spec_digest)
            .map(|valid| Tree::from_desired(&crate::baseline::desired_organization(&valid))),
        _ => None,
    };
    render(&saved.plan, args.format, global, tree)?;
    Ok(EXIT_OK)
}
