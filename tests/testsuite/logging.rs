//! Logs on stderr: `-v` phases and accounts, `-vv` one line per AWS call (service, operation,
//! account, Region, status, latency), `-vvv` request details without credentials, and a filter of
//! one's own through `LANDING_ZONE_LOG` or `RUST_LOG`.

use crate::support::{spec_workspace, Moto};

const SECRET_KEY: &str = "SECRETsecretSECRETsecretSECRETsecret0002";
const SESSION_TOKEN: &str = "SESSIONtokenSESSIONtoken0002";

fn stderr_of(moto: &Moto, dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = moto.command(args, dir, &moto.endpoint);
    command.env("AWS_SECRET_ACCESS_KEY", SECRET_KEY).env("AWS_SESSION_TOKEN", SESSION_TOKEN);
    command.env_remove("RUST_LOG").env_remove("LANDING_ZONE_LOG");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn each_verbosity_says_more_and_never_a_credential() {
    let moto = Moto::start();
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config().await);
    organizations
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("organization");
    let workspace = spec_workspace(&[]);
    let dir = workspace.path();

    let quiet = stderr_of(&moto, dir, &["plan"], &[]);
    assert!(!quiet.contains("DescribeOrganization"), "{quiet}");

    let phases = stderr_of(&moto, dir, &["-v", "plan"], &[]);
    assert!(phases.contains("reading the organization") && phases.contains("planning"), "{phases}");
    assert!(!phases.contains("organizations DescribeOrganization"), "calls are -vv: {phases}");

    let calls = stderr_of(&moto, dir, &["-vv", "plan"], &[]);
    // Service, operation, account (moto's management account), Region, status and latency.
    let line = calls.lines().find(|line| line.contains("organizations DescribeOrganization")).unwrap_or_default();
    assert!(line.contains("us-east-1") && line.contains(": 200 in ") && line.contains(" ms"), "{calls}");
    assert!(calls.lines().any(|line| line.contains("organizations ListRoots account ")), "{calls}");
    // Once the organization names its management account, calls signed by it name it too.
    assert!(calls.lines().any(|line| line.contains(" account 123456789012 us-east-1: 200 in ")), "{calls}");
    assert!(!calls.contains("headers "), "request details are -vvv: {calls}");

    let details = stderr_of(&moto, dir, &["-vvv", "plan"], &[]);
    assert!(
        details.contains("POST ") && details.contains("x-amz-target: AWSOrganizationsV20161128.ListRoots"),
        "{details}"
    );
    for secret in [SECRET_KEY, SESSION_TOKEN, "Signature=", "Credential="] {
        assert!(!details.contains(secret), "{secret} leaked: {details}");
    }

    // A filter of one's own: only the call lines.
    for variable in ["LANDING_ZONE_LOG", "RUST_LOG"] {
        let filtered = stderr_of(&moto, dir, &["plan"], &[(variable, "landing_zone::aws::call=debug")]);
        assert!(filtered.contains("organizations DescribeOrganization"), "{variable}: {filtered}");
    }
}
