//! One organization-wide service with a delegated administrator, written once: the management
//! account designates the administrator per region through the service's own API, the
//! administrator auto-enables the service in accounts as they join the organization, and the
//! accounts already in it are enrolled as members. GuardDuty, Security Hub, Macie, Inspector and
//! Detective are this shape; each says what differs (its control names, the IAM actions, what enrolling comes
//! after, the attributes of its organization configuration and members) as data in an
//! [`OrganizationService`], and its administrator calls through [`AdministratorApi`].
//!
//! What every service with a delegated administrator shares, IAM Access Analyzer included, is a
//! [`Delegated`]: the trusted access it needs and how its administrator is registered. Access
//! Analyzer's is registered through Organizations (`Baseline::delegated_administrators`), not per
//! region through its own API, and it has no auto-enable nor members, only an organization
//! analyzer in the administrator: it uses [`Delegated`] alone, not [`OrganizationService`].
//!
//! Pure where it builds desired controls; [`read_administrator`] and [`apply_administrator`] call
//! AWS through the service's [`AdministratorApi`] and never replace an administrator they find.

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attributes::encode;
use super::BoxFuture;
use crate::plan::control::{ControlKey, DesiredControl};

/// `<service>/admin`: the region's delegated administrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminAttributes {
    pub admin_account_id: String,
}

/// The account a control of the service sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    Management,
    Administrator,
}

/// A control another control of the service comes after (besides the service's trusted access,
/// which they all come after).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// The service enabled in that account ([`OrganizationService::enabled`]).
    Enabled(Whose),
    /// The delegated administrator designated.
    Administrator,
    /// The administrator's organization configuration (auto-enable) set.
    OrganizationConfiguration,
}

/// One control of the service: its name and the IAM actions its write makes.
#[derive(Debug, Clone, Copy)]
pub struct Control {
    pub name: &'static str,
    pub needs: &'static [&'static str],
}

/// How a service's delegated administrator is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Per region, through the service's own API, from the management account: a `<service>/admin`
    /// control ([`read_administrator`], [`apply_administrator`]); the service registers it with
    /// Organizations itself.
    ServiceApi,
    /// Once for the organization, through Organizations' `RegisterDelegatedAdministrator`: the
    /// organization planner's delegated-administrator action, which the service's controls come
    /// after (they come after the principal's trusted access, and that action does too).
    Organizations,
}

/// A service with a delegated administrator in the organization: its service principal (trusted
/// access) and how its administrator is registered.
#[derive(Debug, Clone, Copy)]
pub struct Delegated {
    /// The service principal whose trusted access every control comes after.
    pub principal: &'static str,
    pub registration: Registration,
}

impl Delegated {
    /// The trusted access it needs: its principal, when the spec has its section.
    pub fn trusted_services(&self, section_present: bool) -> Vec<&'static str> {
        if section_present {
            vec![self.principal]
        } else {
            Vec::new()
        }
    }

    /// The delegated administrator it registers through Organizations, (service principal,
    /// account name): `admin_account` when its registration is [`Registration::Organizations`];
    /// none when it designates its own per region ([`Registration::ServiceApi`]).
    pub fn delegated_administrators(&self, admin_account: Option<&str>) -> Vec<(String, String)> {
        match self.registration {
            Registration::Organizations => {
                admin_account.map(|account| (self.principal.to_string(), account.to_string())).into_iter().collect()
            }
            Registration::ServiceApi => Vec::new(),
        }
    }
}

/// What differs between organization-wide services with a delegated administrator.
#[derive(Debug, Clone, Copy)]
pub struct OrganizationService {
    /// Its principal; the administrator is designated through its own API
    /// ([`Registration::ServiceApi`]).
    pub delegated: Delegated,
    /// The service enabled in one account (GuardDuty's detector, Security Hub's hub, Macie's
    /// session), wanted in the management account and in the administrator; None where
    /// designating the administrator enables it (Inspector).
    pub enabled: Option<Control>,
    /// The delegated administrator, designated from the management account.
    pub administrator: Control,
    /// The administrator's organization configuration: auto-enable for accounts that join.
    pub organization: Control,
    /// The accounts already in the organization, enrolled by the administrator.
    pub members: Control,
    /// What enrolling the members comes after, in order.
    pub members_after: &'static [After],
}

/// The two accounts of the service's controls in a region.
#[derive(Debug, Clone, Copy)]
pub struct Accounts<'a> {
    pub management: &'a str,
    pub administrator: &'a str,
}

