//! No credential ever reaches output: plan and apply at `-vvv`, the saved plan and the change
//! history are scanned for the access key, the secret key and the session tokens STS handed out.

use crate::support::{spec_workspace, Moto};

const ACCESS_KEY: &str = "AKIALANDINGZONETEST1";
const SECRET_KEY: &str = "SECRETsecretSECRETsecretSECRETsecret0001";

fn run(moto: &Moto, dir: &std::path::Path, args: &[&str]) -> String {
    let output = moto
        .command(args, dir, &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", "SESSIONtokenSESSIONtoken0001")
        .output()
        .expect("run");
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test]
async fn credentials_never_appear_in_output_plans_or_history() {
    let moto = Moto::start_with_managed_policies();
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();
    let mut everything = String::new();
    everything.push_str(&run(&moto, dir, &["-vvv", "plan", "--out", "saved.plan"]));
    everything.push_str(&run(&moto, dir, &["-vvv", "apply", "--auto-approve"]));
    everything.push_str(&run(&moto, dir, &["-vvv", "plan", "--format", "json"]));
    assert!(
        everything.contains("created unit "),
        "the apply ran and logged: {}",
        &everything[..everything.len().min(2000)]
    );
    everything.push_str(&std::fs::read_to_string(dir.join("saved.plan")).expect("saved plan"));

    // The change history in the state bucket.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.sdk_config().await).force_path_style(true).build(),
    );
    let bucket = "landing-zone-state-123456789012-us-east-1";
    let history = s3.list_objects_v2().bucket(bucket).prefix("history/").send().await.expect("history");
    for object in history.contents.unwrap_or_default() {
        let body = s3.get_object().bucket(bucket).key(object.key.expect("key")).send().await.expect("get");
        everything.push_str(&String::from_utf8_lossy(&body.body.collect().await.expect("body").into_bytes()));
    }

    // A probe of moto's own token format, not of the tool: straight to moto, past the strict layer
    // (on AWS the management account has no OrganizationAccountAccessRole to assume).
    let sts = aws_sdk_sts::Client::new(&moto.raw_sdk_config().await);
    let sample = sts
        .assume_role()
        .role_arn("arn:aws:iam::123456789012:role/OrganizationAccountAccessRole")
        .role_session_name("probe")
        .send()
        .await
        .expect("assume")
        .credentials
        .expect("credentials");
    // Every STS session token moto issues (the tool's assumed-role sessions included) starts with
    // the same prefix: none may appear.
    let prefix: String = sample.session_token.chars().take(12).collect();
    assert!(!prefix.is_empty());
    for secret in [SECRET_KEY, "SESSIONtokenSESSIONtoken0001", prefix.as_str()] {
        assert!(!everything.contains(secret), "a secret leaked into the output: {secret}");
    }
    assert!(
        !everything.contains("aws_secret_access_key") && !everything.contains("SessionToken\":"),
        "no credential fields"
    );
}
