//! Per-account baselines (password policy, account-level S3 Block Public Access, IAM roles,
//! alternate contacts, EBS encryption by default) applied through cross-account roles, checked by
//! independent reads with assumed-role credentials, then broken by hand and repaired.

use std::collections::BTreeSet;

use crate::support::{spec_workspace, stderr, stdout, Moto};
use serde_json::Value;

/// S3 Control puts the account id in the host; against moto the endpoint is used as given.
#[derive(Debug)]
struct Fixed(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for Fixed {
    fn resolve_endpoint<'a>(
        &'a self,
        _: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_smithy_runtime_api::client::endpoint::EndpointFuture<'a> {
        aws_smithy_runtime_api::client::endpoint::EndpointFuture::ready(Ok(
            aws_smithy_types::endpoint::Endpoint::builder().url(self.0.clone()).build(),
        ))
    }
}

async fn account_ids(moto: &Moto) -> std::collections::BTreeMap<String, String> {
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    let accounts = client.list_accounts().send().await.expect("accounts").accounts.unwrap_or_default();
    accounts.into_iter().map(|a| (a.email.expect("email").to_lowercase(), a.id.expect("id"))).collect()
}

async fn config_for(moto: &Moto, account_id: &str) -> aws_config::SdkConfig {
    if account_id == "123456789012" {
        moto.sdk_config().await
    } else {
        moto.assumed_config(account_id).await
    }
}

fn plan_controls(moto: &Moto, dir: &std::path::Path) -> BTreeSet<String> {
    let output = moto.run(&["plan", "--format", "json"], dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).expect("json");
    plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|action| {
            assert_eq!(action["kind"], "configure_control", "only baseline drift expected: {action:#}");
            let control = &action["control"];
            match control["region"].as_str() {
                Some(region) => format!(
                    "{} {} {region}",
                    control["control"].as_str().expect("c"),
                    control["account"].as_str().expect("a")
                ),
                None => {
                    format!("{} {}", control["control"].as_str().expect("c"), control["account"].as_str().expect("a"))
                }
            }
        })
        .collect()
}

