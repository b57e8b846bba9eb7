//! Sign-ins in progress: the device codes Claude Code polls and the
//! browser flows waiting for the provider. With a ledger database
//! (`share_through`) they live there, so each step may reach any instance
//! of a fleet — no sticky sessions needed; what a later step needs (who
//! approved, the PKCE verifier) is sealed with the session secret, and the
//! single-use steps delete the row they read. Without one, in memory.

use super::device::DeviceStatus;
use super::{DEVICE_TTL, Flow, Grant, POLL_INTERVAL, Person, SignIn, random_token, sha256_hex};
use crate::store::Store;
use crate::teams::view::now_ms;
use serde::{Deserialize, Serialize};

/// An approval as kept until Claude Code's next poll (sealed).
#[derive(Serialize, Deserialize)]
struct Approved {
    person: Person,
    sid: String,
    provider_refresh: Option<String>,
}

fn expiry() -> i64 {
    now_ms() + i64::try_from(DEVICE_TTL.as_millis()).unwrap_or(600_000)
}

fn logged<T>(what: &str, r: Result<T, sqlx::Error>) -> Option<T> {
    r.map_err(|e| tracing::warn!(error = %e, "sign-in: {what}"))
        .ok()
}

impl SignIn {
    /// Keep sign-ins in progress in `store`, shared by every instance
    /// using it (set once, at start).
    pub fn share_through(&self, store: Store) {
        let _ = self.store.set(store);
    }

    fn shared(&self) -> Option<&Store> {
        self.store.get()
    }

    /// Start a device flow: the device code and the user code.
    pub async fn start_device(&self) -> Result<(String, String), String> {
        let Some(store) = self.shared() else {
            return self.devices.start();
        };
        let device_code = random_token::<32>()?;
        let user_code = super::device::user_code()?;
        store
            .add_device(&sha256_hex(&device_code), &user_code, expiry(), now_ms())
            .await
            .map_err(|e| format!("cannot keep the device code: {e}"))?;
        Ok((device_code, user_code))
    }

    /// What a poll with `device_code` gets (RFC 8628 §3.5).
    pub async fn poll(&self, device_code: &str) -> Result<Grant, &'static str> {
        let Some(store) = self.shared() else {
            return self.devices.poll(device_code);
        };
        let now = now_ms();
        let row = logged(
            "poll",
            store.poll_device(&sha256_hex(device_code), now).await,
        )
        .flatten()
        .ok_or("expired_token")?;
        match row.status.as_str() {
            "pending" => {
                let early = row.last_poll_ms.is_some_and(|t| {
                    now - t < i64::try_from(POLL_INTERVAL - 1).unwrap_or(4) * 1000
                });
                Err(if early {
                    "slow_down"
                } else {
                    "authorization_pending"
                })
            }
            "complete" => {
                let approved: Approved = row
                    .outcome
                    .as_deref()
                    .and_then(|o| self.sealer.open(o))
                    .and_then(|json| serde_json::from_str(&json).ok())
                    .ok_or("access_denied")?;
                Ok(self.grant(
                    &approved.person,
                    &approved.sid,
                    approved.provider_refresh.as_deref(),
                ))
            }
            _ => Err("access_denied"),
        }
    }

    /// The person refused the code in the browser.
    pub async fn deny(&self, user_code: &str) -> bool {
        let code = user_code.trim().to_uppercase();
        match self.shared() {
            Some(store) => {
                logged("deny", store.deny_user_code(&code, now_ms()).await).unwrap_or(false)
            }
            None => self.devices.deny(&code),
        }
    }

    /// The device key of a pending user code.
    pub(super) async fn pending_key(&self, user_code: &str) -> Option<String> {
        let code = user_code.trim().to_uppercase();
        match self.shared() {
            Some(store) => {
                logged("read a code", store.pending_device(&code, now_ms()).await).flatten()
            }
            None => self.devices.key_of(&code),
        }
    }

    /// Whether the device code behind `key` still waits for approval.
    pub(super) async fn still_pending(&self, key: &str) -> bool {
        match self.shared() {
            // Settling checks again; a code gone meanwhile is refused there.
            Some(_) => true,
            None => self.devices.is_pending(key),
        }
    }

    /// Approve (with who and their sign-in) or refuse a pending code;
    /// false when it was no longer pending.
    pub(super) async fn settle(
        &self,
        key: &str,
        approved: Option<(&Person, &str, Option<&str>)>,
    ) -> bool {
        let Some(store) = self.shared() else {
            let status = match approved {
                Some((person, sid, prt)) => {
                    DeviceStatus::Complete(Box::new(self.grant(person, sid, prt)))
                }
                None => DeviceStatus::Denied,
            };
            return self.devices.settle(key, status);
        };
        let outcome = match approved {
            Some((person, sid, provider_refresh)) => {
                let a = Approved {
                    person: person.clone(),
                    sid: sid.to_string(),
                    provider_refresh: provider_refresh.map(str::to_string),
                };
                let sealed = serde_json::to_string(&a)
                    .map_err(|e| e.to_string())
                    .and_then(|json| self.sealer.seal(&json));
                match sealed {
                    Ok(s) => Some(s),
                    Err(e) => {
                        tracing::warn!(error = %e, "sign-in: cannot keep an approval");
                        return false;
                    }
                }
            }
            None => None,
        };
        let status = if outcome.is_some() {
            "complete"
        } else {
            "denied"
        };
        logged(
            "settle a code",
            store
                .settle_device(key, status, outcome.as_deref(), now_ms())
                .await,
        )
        .unwrap_or(false)
    }

    /// Keep a browser flow until the provider answers.
    pub(super) async fn keep_flow(&self, state: String, flow: Flow) -> Result<(), String> {
        let Some(store) = self.shared() else {
            self.flows.insert(state, flow);
            return Ok(());
        };
        let json = serde_json::to_string(&flow).map_err(|e| e.to_string())?;
        let sealed = self.sealer.seal(&json)?;
        store
            .add_flow(&state, &sealed, expiry())
            .await
            .map_err(|e| format!("cannot keep the sign-in: {e}"))
    }

    /// Take the browser flow of `state`, once.
    pub(super) async fn take_flow(&self, state: &str) -> Option<Flow> {
        let Some(store) = self.shared() else {
            return self.flows.remove(state);
        };
        let sealed = logged(
            "read a browser flow",
            store.take_flow(state, now_ms()).await,
        )??;
        let json = self.sealer.open(&sealed)?;
        serde_json::from_str(&json).ok()
    }
}
