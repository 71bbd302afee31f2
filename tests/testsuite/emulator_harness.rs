//! Proves the emulator harness: moto starts on a loopback port, the SDK reaches it, and it stops.

use crate::support::Moto;

#[tokio::test]
async fn creates_an_organization_through_the_sdk() {
    let moto = Moto::start();
    assert!(moto.endpoint.starts_with("http://127.0.0.1:"));
    let client = aws_sdk_organizations::Client::new(&moto.sdk_config().await);

    let before = client.describe_organization().send().await;
    assert!(before.is_err(), "a fresh emulator has no organization");

    let created = client
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create organization");
    let organization = created.organization.expect("organization");
    let described = client.describe_organization().send().await.expect("describe").organization.expect("org");
    assert_eq!(organization.id, described.id);
    assert_eq!(described.master_account_id.as_deref(), Some("123456789012"));
}

#[test]
fn servers_are_isolated_and_stopped() {
    let first = Moto::start();
    let second = Moto::start();
    assert_ne!(first.port, second.port);
    let port = first.port;
    drop(first);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "moto still listening after drop");
}

/// A reset through the strict layer forgets what the layer stands in for, as moto forgets its
/// own state: Macie (which the layer keeps) enabled before the reset is not enabled after it.
#[tokio::test]
async fn a_reset_forgets_the_strict_layers_state_too() {
    let moto = Moto::start();
    let macie = aws_sdk_macie2::Client::new(&moto.sdk_config().await);
    macie.enable_macie().send().await.expect("enable Macie");
    assert!(macie.get_macie_session().send().await.is_ok(), "enabled before the reset");
    let reset = std::process::Command::new("curl")
        .args(["-sf", "-X", "POST", &format!("{}/moto-api/reset", moto.endpoint)])
        .output()
        .expect("reset moto");
    assert!(reset.status.success(), "reset");
    let after = macie.get_macie_session().send().await;
    assert!(after.is_err(), "Macie is not enabled after the reset: {after:?}");
}

/// IAM `GetRole` asked of the moto on `port` directly, in `account` (moto's
/// `x-moto-account-id`): whether the role is there.
async fn role_on(port: u16, account: &str, role: &str) -> bool {
    let request = crate::support::proxy::Request {
        method: "POST".to_string(),
        target: "/".to_string(),
        headers: vec![
            ("host".to_string(), format!("127.0.0.1:{port}")),
            (
                "authorization".to_string(),
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00"
                    .to_string(),
            ),
            ("content-type".to_string(), "application/x-www-form-urlencoded".to_string()),
            ("x-moto-account-id".to_string(), account.to_string()),
        ],
        body: format!("Action=GetRole&Version=2010-05-08&RoleName={role}").into_bytes(),
    };
    let response = crate::support::proxy::forward(port, &request).await.expect("ask moto");
    response.status == 200
}

/// The benchmark's sharded proxy (`Proxy::start_sharded`): a member account's requests go to its
/// shard, where what it wrote is read back; the management account (Organizations, STS) and the
/// accounts kept on the primary stay on the primary.
#[tokio::test]
async fn a_sharded_proxy_keeps_each_member_account_on_its_shard() {
    use crate::support::proxy::{shard_of, Faults, Proxy};
    let primary = Moto::start();
    let shards = [Moto::start(), Moto::start()];
    let shard_ports: Vec<u16> = shards.iter().map(|shard| shard.port).collect();
    let organizations = aws_sdk_organizations::Client::new(&primary.sdk_config().await);
    organizations
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create organization");
    let mut accounts = Vec::new();
    for name in ["kept", "first", "second", "third"] {
        let created = organizations
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .expect("create account");
        let status = created.create_account_status.expect("status");
        accounts.push(status.account_id.expect("moto creates accounts at once"));
    }
    let kept = accounts[0].clone();
    let proxy = Proxy::start_sharded(primary.port, &shard_ports, std::slice::from_ref(&kept), Faults::none());
    let base = crate::support::sdk_config_at(&proxy.endpoint).await;
    let sts = aws_sdk_sts::Client::new(&base);

    for account in &accounts {
        let credentials = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole"))
            .role_session_name("shard-probe")
            .send()
            .await
            .expect("assume role")
            .credentials
            .expect("credentials");
        let credentials = aws_credential_types::Credentials::new(
            credentials.access_key_id,
            credentials.secret_access_key,
            Some(credentials.session_token),
            None,
            "assumed",
        );
        let config = base
            .to_builder()
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
            .build();
        let iam = aws_sdk_iam::Client::new(&config);
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
        iam.create_role().role_name("Probe").assume_role_policy_document(trust).send().await.expect("create role");
        // Read back through the proxy: the same moto answers.
        iam.get_role().role_name("Probe").send().await.expect("the role reads back through the proxy");
        let shard = shard_ports[shard_of(account, shard_ports.len())];
        if *account == kept {
            assert!(role_on(primary.port, account, "Probe").await, "{account} is kept on the primary");
            assert!(!role_on(shard, account, "Probe").await, "{account}'s role is not on a shard");
        } else {
            assert!(role_on(shard, account, "Probe").await, "{account}'s role is on its shard");
            assert!(!role_on(primary.port, account, "Probe").await, "{account}'s role is not on the primary");
        }
    }
    // Organizations and STS stayed on the primary; only the three members' IAM calls were routed.
    let routed: u64 = proxy.stats().sharded.values().sum();
    assert_eq!(routed, 3 * 2, "CreateRole and GetRole in each of three members: {:?}", proxy.stats().sharded);
}

/// The benchmark's replay (`Proxy::record`, `Proxy::replay`): a plan's reads recorded once are
/// answered again without the emulator. Checked by wiping moto between the two plans: answered by
/// moto, the second plan would find nothing and plan everything; replayed, it is the first plan,
/// word for word, and every request was answered from the recording.
#[test]
fn a_recorded_plan_is_replayed_without_the_emulator() {
    // The repository's spec attaches AWS-managed policies to its roles.
    let moto = Moto::start_with_managed_policies();
    let workspace = crate::support::spec_workspace(&[]);
    let dir = workspace.path();
    moto.run_expecting(&["apply", "--auto-approve"], dir, 0);
    let proxy = moto.strict_proxy();

    proxy.record();
    proxy.reset_stats();
    let recorded = moto.run_expecting(&["plan", "--detailed-exitcode"], dir, 0);
    let calls: u64 = proxy.stats().calls.values().sum();
    assert!(recorded.contains("No changes"), "{recorded}");

    // moto itself forgets everything (the strict layer in front of it keeps its own state).
    let reset = std::process::Command::new("curl")
        .args(["-sf", "-X", "POST", &format!("{}/moto-api/reset", moto.raw_endpoint)])
        .output()
        .expect("reset moto");
    assert!(reset.status.success(), "reset");
    let held = proxy.replay();
    assert!(held > 0, "the recording holds the plan's reads");
    proxy.reset_stats();
    let replayed = moto.run_expecting(&["plan", "--detailed-exitcode"], dir, 0);
    assert_eq!(replayed, recorded, "the replayed plan is the recorded one");
    let stats = proxy.stats();
    assert!(stats.replay_misses.is_empty(), "every read was recorded: {:?}", stats.replay_misses);
    assert_eq!(stats.replayed, calls, "every request was answered from the recording");
}
