//! Output for machines and for reading at a glance: `graph --format text|json` (the tree with the
//! policies attached at each node, from the spec and from the live organization), and
//! `--format json` of `apply` (what it did) and `import` (what it wrote), each one JSON document
//! on stdout with the human-readable output on stderr.

use crate::support::{stderr, stdout, workspace, Moto};

const SPEC: &str = r#"version: 1
organization:
  management_account: management
  policy_types: [SERVICE_CONTROL_POLICY]
  regions: [us-east-1]
units:
  Workloads:
    units:
      Prod: {}
accounts:
  management: { email: aws-root@example.com }
  app: { email: app@example.com, unit: Workloads/Prod }
policies:
  no-leaving:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Deny, Action: "organizations:LeaveOrganization", Resource: "*" }]
    targets: { units: [Workloads] }
"#;

#[tokio::test]
async fn graph_apply_and_import_speak_json_and_the_tree_shows_policies() {
    let moto = Moto::start();
    let workspace = workspace(SPEC);
    let dir = workspace.path();

    // The spec's tree, as text: each node under its parent, the policy at the OU it is attached to.
    let drawn = moto.run(&["graph", "--format", "text"], dir);
    assert_eq!(drawn.status.code(), Some(0), "{}", stderr(&drawn));
    assert_eq!(
        stdout(&drawn),
        "Root\n├── Workloads  policies: no-leaving\n│   └── Prod\n│       └── app (account)\n└── management (account)\n"
    );

    // apply --format json: stdout is one document of what it did; the plan went to stderr.
    let applied = moto.run(&["apply", "--auto-approve", "--format", "json"], dir);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    let report: serde_json::Value = serde_json::from_str(&stdout(&applied)).expect("one JSON document");
    assert_eq!(report["result"], "complete", "{report}");
    let actions = report["actions"].as_array().expect("actions");
    assert!(!actions.is_empty() && actions.iter().all(|action| action["result"] == "done"), "{report}");
    assert_eq!(report["outcome"]["done"].as_u64(), Some(actions.len() as u64), "{report}");
    assert!(stderr(&applied).contains("Apply complete"), "{}", stderr(&applied));
    let again = moto.run(&["apply", "--auto-approve", "--format", "json"], dir);
    let again: serde_json::Value = serde_json::from_str(&stdout(&again)).expect("json");
    assert_eq!((&again["result"], again["actions"].as_array().map(Vec::len)), (&"nothing_to_do".into(), Some(0)));

    // The live tree, as JSON: ids, and the policies AWS has at each node (FullAWSAccess too).
    let live = moto.run(&["graph", "--live", "--format", "json"], dir);
    assert_eq!(live.status.code(), Some(0), "{}", stderr(&live));
    let tree: serde_json::Value = serde_json::from_str(&stdout(&live)).expect("json");
    assert!(tree["id"].as_str().is_some_and(|id| id.starts_with("r-")), "{tree}");
    let names = |node: &serde_json::Value| -> Vec<String> {
        node["policies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect()
    };
    assert!(names(&tree).contains(&"FullAWSAccess".to_string()), "{tree}");
    let workloads =
        tree["children"].as_array().and_then(|c| c.iter().find(|n| n["name"] == "Workloads")).expect("Workloads");
    assert!(workloads["id"].as_str().is_some_and(|id| id.starts_with("ou-")), "{workloads}");
    assert!(names(workloads).contains(&"no-leaving".to_string()), "{workloads}");
    let text = stdout(&moto.run(&["graph", "--live", "--format", "text"], dir));
    assert!(text.contains("Workloads (ou-") && text.contains("no-leaving"), "{text}");

    // import --format json: the files it wrote and what the spec holds.
    let out = tempfile::tempdir().expect("dir");
    let imported = moto.run(&["import", "--out", ".", "--format", "json"], out.path());
    assert_eq!(imported.status.code(), Some(0), "{}", stderr(&imported));
    let written: serde_json::Value = serde_json::from_str(&stdout(&imported)).expect("json");
    assert_eq!((written["accounts"].as_u64(), written["policies"].as_u64()), (Some(2), Some(1)), "{written}");
    let files = written["files"].as_array().expect("files");
    assert!(files.iter().any(|file| file.as_str().is_some_and(|f| f.ends_with("landing-zone.yaml"))), "{written}");
    assert!(files.iter().all(|file| file.as_str().is_some_and(|f| out.path().join(f).exists())), "{written}");
}
