//! What `audit` asks of a baseline beyond comparing its controls with the spec: the posture checks
//! it makes whatever the spec says (a password policy of at least 14 characters in every account,
//! a multi-region organization trail), read through the baseline's own reader functions, the ones
//! `plan` reads its controls with. `ops::audit` runs every registry entry's checks
//! ([`super::Baseline::audit_account`], [`super::Baseline::audit_organization`]) and names no
//! baseline. Read-only: a check makes Get/List/Describe calls only, and never writes.

use serde::Serialize;

use crate::plan::control::KnownIds;
use crate::spec::Spec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Fail,
    /// The check could not be made (access denied, service not available).
    Error,
}

/// One line of the audit report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `organization` or `<account name> (<id>)`.
    pub scope: String,
    pub control: String,
    pub region: Option<String>,
    pub status: Status,
    pub detail: String,
}

impl Finding {
    pub fn new(scope: &str, control: &str, region: Option<&str>, status: Status, detail: impl Into<String>) -> Finding {
        Finding {
            scope: scope.to_string(),
            control: control.to_string(),
            region: region.map(str::to_string),
            status,
            detail: detail.into(),
        }
    }

    /// PASS with `pass` when `ok`, else FAIL with `fail`.
    pub fn check(scope: &str, control: &str, region: Option<&str>, ok: bool, pass: &str, fail: &str) -> Finding {
        if ok {
            Finding::new(scope, control, region, Status::Pass, pass)
        } else {
            Finding::new(scope, control, region, Status::Fail, fail)
        }
    }

    /// ERROR: the check could not be made.
    pub fn errored(scope: &str, control: &str, region: Option<&str>, error: impl std::fmt::Display) -> Finding {
        Finding::new(scope, control, region, Status::Error, error.to_string())
    }

    /// ERROR from a reader's failure: AWS's code and message when AWS answered
    /// (`aws::errors::describe`), the whole chain otherwise.
    pub fn read_failed(scope: &str, control: &str, region: Option<&str>, error: &anyhow::Error) -> Finding {
        Finding::errored(scope, control, region, describe(error))
    }
}

/// What a failed read says in a finding: AWS's code and message when AWS answered, the whole
/// chain of causes otherwise.
pub fn describe(error: &anyhow::Error) -> String {
    match crate::aws::errors::failure_of(error) {
        Some(failure) => failure.description.clone(),
        None => format!("{error:#}"),
    }
}

/// One active account of the organization, as [`super::Baseline::audit_account`] checks it. The
/// context it gets knows every active account under its id (`context.account_id(id) == id`), so
/// a reader's key names the account by id.
#[derive(Debug, Clone, Copy)]
pub struct AuditedAccount<'a> {
    pub id: &'a str,
    /// What findings name it by: `<spec name or account name> (<id>)`.
    pub scope: &'a str,
    /// The regions audited.
    pub regions: &'a [String],
}

/// The organization, as [`super::Baseline::audit_organization`] checks it. The context it gets
/// knows the spec's accounts by spec name.
#[derive(Debug, Clone, Copy)]
pub struct AuditedOrganization<'a> {
    /// The spec, when the audit has one.
    pub spec: Option<&'a Spec>,
    /// The spec's accounts by spec name (those that exist), and the organization's id.
    pub ids: &'a KnownIds,
    pub management: &'a str,
    /// The first audited region.
    pub home: &'a str,
    /// Every active account: (id, scope).
    pub accounts: &'a [(String, String)],
}
