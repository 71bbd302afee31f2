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
