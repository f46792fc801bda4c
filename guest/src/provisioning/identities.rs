//! Who a Jira user is at the provider (§4.4): an explicit mapping an admin saved for the
//! connector, else (unless the connector is mapping-only) the user's Jira email.
//!
//! Mapped accounts and the identity each grant was provisioned with are secret values
//! (`identity-mapping:…` and `external-identity:<grantId>` in secret storage); plain storage
//! keeps metadata with a fingerprint. A grant's identity is kept so deprovisioning removes the
//! very account provisioning added, and is pruned by the retention sweep after it is released.

use super::connectors::{self, Connector, IdentityMatch};
use super::relay::{err, RelayError};
use crate::audit::{self, AuditDraft};
use crate::error::{AppError, AppResult};
use crate::host::{Host, HttpRequest, Principal};
use crate::storage::{keys, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The provider account (a secret value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

impl Identity {
    /// Keyed (see `provisioning::fingerprint`): shows that an identity changed, not what it is.
    pub fn fingerprint(&self, key: &[u8]) -> String {
        super::fingerprint(
            key,
            &format!("{}\n{}", self.email, self.user_id.as_deref().unwrap_or("")),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mapping {
    pub connector_id: String,
    pub account_id: String,
    pub fingerprint: String,
    pub updated_at: String,
    pub updated_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantIdentity {
    pub grant_id: String,
    pub connector_id: String,
    pub account_id: String,
    /// `mapping` or `jiraEmail`.
    pub source: String,
    pub fingerprint: String,
    pub group_id: String,
    pub resolved_at: String,
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((l, d)) => {
            !l.is_empty() && d.contains('.') && !d.contains('@') && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

fn account_ok(a: &str) -> bool {
    (1..=128).contains(&a.len())
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_' | b'.'))
}

/// `admin.identities.set {connectorId, accountId, email, externalId?}`.
pub fn set_mapping(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let s = |k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("")
    };
    let (cid, account, email) = (s("connectorId"), s("accountId"), s("email"));
    let c = connectors::load(store, cid)?.ok_or_else(|| {
        AppError::not_found("CONNECTOR_NOT_FOUND", format!("no connector {cid:?}"))
    })?;
    let mut errors = serde_json::Map::new();
    if !account_ok(account) {
        errors.insert("accountId".into(), json!("a Jira account id"));
    }
    if !looks_like_email(email) || email.len() > 320 {
        errors.insert("email".into(), json!("the provider login email"));
    }
    let user_id = Some(s("externalId"))
        .filter(|x| !x.is_empty())
        .map(String::from);
    if user_id.as_ref().is_some_and(|u| u.len() > 255) {
        errors.insert("externalId".into(), json!("at most 255 characters"));
    }
    if !errors.is_empty() {
        return Err(
            AppError::invalid("MAPPING_INVALID", "the mapping has invalid fields")
                .with_details(Value::Object(errors)),
        );
    }
    // The mapped Jira user is one Jira knows and who is active (D-124).
    crate::access::require_active_account(host, "accountId", account)?;
    let ident = Identity {
        email: email.to_lowercase(),
        user_id,
    };
    let key = keys::identity_mapping(&c.id, account);
    // Secret first: metadata never points at a value that is not there.
    host.secret_set(
        &key,
        &serde_json::to_string(&ident).expect("identity serializes"),
    )?;
    let meta = Mapping {
        connector_id: c.id.clone(),
        account_id: account.to_string(),
        fingerprint: ident.fingerprint(&super::fingerprint_key(host)?),
        updated_at: crate::time::rfc3339(host.now_ms()),
        updated_by: who.to_string(),
    };
    let mut d = AuditDraft::new("identity_mapping_saved", who);
    d.subject = json!({"connectorId": c.id, "accountId": account});
    d.data = json!({"fingerprint": meta.fingerprint});
    let mac = audit::mac_key(store, None)?;
    audit::commit_with_audit(store, &mac, None, &[d], |tx| {
        tx.set(&key, &meta)?;
        Ok(())
    })?;
    Ok(json!({"mapping": meta}))
}

/// `admin.identities.delete {connectorId, accountId}`.
pub fn delete_mapping(host: &dyn Host, who: &str, p: &Value) -> AppResult<Value> {
    let store = Store::new(host);
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("");
    let key = keys::identity_mapping(s("connectorId"), s("accountId"));
    if crate::storage::rules::check_key(&key).is_err() || store.get_raw(&key)?.is_none() {
        return Ok(json!({"deleted": false}));
    }
    let mut d = AuditDraft::new("identity_mapping_deleted", who);
    d.subject = json!({"connectorId": s("connectorId"), "accountId": s("accountId")});
    let mac = audit::mac_key(store, None)?;
    // The secret goes first: `resolve` uses a mapping only while both exist, so a crash
    // between the two leaves the mapping out of effect (and still listed, to delete again).
    match host.secret_delete(&key) {
        Ok(()) | Err(crate::host::HostError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    audit::commit_with_audit(store, &mac, None, &[d], |tx| {
        tx.delete(&key)?;
        Ok(())
    })?;
    Ok(json!({"deleted": true}))
}

/// `admin.identities.list {connectorId}`: metadata and fingerprints only.
pub fn list_mappings(store: Store<'_>, p: &Value) -> AppResult<Value> {
    let cid = p.get("connectorId").and_then(Value::as_str).unwrap_or("");
    if !crate::catalog::is_tool_id(cid) {
        return Err(AppError::invalid(
            "FIELD_MISSING",
            "connectorId is required",
        ));
    }
    let rows = store.scan::<Mapping>(&keys::identity_mapping_prefix(cid), 1_000)?;
    Ok(json!({"mappings": rows.into_iter().map(|(_, m)| m).collect::<Vec<_>>()}))
}

/// The provider account for `account_id` under connector `c` (mapping, else Jira email).
pub fn resolve(
    host: &dyn Host,
    c: &Connector,
    account_id: &str,
) -> Result<(Identity, &'static str), RelayError> {
    let key = keys::identity_mapping(&c.id, account_id);
    let unavailable = |_| {
        err(
            "SECRETS_UNAVAILABLE",
            true,
            "secret storage is unavailable".into(),
        )
    };
    // A mapping is in effect only while its (audited) metadata exists.
    let mapped = Store::new(host)
        .get_raw(&key)
        .map_err(|_| err("STORAGE_UNAVAILABLE", true, "storage is unavailable".into()))?
        .is_some();
    if mapped {
        if let Some(text) = host.secret_get(&key).map_err(unavailable)? {
            if let Ok(ident) = serde_json::from_str::<Identity>(&text) {
                return Ok((ident, "mapping"));
            }
        }
    }
    if c.identity_match == IdentityMatch::MappingOnly {
        return Err(err(
            "IDENTITY_UNMAPPED",
            false,
            "the connector matches by explicit mapping only and this person has none".into(),
        ));
    }
    let url = format!(
        "/rest/api/3/user?accountId={}",
        super::relay::segment(account_id)
    );
    let resp = host
        .jira(Principal::App, &HttpRequest::get(url))
        .map_err(|_| {
            err(
                "JIRA_UNAVAILABLE",
                true,
                "Jira could not be reached to read the user's email".into(),
            )
        })?;
    match resp.status {
        200 => {}
        404 => {
            return Err(err(
                "IDENTITY_UNRESOLVED",
                false,
                "Jira no longer knows this account".into(),
            ))
        }
        429 | 500..=599 => {
            return Err(err(
                "JIRA_UNAVAILABLE",
                true,
                format!("Jira answered {} reading the user", resp.status),
            ))
        }
        s => {
            return Err(err(
                "IDENTITY_UNRESOLVED",
                false,
                format!("Jira answered {s} reading the user"),
            ))
        }
    }
    let email = serde_json::from_str::<Value>(&resp.body)
        .ok()
        .and_then(|v| v["emailAddress"].as_str().map(str::to_lowercase))
        .filter(|e| looks_like_email(e));
    match email {
        Some(email) => Ok((
            Identity {
                email,
                user_id: None,
            },
            "jiraEmail",
        )),
        None => Err(err(
            "IDENTITY_UNRESOLVED",
            false,
            "Jira hides this person's email (profile visibility); add an identity mapping".into(),
        )),
    }
}

/// The identity a grant was provisioned with, if any.
pub fn for_grant(
    host: &dyn Host,
    grant_id: &str,
) -> Result<Option<(GrantIdentity, Identity)>, RelayError> {
    let key = keys::external_identity(grant_id);
    let store = Store::new(host);
    let unavailable = |_| err("STORAGE_UNAVAILABLE", true, "storage is unavailable".into());
    let Some(meta) = store.get::<GrantIdentity>(&key).map_err(unavailable)? else {
        return Ok(None);
    };
    let text = host.secret_get(&key).map_err(|_| {
        err(
            "SECRETS_UNAVAILABLE",
            true,
            "secret storage is unavailable".into(),
        )
    })?;
    Ok(text
        .and_then(|t| serde_json::from_str::<Identity>(&t).ok())
        .map(|i| (meta, i)))
}

/// Records the identity a grant is being provisioned with (before the relay call, so a crash
/// after the call still knows whom to deprovision). Secret first, then metadata.
pub fn remember(
    host: &dyn Host,
    grant_id: &str,
    c: &Connector,
    account_id: &str,
    group_id: &str,
    ident: &Identity,
    source: &str,
) -> Result<(), RelayError> {
    let key = keys::external_identity(grant_id);
    host.secret_set(
        &key,
        &serde_json::to_string(ident).expect("identity serializes"),
    )
    .map_err(|_| {
        err(
            "SECRETS_UNAVAILABLE",
            true,
            "secret storage is unavailable".into(),
        )
    })?;
    let meta = GrantIdentity {
        grant_id: grant_id.to_string(),
        connector_id: c.id.clone(),
        account_id: account_id.to_string(),
        source: source.to_string(),
        fingerprint: ident.fingerprint(
            &super::fingerprint_key(host)
                .map_err(|_| err("STORAGE_UNAVAILABLE", true, "storage is unavailable".into()))?,
        ),
        group_id: group_id.to_string(),
        resolved_at: crate::time::rfc3339(host.now_ms()),
    };
    Store::new(host)
        .put(&key, &meta)
        .map_err(|_| err("STORAGE_UNAVAILABLE", true, "storage is unavailable".into()))
}

/// Deletes a released grant identity (retention): metadata, its index and the secret.
pub fn prune(host: &dyn Host, index_key: &str, grant_id: &str) -> AppResult<()> {
    let store = Store::new(host);
    let key = keys::external_identity(grant_id);
    // The secret goes first: a crash after it leaves the index, so the next sweep finishes.
    match host.secret_delete(&key) {
        Ok(()) | Err(crate::host::HostError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let mut tx = store.tx();
    tx.delete(&key)?;
    tx.delete(index_key)?;
    tx.commit()?;
    Ok(())
}

/// Retention (§14): grant identities released (deprovisioned) longer ago than the identity
/// retention period are deleted, reading only the released-by-time index up to the cut-off.
pub fn prune_released(host: &dyn Host, budget: usize) -> AppResult<u32> {
    let store = Store::new(host);
    let days = crate::audit::retention::identity_days(host);
    let cutoff = host.now_ms().saturating_sub(days * 86_400_000);
    let mut n = 0;
    for (index_key, grant_id) in
        store.due::<String>(keys::EXTERNAL_IDENTITY_RELEASED_PREFIX, cutoff, budget)?
    {
        // A grant provisioned again after its release still needs its identity.
        let open = store
            .get::<crate::clearance::grants::Grant>(&keys::grant(&grant_id))?
            .is_some_and(|g| g.status.is_open());
        if open {
            store.delete(&index_key)?;
            continue;
        }
        prune(host, &index_key, &grant_id)?;
        n += 1;
    }
    Ok(n)
}

/// Forgets the identity recorded for a grant (an admin requeued its provision job after fixing
/// a mapping or a binding): the next attempt resolves it afresh.
pub fn forget(host: &dyn Host, grant_id: &str) -> AppResult<()> {
    let key = keys::external_identity(grant_id);
    Store::new(host).delete(&key)?;
    match host.secret_delete(&key) {
        Ok(()) | Err(crate::host::HostError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