impl Accounts<'_> {
    fn of(&self, whose: Whose) -> &str {
        match whose {
            Whose::Management => self.management,
            Whose::Administrator => self.administrator,
        }
    }
}

/// One region's attributes of the service's controls.
#[derive(Debug, Clone)]
pub struct RegionAttributes {
    /// Of [`OrganizationService::enabled`] (ignored without one).
    pub enabled: Value,
    pub organization: Value,
    /// None: no member is enrolled in this region (nobody to enrol, or the spec leaves it).
    pub members: Option<Value>,
}

impl OrganizationService {
    fn key(&self, name: &str, account: &str, region: &str) -> ControlKey {
        ControlKey::new(name, account, Some(region))
    }

    fn anchor(&self, after: After, accounts: &Accounts<'_>, region: &str) -> Option<ControlKey> {
        match after {
            After::Enabled(whose) => self.enabled.map(|enabled| self.key(enabled.name, accounts.of(whose), region)),
            After::Administrator => Some(self.key(self.administrator.name, accounts.management, region)),
            After::OrganizationConfiguration => Some(self.key(self.organization.name, accounts.administrator, region)),
        }
    }

    fn after(
        &self,
        mut control: DesiredControl,
        afters: &[After],
        accounts: &Accounts<'_>,
        region: &str,
    ) -> DesiredControl {
        for after in afters {
            if let Some(key) = self.anchor(*after, accounts, region) {
                control = control.after(key);
            }
        }
        control
    }

    /// The service enabled in the management account and in the administrator (once when they
    /// are the same account).
    pub fn enabled_controls(&self, accounts: &Accounts<'_>, region: &str, attributes: &Value) -> Vec<DesiredControl> {
        let Some(enabled) = self.enabled else { return Vec::new() };
        let mut holders = vec![accounts.management];
        if accounts.administrator != accounts.management {
            holders.push(accounts.administrator);
        }
        holders
            .into_iter()
            .map(|account| {
                DesiredControl::new(self.key(enabled.name, account, region), attributes.clone()).needs(enabled.needs)
            })
            .collect()
    }

    /// The delegated administrator, in the management account, after the service is enabled there.
    pub fn administrator_control(&self, accounts: &Accounts<'_>, region: &str) -> DesiredControl {
        let attributes =
            encode(&AdminAttributes { admin_account_id: format!("{{{{account:{}}}}}", accounts.administrator) });
        let control = DesiredControl::new(self.key(self.administrator.name, accounts.management, region), attributes);
        self.after(control, &[After::Enabled(Whose::Management)], accounts, region)
            .after_service(self.delegated.principal)
            .needs(self.administrator.needs)
    }

    /// The administrator's organization configuration, once it is the administrator and has the
    /// service enabled.
    pub fn organization_control(&self, accounts: &Accounts<'_>, region: &str, attributes: Value) -> DesiredControl {
        let control = DesiredControl::new(self.key(self.organization.name, accounts.administrator, region), attributes);
        self.after(control, &[After::Administrator, After::Enabled(Whose::Administrator)], accounts, region)
            .after_service(self.delegated.principal)
            .needs(self.organization.needs)
    }

    /// The existing accounts enrolled as members of the administrator.
    pub fn members_control(&self, accounts: &Accounts<'_>, region: &str, attributes: Value) -> DesiredControl {
        let control = DesiredControl::new(self.key(self.members.name, accounts.administrator, region), attributes);
        self.after(control, self.members_after, accounts, region)
            .after_service(self.delegated.principal)
            .needs(self.members.needs)
    }

    /// Every control of one region, in order: enabled, administrator, organization
    /// configuration, members.
    pub fn region_controls(
        &self,
        accounts: &Accounts<'_>,
        region: &str,
        attributes: RegionAttributes,
    ) -> Vec<DesiredControl> {
        let mut controls = self.enabled_controls(accounts, region, &attributes.enabled);
        controls.push(self.administrator_control(accounts, region));
        controls.push(self.organization_control(accounts, region, attributes.organization));
        if let Some(members) = attributes.members {
            controls.push(self.members_control(accounts, region, members));
        }
        controls
    }
}

/// A service's delegated-administrator calls, made from the management account in one region.
/// Implemented by each service's SDK client.
pub trait AdministratorApi: Sync {
    /// The account id of the region's delegated administrator whose status is enabled (one being
    /// disabled is on its way out and is not it), read through every page; None without one.
    fn enabled_administrator(&self) -> BoxFuture<'_, Result<Option<String>>>;

