//! Provisioning (spec §4.4, §8): connectors, connected mode and the signed relay to ArdSaor Core.
//!
//! - `connectors`: manual / okta-group / entra-group connectors; config in secret storage;
//!   tool binding to a dedicated entitlement group.
//! - `identities`: which provider account a Jira user is (explicit mapping, else Jira email),
//!   and the identity each grant was provisioned with.
//! - `relay`: the HMAC-signed HTTPS client for Core and its error normalisation.
//! - `reconciliation`: provider group members against grants (orphan / missing / unknown).
//!
//! The jobs that use them live with the grants they serve (`clearance::jobs`).

pub mod connectors;
pub mod identities;
pub mod reconciliation;
pub mod relay;

use crate::error::AppError;
use crate::host::Host;
use serde_json::json;

pub const ENV_CONNECTED: &str = "AICLEARANCE_CONNECTED_ENABLED";
/// Defined with the URL rules (`weburl`), since the approval engine keeps webhooks off it too.
pub use crate::weburl::ENV_CORE_URL;
pub const ENV_CORE_APP_ID: &str = "ARDSAOR_CORE_APP_ID";
pub const ENV_CORE_APP_SECRET: &str = "ARDSAOR_CORE_APP_SECRET";

/// Connected mode's preconditions (§8, §11): the feature flag is exactly `true`, the three Core
/// variables are set, `ARDSAOR_CORE_URL` is `https://`, and the license is active. The first
/// unmet one is the error code; `details.missing` lists every unmet one, so an admin fixes them
/// all in one go. A missing license context (Forge gives none in development installs) counts
/// as inactive.
pub fn connected_mode(
    host: &dyn Host,
    license_active: Option<bool>,
) -> Result<relay::CoreConfig, AppError> {
    let var = |n: &str| host.env(n).filter(|v| !v.trim().is_empty());
    let mut missing: Vec<&str> = Vec::new();
    let mut first: Option<(&str, String)> = None;
    if var(ENV_CONNECTED).as_deref().map(str::trim) != Some("true") {
        missing.push(ENV_CONNECTED);
        first.get_or_insert((
            "CONNECTED_MODE_DISABLED",
            format!("connected mode is off: set {ENV_CONNECTED}=true"),
        ));
    }
    let env_missing: Vec<&str> = [ENV_CORE_URL, ENV_CORE_APP_ID, ENV_CORE_APP_SECRET]
        .into_iter()
        .filter(|n| var(n).is_none())
        .collect();
    if !env_missing.is_empty() {
        first.get_or_insert((
            "CORE_ENV_MISSING",
            format!(
                "ArdSaor Core credentials are not configured: set {}",
                env_missing.join(", ")
            ),
        ));
        missing.extend(env_missing.iter());
    }
    let url = var(ENV_CORE_URL).unwrap_or_default();
    if !url.is_empty() && !url.trim().starts_with("https://") {
        missing.push("ARDSAOR_CORE_URL (https)");
        first.get_or_insert((
            "CORE_URL_INVALID",
            "ARDSAOR_CORE_URL must be an https:// URL".into(),
        ));
    }
    if license_active != Some(true) {
        missing.push("license");
        first.get_or_insert((
            "LICENSE_INACTIVE",
            "connected provisioning needs an active license".into(),
        ));
    }
    match first {
        Some((code, message)) => {
            Err(
                AppError::new(crate::error::ErrorKind::Forbidden, code, message)
                    .with_details(json!({"missing": missing})),
            )
        }
        None => Ok(relay::CoreConfig::new(
            url.trim(),
            var(ENV_CORE_APP_ID).unwrap_or_default().trim(),
            &var(ENV_CORE_APP_SECRET).unwrap_or_default(),
        )),
    }
}

/// The key for identity fingerprints: the audit MAC key (secret storage), so a fingerprint kept
/// in plain storage cannot be reversed by hashing a list of candidate emails.
pub fn fingerprint_key(host: &dyn Host) -> Result<Vec<u8>, crate::storage::StorageError> {
    Ok(crate::audit::mac_key(crate::storage::Store::new(host), None)?.key)
}

/// 16 hex digits of HMAC-SHA-256(`key`, `text`), for identity data (emails, provider ids).
pub fn fingerprint(key: &[u8], text: &str) -> String {
    crate::audit::chain::mac(
        key,
        &format!("identity-fingerprint\n{}", text.to_lowercase()),
    )[..16]
        .to_string()
}
