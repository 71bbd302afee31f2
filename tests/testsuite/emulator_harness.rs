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
