//! `landing-zone history`: the applies recorded in the state bucket, listed (text and JSON) and
//! shown one by one, with who ran them, when, what they planned and how they ended.

use crate::support::{stderr, stdout, workspace, Moto};

const SPEC: &str = "version: 1
organization:
  management_account: management
  regions: [us-east-1]
units:
  Workloads: {}
accounts:
  management: { email: aws-root@example.com }
  app: { email: app@example.com, unit: Workloads }
";

#[tokio::test]
async fn history_lists_each_apply_and_shows_one_in_full() {
    let moto = Moto::start();
    let workspace = workspace(SPEC);
    let dir = workspace.path();

    // Before any apply: nothing recorded (no state bucket yet), not an error.
    let empty = moto.run(&["history"], dir);
    assert_eq!(empty.status.code(), Some(0), "{}", stderr(&empty));
    assert!(stdout(&empty).contains("no apply recorded"), "{}", stdout(&empty));

    let applied = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    // A second apply with nothing to do records nothing.
    assert_eq!(moto.run(&["apply", "--auto-approve"], dir).status.code(), Some(0));

    let listed = moto.run(&["history", "--format", "json"], dir);
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    let entries: serde_json::Value = serde_json::from_str(&stdout(&listed)).expect("json");
    let entries = entries.as_array().expect("a list");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["result"], "complete", "{entry}");
    assert!(entry["who"].as_str().is_some_and(|who| who.starts_with("arn:aws:")), "{entry}");
    assert!(entry["started_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{entry}");
    assert!(entry["finished_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{entry}");
    // The organization, its OU and the account: what the apply planned, counted as the plan did.
    assert!(entry["summary"]["add"].as_u64().is_some_and(|add| add >= 3), "{entry}");
    let id = entry["id"].as_str().expect("id").to_string();
    assert_eq!(entry["actions"].as_u64(), entries[0]["actions"].as_u64());

    let text = stdout(&moto.run(&["history"], dir));
    assert!(text.contains(&id) && text.contains("complete") && text.contains("to add"), "{text}");

    // `show` by a unique beginning of the id: the record with every action and its result.
    let shown = moto.run(&["history", "show", &id[..6], "--format", "json"], dir);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    let record: serde_json::Value = serde_json::from_str(&stdout(&shown)).expect("json");
    assert_eq!(record["id"], id.as_str());
    let actions = record["actions"].as_array().expect("actions");
    assert_eq!(Some(actions.len() as u64), entry["actions"].as_u64());
    assert!(actions.iter().all(|action| action["result"] == "done"), "{actions:?}");
    assert!(actions.iter().any(|action| action["address"].as_str().is_some_and(|a| a.contains("app"))), "{actions:?}");
    let text = stdout(&moto.run(&["history", "show", &id], dir));
    assert!(text.contains(&format!("apply {id}: complete")) && text.contains("done"), "{text}");

    let unknown = moto.run(&["history", "show", "nothing-like-it"], dir);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no apply with id") && stderr(&unknown).contains("landing-zone history"));
}
