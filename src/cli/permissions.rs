//! `landing-zone permissions plan|apply [--role management|member]`: the IAM policy each role
//! needs, derived from the code (`ops::permissions`).

use clap::{Args, ValueEnum};

use super::{write_stdout, EXIT_OK};
use crate::ops::permissions::{policy, Command as ForCommand, Principal};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Command {
    /// Read-only: plan, audit, import, graph --live.
    Plan,
    /// Everything apply reads and writes.
    Apply,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// The caller's credentials in the management account (the CI role that runs the tool).
    Management,
    /// `organization.access_role` in each member account (for a least-privilege replacement of
    /// `OrganizationAccountAccessRole`).
    Member,
}

#[derive(Debug, Args)]
pub struct PermissionsArgs {
    #[arg(value_enum)]
    pub command: Command,
    /// Whose policy to print.
    #[arg(long, value_enum, default_value_t = Role::Management)]
    pub role: Role,
}

pub fn run(args: &PermissionsArgs) -> anyhow::Result<u8> {
    let command = match args.command {
        Command::Plan => ForCommand::Plan,
        Command::Apply => ForCommand::Apply,
    };
    let principal = match args.role {
        Role::Management => Principal::Management,
        Role::Member => Principal::Member,
    };
    write_stdout(&(serde_json::to_string_pretty(&policy(command, principal))? + "\n"))?;
    Ok(EXIT_OK)
}
