//! The RFC 8628 device codes of sign-ins in progress: each one pending until
//! a browser approves or refuses it, then handed over (or refused) once at
//! the next poll. Device codes are kept only as their SHA-256; user codes
//! are short, from a 20-letter alphabet without vowels, and good for ten
//! minutes.

use super::{DEVICE_TTL, Grant, POLL_INTERVAL, random_token, sha256_hex, ttl};
use std::sync::Arc;
use std::time::Duration;

/// Where a device code stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the person to approve it in a browser.
    Pending,
    /// Refused (by the person, or because they may not sign in).
    Denied,
    /// Approved: the tokens to hand over at the next poll.
    Complete(Box<Grant>),
}

/// A device code's state behind a lock held only for a few field reads and
/// writes, never across an await.
#[allow(clippy::disallowed_types)]
type Mutex<T> = std::sync::Mutex<T>;

#[derive(Debug)]
struct Device {
    user_code: String,
    status: DeviceStatus,
    last_poll: Option<std::time::Instant>,
}

/// Device codes in progress, and their user codes.
#[derive(Debug)]
pub struct Devices {
    devices: moka::sync::Cache<String, Arc<Mutex<Device>>>,
    user_codes: moka::sync::Cache<String, String>,
}

impl Default for Devices {
    fn default() -> Self {
        Devices {
            devices: ttl(DEVICE_TTL),
            user_codes: ttl(DEVICE_TTL),
        }
    }
}

/// A user code as RFC 8628 §6.1 suggests: eight letters from a 20-letter
/// alphabet without vowels, shown as `XXXX-XXXX`.
pub(super) fn user_code() -> Result<String, String> {
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let b = crate::teams::keys::random::<8>()?;
    let letters: String = b
        .iter()
        .map(|x| ALPHABET[usize::from(*x) % ALPHABET.len()] as char)
        .collect();
    Ok(format!("{}-{}", &letters[..4], &letters[4..]))
}

impl Devices {
    /// Start a device flow: a device code (kept only as its hash) and the
    /// user code the person types or follows.
    pub fn start(&self) -> Result<(String, String), String> {
        let device_code = random_token::<32>()?;
        let code = user_code()?;
        let key = sha256_hex(&device_code);
        self.devices.insert(
            key.clone(),
            Arc::new(Mutex::new(Device {
                user_code: code.clone(),
                status: DeviceStatus::Pending,
                last_poll: None,
            })),
        );
        self.user_codes.insert(code.clone(), key);
        Ok((device_code, code))
    }

    fn get(&self, key: &str) -> Option<Arc<Mutex<Device>>> {
        self.devices.get(key)
    }

    /// Settle a pending code (approved or refused); false when it was not
    /// pending.
    pub fn settle(&self, key: &str, status: DeviceStatus) -> bool {
        let Some(d) = self.get(key) else {
            return false;
        };
        let Ok(mut d) = d.lock() else {
            return false;
        };
        if d.status != DeviceStatus::Pending {
            return false;
        }
        self.user_codes.invalidate(&d.user_code);
        d.status = status;
        true
    }

    /// What a poll with `device_code` gets (RFC 8628 §3.5).
    pub fn poll(&self, device_code: &str) -> Result<Grant, &'static str> {
        let key = sha256_hex(device_code);
        let Some(d) = self.get(&key) else {
            return Err("expired_token");
        };
        let Ok(mut d) = d.lock() else {
            return Err("expired_token");
        };
        match &d.status {
            DeviceStatus::Pending => {
                let now = std::time::Instant::now();
                let early = d.last_poll.is_some_and(|t| {
                    now.duration_since(t) < Duration::from_secs(POLL_INTERVAL - 1)
                });
                d.last_poll = Some(now);
                Err(if early {
                    "slow_down"
                } else {
                    "authorization_pending"
                })
            }
            DeviceStatus::Denied => {
                self.devices.invalidate(&key);
                Err("access_denied")
            }
            DeviceStatus::Complete(grant) => {
                let grant = (**grant).clone();
                self.devices.invalidate(&key);
                Ok(grant)
            }
        }
    }

    /// The person refused the code in the browser.
    pub fn deny(&self, user_code: &str) -> bool {
        let code = user_code.trim().to_uppercase();
        match self.user_codes.get(&code) {
            Some(key) => self.settle(&key, DeviceStatus::Denied),
            None => false,
        }
    }

    /// The device key a user code stands for, while it is pending.
    pub fn key_of(&self, user_code: &str) -> Option<String> {
        self.user_codes.get(&user_code.trim().to_uppercase())
    }

    /// Whether the device code behind `key` still waits for approval.
    pub fn is_pending(&self, key: &str) -> bool {
        self.get(key)
            .and_then(|d| d.lock().ok().map(|d| d.status == DeviceStatus::Pending))
            .unwrap_or(false)
    }
}