    /// Designates `account_id` as the region's delegated administrator.
    fn enable_administrator<'a>(&'a self, account_id: &'a str) -> BoxFuture<'a, Result<()>>;

    /// The refusal to replace `current` by `wanted` in `region`, with the command that removes
    /// `current` deliberately.
    fn another_administrator(&self, region: &str, current: &str, wanted: &str) -> anyhow::Error;

    /// Whether an endpoint that cannot list administrators at all (answers "not implemented")
    /// lets designation go ahead, as if there were none.
    fn designates_when_unlisted(&self) -> bool {
        false
    }
}

/// `{ admin_account_id }` of the region's delegated administrator (whoever it is); None without one.
pub async fn read_administrator(api: &impl AdministratorApi) -> Result<Option<Value>> {
    Ok(api.enabled_administrator().await?.map(|admin_account_id| encode(&AdminAttributes { admin_account_id })))
}

/// Designates `admin` as the region's delegated administrator; refuses to replace another one
/// (read afresh, not taken from the plan, so an administrator set since the plan is not
/// overridden either). Already `admin` is success.
pub async fn apply_administrator(api: &impl AdministratorApi, region: &str, admin: &str) -> Result<()> {
    let current = match api.enabled_administrator().await {
        Ok(current) => current,
        Err(error) if api.designates_when_unlisted() && super::unimplemented(&error).is_some() => None,
        Err(error) => return Err(error),
    };
    if let Some(current) = current {
        if current == admin {
            return Ok(());
        }
        return Err(api.another_administrator(region, &current, admin));
    }
    api.enable_administrator(admin).await
}

