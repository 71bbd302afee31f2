//! `landing-zone force-unlock ID`: frees the apply lock whose holder died.

use anyhow::bail;
use clap::Args;

use super::load_spec;
use super::{runtime, GlobalOptions, EXIT_OK};
use crate::apply::lock::StateStore;
use crate::aws::caller_identity;
use crate::ops::plan::connect;

#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The lock id printed by the apply that holds it (or by the one refused).
    pub lock_id: String,
    #[command(flatten)]
    pub spec: super::SpecFileArgs,
    #[command(flatten)]
    pub access: super::AwsAccessArgs,
    #[command(flatten)]
    pub region: super::RegionArgs,
}

pub fn run(global: &GlobalOptions, args: &ForceUnlockArgs) -> anyhow::Result<u8> {
    let valid = load_spec(&global.file)?;
    let region = valid.spec.organization.regions.first().cloned().unwrap_or_else(|| "us-east-1".to_string());
    runtime()?.block_on(async {
        let clients = connect(&global.connect_options(), Some(&valid)).await?;
        let caller = caller_identity(&clients).await?;
        clients.sessions.set_management_account(&caller.account).await;
        let store = StateStore::new(&clients.sessions, &caller.account, &region).await;
        match store.holder().await? {
            None => bail!("there is no lock to free"),
            Some(lock) if lock.id != args.lock_id => {
                bail!(
                    "the lock is held under id {} by {} since {}, not {}",
                    lock.id,
                    lock.holder,
                    lock.since,
                    args.lock_id
                )
            }
            Some(lock) => {
                store.release(&lock.id).await?;
                println!("freed lock {} held by {} since {}", lock.id, lock.holder, lock.since);
                Ok(EXIT_OK)
            }
        }
    })
}