#[tokio::test]
async fn account_baselines_converge_and_repair_drift() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    let output = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    let ids = account_ids(&moto).await;
    assert_eq!(ids.len(), 8);

    for (email, id) in &ids {
        let config = config_for(&moto, id).await;
        // Password policy in every account, the management account included.
        let iam = aws_sdk_iam::Client::new(&config);
        let policy =
            iam.get_account_password_policy().send().await.expect("password policy").password_policy.expect("p");
        assert_eq!(policy.minimum_password_length, Some(14), "{email}");
        assert!(policy.require_symbols && policy.require_numbers, "{email}");
        assert_eq!(policy.max_password_age, Some(90), "{email}");
        assert_eq!(policy.password_reuse_prevention, Some(24), "{email}");

        // Account-level Block Public Access.
        let s3control = aws_sdk_s3control::Client::from_conf(
            aws_sdk_s3control::config::Builder::from(&config).endpoint_resolver(Fixed(moto.endpoint.clone())).build(),
        );
        let block = s3control.get_public_access_block().account_id(id).send().await.expect("bpa");
        let block = block.public_access_block_configuration.expect("configuration");
        assert_eq!(
            (
                block.block_public_acls,
                block.ignore_public_acls,
                block.block_public_policy,
                block.restrict_public_buckets
            ),
            (Some(true), Some(true), Some(true), Some(true)),
            "{email}"
        );

        // EBS encryption by default in both regions.
        for region in ["us-east-1", "eu-west-1"] {
            let ec2 = aws_sdk_ec2::Client::new(&config.to_builder().region(aws_config::Region::new(region)).build());
            let ebs = ec2.get_ebs_encryption_by_default().send().await.expect("ebs");
            assert_eq!(ebs.ebs_encryption_by_default, Some(true), "{email} {region}");
        }

        // The security contact, read from the management account through the Account API.
        let account = aws_sdk_account::Client::new(&moto.sdk_config().await);
        let request = account
            .get_alternate_contact()
            .alternate_contact_type(aws_sdk_account::types::AlternateContactType::Security);
        let request = if id == "123456789012" { request } else { request.account_id(id) };
        let contact = request.send().await.expect("contact").alternate_contact.expect("contact");
        assert_eq!(contact.email_address.as_deref(), Some("security@example.com"), "{email}");
    }

    // The bunker's read-only door: trusted only by the security account, with MFA.
    let log_archive = &ids["aws+log-archive@example.com"];
    let security = &ids["aws+security@example.com"];
    let iam = aws_sdk_iam::Client::new(&moto.assumed_config(log_archive).await);
    let role = iam.get_role().role_name("SecurityAuditor").send().await.expect("role").role.expect("role");
    let trust =
        landing_zone::baseline::roles::decode_policy(role.assume_role_policy_document.as_deref().expect("trust"));
    assert_eq!(trust["Statement"][0]["Principal"]["AWS"][0], format!("arn:aws:iam::{security}:root"));
    assert_eq!(trust["Statement"][0]["Condition"]["Bool"]["aws:MultiFactorAuthPresent"], "true");
    let attached = iam.list_attached_role_policies().role_name("SecurityAuditor").send().await.expect("attached");
    let arns: Vec<String> =
        attached.attached_policies.unwrap_or_default().into_iter().filter_map(|p| p.policy_arn).collect();
    assert_eq!(arns, ["arn:aws:iam::aws:policy/ReadOnlyAccess"]);
    assert!(
        aws_sdk_iam::Client::new(&moto.assumed_config(security).await)
            .get_role()
            .role_name("SecurityAuditor")
            .send()
            .await
            .is_err(),
        "the role exists only where targeted"
    );

    let converged = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(converged.status.code(), Some(0), "{}", stdout(&converged));

    // Break one control of each kind in one account, by hand.
    let app_dev = &ids["aws+app-dev@example.com"];
    aws_sdk_iam::Client::new(&moto.assumed_config(app_dev).await)
        .delete_account_password_policy()
        .send()
        .await
        .expect("delete");
    let sandbox = &ids["aws+sandbox@example.com"];
    let sandbox_config = moto.assumed_config(sandbox).await;
    aws_sdk_s3control::Client::from_conf(
        aws_sdk_s3control::config::Builder::from(&sandbox_config)
            .endpoint_resolver(Fixed(moto.endpoint.clone()))
            .build(),
    )
    .delete_public_access_block()
    .account_id(sandbox)
    .send()
    .await
    .expect("delete bpa");
    iam.detach_role_policy()
        .role_name("SecurityAuditor")
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .expect("detach");
    let security_config = moto.assumed_config(security).await;
    aws_sdk_ec2::Client::new(&security_config.to_builder().region(aws_config::Region::new("eu-west-1")).build())
        .disable_ebs_encryption_by_default()
        .send()
        .await
        .expect("disable ebs");
    let app_prod = &ids["aws+app-prod@example.com"];
    aws_sdk_account::Client::new(&moto.sdk_config().await)
        .put_alternate_contact()
        .account_id(app_prod)
        .alternate_contact_type(aws_sdk_account::types::AlternateContactType::Security)
        .name("Someone Else")
        .email_address("someone@example.com")
        .phone_number("+1 555 0199")
        .title("Intern")
        .send()
        .await
        .expect("contact");

    let expected: BTreeSet<String> = [
        "password_policy app-dev",
        "s3_account_public_access_block sandbox",
        "iam_role/SecurityAuditor log-archive",
        "ebs_encryption_by_default security eu-west-1",
        "alternate_contact/SECURITY app-prod",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(plan_controls(&moto, dir), expected);
    let text = stdout(&moto.run(&["plan"], dir));
    assert!(text.contains("managed_policies: [] → [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]"), "{text}");
    assert!(text.contains("enabled: false → true"), "{text}");

    let repaired = moto.run(&["apply", "--auto-approve"], dir);
    assert_eq!(repaired.status.code(), Some(0), "{}\n{}", stdout(&repaired), stderr(&repaired));
    let converged = moto.run(&["plan", "--detailed-exitcode"], dir);
    assert_eq!(converged.status.code(), Some(0), "{}", stdout(&converged));
}