/// The refusal of the services whose administrator is removed with
/// `disable-organization-admin-account --admin-account-id` (GuardDuty, Security Hub, Macie):
/// `service` is the display name, `cli` the AWS CLI's service name and `section` the spec's
/// `baseline.<section>`.
pub fn another_organization_admin_account(
    service: &str,
    cli: &str,
    section: &str,
    region: &str,
    current: &str,
    admin: &str,
) -> anyhow::Error {
    anyhow::anyhow!(
        "{service} in {region} already has account {current} as delegated administrator, not {admin}; landing-zone does not replace a delegated administrator\nhint: run `aws {cli} disable-organization-admin-account --admin-account-id {current} --region {region}` from the management account deliberately, or set `baseline.{section}.admin_account` to that account"
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::aws::errors::Unimplemented;

    const SERVICE: OrganizationService = OrganizationService {
        delegated: Delegated { principal: "example.amazonaws.com", registration: Registration::ServiceApi },
        enabled: Some(Control { name: "example/enabled", needs: &["example:Enable"] }),
        administrator: Control { name: "example/admin", needs: &["example:EnableAdmin"] },
        organization: Control { name: "example/organization_configuration", needs: &["example:Update"] },
        members: Control { name: "example/members", needs: &["example:CreateMembers"] },
        members_after: &[After::OrganizationConfiguration, After::Enabled(Whose::Management)],
    };

    fn keys(controls: &[DesiredControl]) -> Vec<String> {
        controls.iter().map(|control| format!("{} {}", control.key.control, control.key.account)).collect()
    }

    #[test]
    fn one_region_enables_delegates_configures_and_enrols_in_that_order() {
        let accounts = Accounts { management: "management", administrator: "security" };
        let attributes =
            RegionAttributes { enabled: Value::Null, organization: Value::Null, members: Some(Value::Null) };
        let controls = SERVICE.region_controls(&accounts, "eu-west-1", attributes);
        assert_eq!(
            keys(&controls),
            [
                "example/enabled management",
                "example/enabled security",
                "example/admin management",
                "example/organization_configuration security",
                "example/members security",
            ]
        );
        let key = |name: &str, account: &str| ControlKey::new(name, account, Some("eu-west-1"));
        assert_eq!(controls[2].after, [key("example/enabled", "management")]);
        assert_eq!(controls[3].after, [key("example/admin", "management"), key("example/enabled", "security")]);
        assert_eq!(
            controls[4].after,
            [key("example/organization_configuration", "security"), key("example/enabled", "management")]
        );
        assert!(controls
            .iter()
            .all(|control| control.after_services == ["example.amazonaws.com"]
                || control.key.control == "example/enabled"));
        assert_eq!(controls[2].attributes["admin_account_id"], "{{account:security}}");
    }

    #[test]
    fn only_an_administrator_registered_through_organizations_is_a_delegated_administrator_action() {
        let through = |registration| Delegated { principal: "example.amazonaws.com", registration };
        let organizations = through(Registration::Organizations);
        assert_eq!(
            organizations.delegated_administrators(Some("audit")),
            [("example.amazonaws.com".to_string(), "audit".to_string())]
        );
        assert!(organizations.delegated_administrators(None).is_empty());
        assert!(through(Registration::ServiceApi).delegated_administrators(Some("audit")).is_empty());
        assert_eq!(organizations.trusted_services(true), ["example.amazonaws.com"]);
        assert!(organizations.trusted_services(false).is_empty());
    }

    #[test]
    fn without_an_enabled_control_nothing_waits_for_one() {
        let service = OrganizationService { enabled: None, ..SERVICE };
        let accounts = Accounts { management: "management", administrator: "management" };
        let attributes = RegionAttributes { enabled: Value::Null, organization: Value::Null, members: None };
        let controls = service.region_controls(&accounts, "eu-west-1", attributes);
        assert_eq!(keys(&controls), ["example/admin management", "example/organization_configuration management"]);
        assert!(controls[0].after.is_empty());
        assert_eq!(controls[1].after, [ControlKey::new("example/admin", "management", Some("eu-west-1"))]);
    }

    /// An administrator API answering from memory.
    struct Fake {
        current: Option<&'static str>,
        unlisted: bool,
        designates_when_unlisted: bool,
        enabled: Mutex<Vec<String>>,
    }

    impl Fake {
        fn new(current: Option<&'static str>) -> Fake {
            Fake { current, unlisted: false, designates_when_unlisted: false, enabled: Mutex::new(Vec::new()) }
        }

        fn enabled(&self) -> Vec<String> {
            self.enabled.lock().map(|enabled| enabled.clone()).unwrap_or_default()
        }
    }

    impl AdministratorApi for Fake {
        fn enabled_administrator(&self) -> BoxFuture<'_, Result<Option<String>>> {
            Box::pin(async move {
                if self.unlisted {
                    return Err(anyhow::Error::new(Unimplemented { operation: "ListAdmins".to_string() }));
                }
                Ok(self.current.map(str::to_string))
            })
        }

        fn enable_administrator<'a>(&'a self, account_id: &'a str) -> BoxFuture<'a, Result<()>> {
            Box::pin(async move {
                if let Ok(mut enabled) = self.enabled.lock() {
                    enabled.push(account_id.to_string());
                }
                Ok(())
            })
        }

        fn another_administrator(&self, region: &str, current: &str, wanted: &str) -> anyhow::Error {
            another_organization_admin_account("Example", "example", "example", region, current, wanted)
        }

        fn designates_when_unlisted(&self) -> bool {
            self.designates_when_unlisted
        }
    }

    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        match tokio::runtime::Builder::new_current_thread().build() {
            Ok(runtime) => runtime.block_on(future),
            Err(error) => panic!("no runtime: {error}"),
        }
    }

    #[test]
    fn the_administrator_is_designated_once_and_never_replaced() {
        let none = Fake::new(None);
        assert_eq!(run(read_administrator(&none)).ok(), Some(None));
        assert!(run(apply_administrator(&none, "eu-west-1", "111111111111")).is_ok());
        assert_eq!(none.enabled(), ["111111111111"]);

        let same = Fake::new(Some("111111111111"));
        assert!(run(apply_administrator(&same, "eu-west-1", "111111111111")).is_ok());
        assert!(same.enabled().is_empty(), "already the administrator: no write");

        let other = Fake::new(Some("222222222222"));
        let refused = run(apply_administrator(&other, "eu-west-1", "111111111111")).err().map(|e| e.to_string());
        let refused = refused.unwrap_or_default();
        assert!(refused.contains("222222222222") && refused.contains("\nhint: "), "{refused}");
        assert!(other.enabled().is_empty(), "another administrator is not replaced");
        assert_eq!(
            run(read_administrator(&other)).ok(),
            Some(Some(serde_json::json!({ "admin_account_id": "222222222222" })))
        );
    }

    #[test]
    fn an_endpoint_that_cannot_list_designates_only_where_the_service_says_so() {
        let strict = Fake { unlisted: true, ..Fake::new(None) };
        assert!(run(apply_administrator(&strict, "eu-west-1", "111111111111")).is_err());
        assert!(strict.enabled().is_empty());
        let lenient = Fake { unlisted: true, designates_when_unlisted: true, ..Fake::new(None) };
        assert!(run(apply_administrator(&lenient, "eu-west-1", "111111111111")).is_ok());
        assert_eq!(lenient.enabled(), ["111111111111"]);
    }
}
