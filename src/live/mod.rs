//! The live readers: the organization (tree, accounts, policies, tags, trusted access) and every
//! baseline control in the accounts that exist, through the baseline registry. They fill
//! `plan::state`, the plain-data live model the planner reads.

pub mod controls;
pub mod early;
pub mod organization;
pub mod progress;
pub mod root_credentials;

pub use crate::plan::state::LiveOrganization;
pub use organization::{read_organization, read_organization_with, PolicyFocus, ReadScope, WalkWatcher};
