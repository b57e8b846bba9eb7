//! Revocations shared by a fleet: each one is written to the ledger
//! database (`signin_revocations`) as it is made, and every instance polls
//! the table, so a person signed out on one instance is signed out on all
//! within about a second — and stays signed out across restarts. Without a
//! database, revocations live in this instance's memory only.

use super::SignIn;
use crate::store::{Revocation, Store};
use std::sync::Arc;
use std::time::Duration;

/// Record `revoked` for the other instances (nothing to do without a
/// database).
pub async fn record(store: Option<&Store>, revoked: &[Revocation]) -> Result<(), String> {
    let Some(store) = store.filter(|_| !revoked.is_empty()) else {
        return Ok(());
    };
    store
        .add_revocations(revoked, crate::teams::view::now_ms())
        .await
        .map_err(|e| e.to_string())
}

/// Read every revocation still of use, then poll for new ones every
/// `every` until the process ends.
pub async fn follow(signin: Arc<SignIn>, store: Store, every: Duration) -> Result<(), sqlx::Error> {
    let (rows, mut seen) = store.revocations_changed_since(0).await?;
    signin.apply_revocations(&rows);
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            tokio::time::sleep(every).await;
            // A little overlap: another instance's clock may lag.
            match store.revocations_changed_since(seen - 10_000).await {
                Ok((rows, latest)) => {
                    signin.apply_revocations(&rows);
                    seen = seen.max(latest);
                    failing = false;
                }
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "sign-in: cannot read revocations; keeping those known");
                }
                Err(_) => {}
            }
        }
    });
    Ok(())
}
