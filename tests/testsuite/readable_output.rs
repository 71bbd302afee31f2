//! What users read carries no Rust debug text (`Some("master")`, `None`): notes and messages name
//! things as the spec and AWS do. Pure planner checks, no emulator.

use landing_zone::plan::desired::{DesiredAccount, DesiredOrganization};
use landing_zone::plan::state::{AccountState, LiveAccount, LiveOrganization, OrganizationInfo, RootInfo};
use landing_zone::plan::{plan, PlanOptions};
use landing_zone::spec::ROOT;

const ROOT_ID: &str = "r-root";
const MANAGEMENT_ID: &str = "000000000001";

fn desired() -> DesiredOrganization {
    DesiredOrganization {
        accounts: vec![DesiredAccount {
            name: "management".to_string(),
            aws_name: None,
            email: "mgmt@example.com".to_string(),
            unit_path: ROOT.to_string(),
            id: None,
            tags: None,
            close: false,
        }],
        management_account: Some("management".to_string()),
        access_role: "OrganizationAccountAccessRole".to_string(),
        ..Default::default()
    }
}

fn notes_of(live: &LiveOrganization) -> String {
    let plan = plan(&desired(), live, PlanOptions::default()).expect("plan");
    plan.notes.iter().map(|note| format!("{}: {}\n", note.resource, note.message)).collect()
}

#[test]
fn an_account_the_endpoint_cannot_rename_is_named_as_aws_names_it() {
    let mut live = LiveOrganization {
        organization: Some(OrganizationInfo {
            id: "o-live".to_string(),
            management_account_id: MANAGEMENT_ID.to_string(),
            management_account_email: "mgmt@example.com".to_string(),
            all_features: true,
        }),
        root: Some(RootInfo { id: ROOT_ID.to_string(), policy_types: Default::default() }),
        account_names_unsupported: Some("PutAccountName".to_string()),
        ..Default::default()
    };
    live.accounts.insert(
        MANAGEMENT_ID.to_string(),
        LiveAccount {
            id: MANAGEMENT_ID.to_string(),
            name: "master".to_string(),
            email: "mgmt@example.com".to_string(),
            state: AccountState::Active,
            parent_id: ROOT_ID.to_string(),
            tags: None,
        },
    );
    let notes = notes_of(&live);
    assert!(notes.contains("account management: named `master` in AWS; not renamed here"), "{notes}");
    assert!(!notes.contains("Some(") && !notes.contains("\"master\""), "{notes}");

    // No organization yet: the name it signed up with is not known.
    let live = LiveOrganization { account_names_unsupported: Some("PutAccountName".to_string()), ..Default::default() };
    let notes = notes_of(&live);
    assert!(notes.contains("its name in AWS is not known yet; not renamed here"), "{notes}");
    assert!(!notes.contains("None"), "{notes}");
}
