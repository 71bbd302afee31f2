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
    #[command(flatten)]
    pub spec: super::SpecFileArgs,
}

/// Reads and checks a saved plan (`SavedPlan::from_json`), naming the file in every error.
pub fn read_saved_plan(path: &Path) -> anyhow::Result<SavedPlan> {
    // A saved plan of 10,000 accounts is a few MiB; the cap keeps `/dev/zero` from eating memory,
    // and the file-type check keeps a FIFO from hanging the command.
    const MAX_SAVED_PLAN_BYTES: u64 = 256 * 1024 * 1024;
    let metadata = std::fs::metadata(path).with_context(|| format!("reading saved plan `{}`", path.display()))?;
    if !metadata.is_file() {
        anyhow::bail!(
            "`{}` is not a regular file; a saved plan is the file `landing-zone plan --out` wrote",
            path.display()
        );
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| {
            std::io::Read::read_to_string(&mut std::io::Read::take(file, MAX_SAVED_PLAN_BYTES + 1), &mut text)
        })
        .with_context(|| format!("reading saved plan `{}`", path.display()))?;
    if text.len() as u64 > MAX_SAVED_PLAN_BYTES {
        anyhow::bail!("`{}` is larger than {MAX_SAVED_PLAN_BYTES} bytes: not a saved plan", path.display());
    }
    SavedPlan::from_json(&text).with_context(|| {
        format!("`{}` cannot be used\nhint: make the plan again with `landing-zone plan --out FILE`", path.display())
    })
}

pub fn run(global: &GlobalOptions, args: &ShowArgs) -> anyhow::Result<u8> {
    let saved = read_saved_plan(&args.plan_file)?;
    // The Markdown drawing of the OU tree comes from the spec, and only from the spec the plan was
    // made from; without it the comment leaves the drawing out.
    let tree = match args.format {
        // The text plan names whole OUs from the same tree, so `show` prints what `plan` printed.
        PlanFormat::Markdown | PlanFormat::Text => crate::baseline::load_spec(&global.file)
            .ok()
            .filter(|valid| valid.content_digest() == saved.spec_digest)
            .map(|valid| Tree::from_desired(&crate::baseline::desired_organization(&valid))),
        _ => None,
    };
    render(&saved.plan, &saved.targets, args.format, global, tree)?;
    Ok(EXIT_OK)
}
