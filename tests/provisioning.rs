//! Provisioning end to end through the compiled component: connectors and their secrets,
//! connected mode's preconditions, the signed ArdSaor Core relay (emulated with its real failure
//! modes), provisioning job outcomes, and identity mapping.

mod common;

use common::*;
use host_sim::remotes::relay::{self, RelayFault};
use host_sim::runtime::RawOutcome;
use host_sim::Sim;
use serde_json::{json, Value};

const WEI: &str = "712020:6d7314cd-429c-5163-a056-f0c8e2524635";
const GROUP: &str = "AI Clearance - GitHub Copilot Business";
const MINUTE: u64 = 60_000;

fn job(sim: &Sim) -> Value {
    kvs_value(sim, "provisioning-job:g-10101.provision.1").expect("job stored")
}

fn group_members(sim: &Sim) -> Vec<String> {
    let r = &sim.state().relay;
    r.group_by_name("okta", GROUP)
        .map(|(id, _)| r.members(id))
        .unwrap_or_default()
}

fn logs(sim: &Sim) -> String {
    sim.state()
        .logs
        .iter()
        .map(|l| l.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

// covers: CL-080, CL-081, CL-082, CL-205
#[test]
fn connectors_keep_their_config_in_secret_storage_and_show_only_a_fingerprint() {
    let mut sim = wasm();
    let saved = ok(
        &mut sim,
        "admin.connectors.save",
        json!({"id": "okta", "name": "Okta", "type": "okta-group",
               "config": {"orgUrl": "https://acme.okta.com", "apiToken": OKTA_TOKEN}}),
        ADMIN,
    );
    let c = &saved["connector"];
    assert_eq!(c["type"], "okta-group");
    assert_eq!(c["enabled"], false, "a new connector starts disabled");
    assert_eq!(c["configFingerprint"].as_str().unwrap().len(), 12);
    assert!(!saved.to_string().contains(OKTA_TOKEN));
    // Only the three types exist.
    assert_eq!(
        err(
            &mut sim,
            "admin.connectors.save",
            json!({"id": "x", "name": "X", "type": "google-group"}),
            ADMIN
        ),
        "CONNECTOR_TYPE_UNSUPPORTED"
    );
    // Bad config: field names in the error, never the values.
    let rec = sim.resolve(
        "admin.connectors.save",
        &json!({"id": "okta2", "name": "Okta", "type": "okta-group",
                "config": {"orgUrl": "http://plain", "apiToken": "secret-in-error?"}}),
        Some(ADMIN),
    );
    let RawOutcome::Err(e) = &rec.outcome else {
        panic!("{:?}", rec.outcome)
    };
    assert_eq!(e.code, "CONNECTOR_INVALID");
    assert!(!format!("{e:?}").contains("secret-in-error?"));
    // Edit: name changes, config kept; a new config moves to a new secret version.
    ok(
        &mut sim,
        "admin.connectors.save",
        json!({"id": "okta", "name": "Acme Okta"}),
        ADMIN,
    );
    let again = ok(
        &mut sim,
        "admin.connectors.save",
        json!({"id": "okta", "config": {"orgUrl": "https://acme.okta.com", "apiToken": "rotated-token-1"}}),
        ADMIN,
    );
    assert_eq!(again["connector"]["configVersion"], 2);
    assert_eq!(again["connector"]["name"], "Acme Okta");
    assert_ne!(
        again["connector"]["configFingerprint"],
        c["configFingerprint"]
    );
    let st = sim.state();
    let config_keys: Vec<&String> = st
        .secrets
        .keys()
        .filter(|k| k.starts_with("connector-config:okta:"))
        .collect();
    assert_eq!(config_keys.len(), 1, "old secret deleted: {config_keys:?}");
    assert!(config_keys[0].starts_with("connector-config:okta:2:"));
    for (k, v) in &st.kvs {
        assert!(
            !v.value.contains("rotated-token-1") && !v.value.contains(OKTA_TOKEN),
            "{k} leaks"
        );
    }
    assert!(!logs(&sim).contains("rotated-token-1"));
    assert!(
        kvs_value(&sim, "connector:okta").is_some(),
        "entity `connector` (CL-220)"
    );
    let listed = ok(&mut sim, "admin.connectors.list", json!({}), ADMIN);
    assert!(!listed.to_string().contains("rotated-token-1"));
    // Enable, disable, delete (refused while a tool is bound).
    ok(
        &mut sim,
        "admin.connectors.enable",
        json!({"id": "okta"}),
        ADMIN,
    );
    ok(
        &mut sim,
        "admin.connectors.bindTool",
        json!({"toolId": "github-copilot", "connectorId": "okta"}),
        ADMIN,
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.connectors.delete",
            json!({"id": "okta"}),
            ADMIN
        ),
        "CONNECTOR_IN_USE"
    );
    ok(
        &mut sim,
        "admin.connectors.bindTool",
        json!({"toolId": "github-copilot", "connectorId": null}),
        ADMIN,
    );
    let off = ok(
        &mut sim,
        "admin.connectors.disable",
        json!({"id": "okta"}),
        ADMIN,
    );
    assert_eq!(off["connector"]["enabled"], false);
    assert_eq!(
        ok(
            &mut sim,
            "admin.connectors.delete",
            json!({"id": "okta"}),
            ADMIN
        )["deleted"],
        true
    );
    assert!(kvs_value(&sim, "connector:okta").is_none());
    assert!(!sim
        .state()
        .secrets
        .keys()
        .any(|k| k.starts_with("connector-config:okta")));
    // Only admins manage connectors.
    assert_eq!(
        err(&mut sim, "admin.connectors.list", json!({}), MARCUS),
        "ADMIN_REQUIRED"
    );
    assert!(audit_of(&sim, "connector_saved").len() >= 3);
    assert_eq!(audit_of(&sim, "connector_deleted").len(), 1);
}

// covers: CL-084, CL-090, CL-091, CL-092
#[test]
fn connected_connectors_need_the_flag_the_core_variables_and_a_license() {
    let mut sim = wasm();
    ok(
        &mut sim,
        "admin.connectors.save",
        json!({"id": "entra", "name": "Entra", "type": "entra-group",
              "config": {"tenantId": "3f1c2a9e-0b7d-4c55-9a1e-5d2f8b6c7e10",
                         "clientId": "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d", "clientSecret": "entra-secret-xyz"}}),
        ADMIN,
    );
    ok(
        &mut sim,
        "admin.connectors.save",
        json!({"id": "by-hand", "name": "By hand", "type": "manual"}),
        ADMIN,
    );
    let env = |sim: &mut Sim, k: &str, v: Option<&str>| {
        let e = &mut sim.state_mut().env;
        match v {
            Some(v) => e.insert(k.into(), v.into()),
            None => e.remove(k),
        };
    };
    let refusal = |sim: &mut Sim| -> (String, String) {
        match &sim
            .resolve(
                "admin.connectors.enable",
                &json!({"id": "entra"}),
                Some(ADMIN),
            )
            .outcome
        {
            RawOutcome::Err(e) => (e.code.clone(), format!("{:?}", e.details)),
            other => panic!("enable should fail: {other:?}"),
        }
    };
    env(&mut sim, "AICLEARANCE_CONNECTED_ENABLED", Some("yes"));
    assert_eq!(
        refusal(&mut sim).0,
        "CONNECTED_MODE_DISABLED",
        "only exactly `true` turns it on"
    );
    env(&mut sim, "AICLEARANCE_CONNECTED_ENABLED", Some("true"));
    env(&mut sim, "ARDSAOR_CORE_APP_ID", None);
    env(&mut sim, "ARDSAOR_CORE_APP_SECRET", None);
    let (code, details) = refusal(&mut sim);
    assert_eq!(code, "CORE_ENV_MISSING");
    assert!(
        details.contains("ARDSAOR_CORE_APP_ID") && details.contains("ARDSAOR_CORE_APP_SECRET"),
        "{details}"
    );
    assert!(
        !details.contains("ARDSAOR_CORE_URL"),
        "only what is missing: {details}"
    );
    env(&mut sim, "ARDSAOR_CORE_APP_ID", Some("aiclearance-acme-ai"));
    env(
        &mut sim,
        "ARDSAOR_CORE_APP_SECRET",
        Some("sim-core-secret-4b9e27d1c0a8f3"),
    );
    env(&mut sim, "SIM_LICENSE_ACTIVE", Some("false"));
    assert_eq!(refusal(&mut sim).0, "LICENSE_INACTIVE");
    assert_eq!(
        err(
            &mut sim,
            "admin.connectors.test",
            json!({"id": "entra"}),
            ADMIN
        ),
        "LICENSE_INACTIVE"
    );
    // Manual fulfilment is always available.
    ok(
        &mut sim,
        "admin.connectors.enable",
        json!({"id": "by-hand"}),
        ADMIN,
    );
    assert!(
        sim.state().relay.calls.is_empty(),
        "no Core call while blocked"
    );
    env(&mut sim, "SIM_LICENSE_ACTIVE", None);
    let on = ok(
        &mut sim,
        "admin.connectors.enable",
        json!({"id": "entra"}),
        ADMIN,
    );
    assert_eq!(on["connector"]["enabled"], true);
    assert_eq!(audit_of(&sim, "connector_enabled").len(), 2);
}

// covers: CL-085, CL-094, CL-095, CL-097, CL-024, CL-093, CL-203
#[test]
fn the_test_and_bind_calls_are_signed_and_failures_come_back_normalised() {
    let mut sim = wasm();
    ok(
        &mut sim,
        "admin.connectors.save",
        json!({"id": "okta", "name": "Okta", "type": "okta-group",
              "config": {"orgUrl": "https://acme.okta.com", "apiToken": OKTA_TOKEN}}),
        ADMIN,
    );
    let t = ok(
        &mut sim,
        "admin.connectors.test",
        json!({"id": "okta"}),
        ADMIN,
    );
    assert_eq!(t["test"]["ok"], true, "{t}");
    let calls = &sim.state().relay.calls;
    assert_eq!(
        (
            calls[0].method.as_str(),
            calls[0].path.as_str(),
            calls[0].status
        ),
        ("POST", "/v1/ping", 200),
        "the relay verified the signature"
    );
    // A wrong secret: Core refuses, the app says why in its own words.
    sim.state_mut()
        .env
        .insert("ARDSAOR_CORE_APP_SECRET".into(), "wrong-secret".into());
    let t = ok(
        &mut sim,
        "admin.connectors.test",
        json!({"id": "okta"}),
        ADMIN,
    );
    assert_eq!(t["test"]["ok"], false);
    assert_eq!(t["test"]["code"], "RELAY_AUTH_FAILED");
    assert!(
        t["test"]["message"]
            .as_str()
            .unwrap()
            .contains("bad_signature"),
        "{t}"
    );
    assert!(
        !t.to_string().contains("does not match the request"),
        "Core's text is not echoed: {t}"
    );
    sim.state_mut().env.insert(
        "ARDSAOR_CORE_APP_SECRET".into(),
        "sim-core-secret-4b9e27d1c0a8f3".into(),
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.connectors.bindTool",
            json!({"toolId": "github-copilot", "connectorId": "okta"}),
            ADMIN
        ),
        "CONNECTOR_DISABLED"
    );
    // The last test failed, so it does not enable until a test passes (D-70).
    assert_eq!(
        err(
            &mut sim,
            "admin.connectors.enable",
            json!({"id": "okta"}),
            ADMIN
        ),
        "CONNECTOR_TEST_FAILED"
    );
    ok(
        &mut sim,
        "admin.connectors.test",
        json!({"id": "okta"}),
        ADMIN,
    );
    ok(
        &mut sim,
        "admin.connectors.enable",
        json!({"id": "okta"}),
        ADMIN,
    );
    let bound = ok(
        &mut sim,
        "admin.connectors.bindTool",
        json!({"toolId": "github-copilot", "connectorId": "okta"}),
        ADMIN,
    );
    let g = &bound["tool"]["entitlementGroup"];
    assert_eq!(
        g["created"], true,
        "Core created the dedicated group: {bound}"
    );
    assert_eq!(g["name"], GROUP);
    assert!(sim.state().relay.group_by_name("okta", GROUP).is_some());
    // The existing ChatGPT Enterprise group (site fixture) is bound, not recreated.
    let bound = ok(
        &mut sim,
        "admin.connectors.bindTool",
        json!({"toolId": "chatgpt-enterprise", "connectorId": "okta"}),
        ADMIN,
    );
    assert_eq!(bound["tool"]["entitlementGroup"]["created"], false);
    // A 5xx during binding is a typed, retryable error.
    sim.state_mut()
        .relay
        .faults
        .push_back(RelayFault::ServerError);
    assert_eq!(
        err(
            &mut sim,
            "admin.connectors.bindTool",
            json!({"toolId": "claude-team", "connectorId": "okta"}),
            ADMIN
        ),
        "RELAY_UNAVAILABLE"
    );
    // Only https Core URLs; everything went to the declared Core host.
    sim.state_mut()
        .env
        .insert("ARDSAOR_CORE_URL".into(), "http://core.ardsaor.io".into());
    assert_eq!(
        err(
            &mut sim,
            "admin.connectors.test",
            json!({"id": "okta"}),
            ADMIN
        ),
        "CORE_URL_INVALID"
    );
    let manifest = std::fs::read_to_string(root().join("manifest.yml")).unwrap();
    assert!(manifest.contains("https://*.ardsaor.io") && !manifest.contains("http://"));
}

// covers: CL-071, CL-086, CL-087, CL-096, CL-101, CL-202
#[test]
fn an_approved_connected_grant_becomes_active_after_core_adds_the_member() {
    let mut sim = wasm();
    // Baseline first: with no connector, the whole flow makes no outbound call.
    deliver(&mut sim, &["001", "006"]);
    assert!(sim.state().relay.calls.is_empty());
    connect_okta(&mut sim, None);
    let before = sim.state().relay.calls.len();
    approve_air2(&mut sim);
    let j = job(&sim);
    assert_eq!(j["status"], "succeeded", "{j}");
    assert_eq!(j["result"]["applied"], true);
    let g = kvs_value(&sim, "access-grant:g-10101").unwrap();
    assert_eq!(g["status"], "active", "active only after Core confirmed");
    assert_eq!(
        group_members(&sim),
        vec!["wei.chen@acme.example".to_string()]
    );
    let calls = &sim.state().relay.calls[before..];
    // The membership change, then the check that verifies it (a read of the group).
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].method, "GET");
    let c = &calls[0];
    assert_eq!(c.method, "POST");
    assert!(c.idempotent, "membership changes carry an Idempotency-Key");
    let allowed = [
        "cloudId",
        "connector",
        "grant",
        "subject",
        "externalIdentity",
        "context",
    ];
    assert!(
        c.body_keys.iter().all(|k| allowed.contains(&k.as_str())),
        "{:?}",
        c.body_keys
    );
    assert!(
        c.path.starts_with("/v1/groups/") && c.path.ends_with("/members"),
        "only group membership"
    );
    // The provision and the check that verified it.
    assert_eq!(audit_of(&sim, "provisioning_job_succeeded").len(), 2);
    assert_eq!(audit_of(&sim, "grant_activated").len(), 1);
    // The identity used is remembered (secret), with only a fingerprint in plain storage.
    let ident = kvs_value(&sim, "external-identity:g-10101").unwrap();
    assert_eq!(ident["source"], "jiraEmail");
    assert!(!ident.to_string().contains("wei.chen"));
    assert!(sim
        .state()
        .secrets
        .contains_key("external-identity:g-10101"));
    // Revoking removes exactly that member through a deprovision job.
    ok(
        &mut sim,
        "clearance.grants.revoke",
        json!({"grantId": "g-10101", "reason": "left"}),
        ADMIN,
    );
    sim.settle();
    let d = kvs_value(&sim, "provisioning-job:g-10101.deprovision.3").unwrap();
    assert_eq!(d["status"], "succeeded", "{d}");
    assert!(group_members(&sim).is_empty());
    assert!(verify(&mut sim).ok);
}

// covers: CL-102, CL-105, CL-100
#[test]
fn retryable_failures_back_off_exponentially_and_honour_retry_after() {
    let mut sim = wasm();
    connect_okta(&mut sim, None);
    {
        let f = &mut sim.state_mut().relay.faults;
        f.push_back(RelayFault::ServerError);
        f.push_back(RelayFault::Timeout);
        f.push_back(RelayFault::ServerError);
        f.push_back(RelayFault::RateLimited {
            retry_after_s: 1_200,
        });
    }
    approve_air2(&mut sim);
    let mut waits = Vec::new();
    let mut last_due = 0;
    for round in 0..4 {
        let j = job(&sim);
        assert_eq!(j["status"], "retrying", "round {round}: {j}");
        let due = aiclearance::time::parse(j["dueAt"].as_str().unwrap()).unwrap();
        let updated = aiclearance::time::parse(j["updatedAt"].as_str().unwrap()).unwrap();
        waits.push((due - updated) / MINUTE);
        assert!(due > last_due);
        last_due = due;
        sim.advance(due - sim.state().clock_ms + 1);
        if job(&sim)["dueAt"] == j["dueAt"] && job(&sim)["status"] == "retrying" {
            // Waits over 15 minutes exceed a queue delay: the hourly job runner takes them.
            sim.advance(61 * MINUTE);
        }
        if job(&sim)["status"] == "succeeded" {
            break;
        }
    }
    assert_eq!(
        waits,
        vec![1, 2, 4, 20],
        "1, 2, 4 minutes, then Core's Retry-After (20 min > 8)"
    );
    assert_eq!(job(&sim)["status"], "succeeded");
    assert_eq!(job(&sim)["attempts"], 5);
    let retries = audit_of(&sim, "provisioning_job_retry_scheduled");
    let reasons: Vec<&str> = retries
        .iter()
        .map(|e| e["data"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "RELAY_UNAVAILABLE",
            "RELAY_TIMEOUT",
            "RELAY_UNAVAILABLE",
            "RELAY_RATE_LIMITED"
        ]
    );
    let l = logs(&sim);
    assert!(
        l.contains("job g-10101.provision.1: attempt 2/8 failed") && l.contains("RELAY_TIMEOUT"),
        "{l}"
    );
    assert_eq!(group_members(&sim).len(), 1);
}

// covers: CL-103, CL-105
#[test]
fn terminal_failures_and_exhausted_retries_dead_letter_and_an_admin_can_requeue() {
    let mut sim = wasm();
    connect_okta(&mut sim, None);
    sim.state_mut().relay.faults.push_back(RelayFault::Terminal);
    approve_air2(&mut sim);
    let j = job(&sim);
    assert_eq!(j["status"], "deadLetter", "{j}");
    assert!(j["lastError"]
        .as_str()
        .unwrap()
        .starts_with("RELAY_REJECTED"));
    assert!(
        !j["lastError"]
            .as_str()
            .unwrap()
            .contains("upstream provider rejected"),
        "Core text not kept"
    );
    assert_eq!(
        kvs_value(&sim, "access-grant:g-10101").unwrap()["status"],
        "pendingProvision"
    );
    assert!(logs(&sim)
        .contains("job g-10101.provision.1: dead letter after 1 attempt(s) (RELAY_REJECTED"));
    let listed = ok(
        &mut sim,
        "admin.jobs.list",
        json!({"status": "deadLetter"}),
        ADMIN,
    );
    assert_eq!(listed["jobs"][0]["id"], "g-10101.provision.1");
    // Requeue: eight 503s in a row exhaust the attempts.
    for _ in 0..8 {
        sim.state_mut()
            .relay
            .faults
            .push_back(RelayFault::ServerError);
    }
    ok(
        &mut sim,
        "admin.jobs.retry",
        json!({"jobId": "g-10101.provision.1"}),
        ADMIN,
    );
    sim.settle();
    for _ in 0..10 {
        sim.advance(65 * MINUTE);
    }
    let j = job(&sim);
    assert_eq!(j["status"], "deadLetter", "{j}");
    assert_eq!(j["attempts"], 8);
    assert_eq!(audit_of(&sim, "provisioning_job_dead_lettered").len(), 2);
    assert_eq!(
        err(
            &mut sim,
            "admin.jobs.retry",
            json!({"jobId": "g-10101.provision.1"}),
            MARCUS
        ),
        "ADMIN_REQUIRED"
    );
    // Once the relay is healthy, a requeued job goes through.
    ok(
        &mut sim,
        "admin.jobs.retry",
        json!({"jobId": "g-10101.provision.1"}),
        ADMIN,
    );
    sim.settle();
    assert_eq!(job(&sim)["status"], "succeeded");
    assert_eq!(
        kvs_value(&sim, "access-grant:g-10101").unwrap()["status"],
        "active"
    );
}

// covers: CL-083, CL-088, CL-104
#[test]
fn identities_come_from_an_explicit_mapping_else_the_jira_email() {
    let mut sim = wasm();
    connect_okta(&mut sim, None);
    // Wei's provider login differs from his Jira email.
    sim.state_mut()
        .relay
        .add_user("okta", "wchen@acme-sso.example");
    let m = ok(
        &mut sim,
        "admin.identities.set",
        json!({"connectorId": "okta", "accountId": WEI, "email": "wchen@acme-sso.example",
                      "externalId": "00u1wchenX"}),
        ADMIN,
    );
    assert!(
        !m.to_string().contains("wchen@"),
        "only a fingerprint comes back: {m}"
    );
    approve_air2(&mut sim);
    assert_eq!(job(&sim)["status"], "succeeded");
    assert_eq!(
        group_members(&sim),
        vec!["wchen@acme-sso.example".to_string()]
    );
    assert_eq!(
        kvs_value(&sim, "external-identity:g-10101").unwrap()["source"],
        "mapping"
    );
    // AIR-6's requester has no Okta account: a terminal IDENTITY_NOT_FOUND with a hint to map.
    deliver(&mut sim, &["006"]);
    let requester = kvs_value(&sim, "request:10105").unwrap()["requesterAccountId"]
        .as_str()
        .unwrap()
        .to_string();
    let email = sim
        .state()
        .site
        .user(&requester)
        .unwrap()
        .email_address
        .clone()
        .unwrap();
    sim.state_mut()
        .relay
        .directory
        .get_mut("okta")
        .unwrap()
        .remove(&email.to_lowercase());
    ok(
        &mut sim,
        "clearance.approvals.decide",
        json!({"issueKey": "AIR-6", "decision": "approve"}),
        MARCUS,
    );
    sim.settle();
    let j = kvs_value(&sim, "provisioning-job:g-10105.provision.1").unwrap();
    assert_eq!(j["status"], "deadLetter", "{j}");
    assert!(
        j["lastError"]
            .as_str()
            .unwrap()
            .contains("IDENTITY_NOT_FOUND"),
        "{j}"
    );
    assert!(
        j["lastError"]
            .as_str()
            .unwrap()
            .contains("identity mapping"),
        "{j}"
    );
    let listed = ok(
        &mut sim,
        "admin.identities.list",
        json!({"connectorId": "okta"}),
        ADMIN,
    );
    assert_eq!(listed["mappings"].as_array().unwrap().len(), 1);
    // Unbound again, Copilot is fulfilled by hand: the next job goes straight to manualPending.
    ok(
        &mut sim,
        "admin.connectors.bindTool",
        json!({"toolId": "github-copilot", "connectorId": null}),
        ADMIN,
    );
    let calls = sim.state().relay.calls.len();
    deliver(&mut sim, &["007"]); // auto-approved by the Copilot policy
    let j = kvs_value(&sim, "provisioning-job:g-10106.provision.1").unwrap();
    assert_eq!(j["status"], "manualPending", "{j}");
    assert_eq!(
        sim.state().relay.calls.len(),
        calls,
        "no Core call for manual fulfilment"
    );
}

// covers: CL-094, CL-095, CL-097
#[test]
fn the_apps_signature_verifies_at_core_and_tampered_or_stale_requests_are_refused() {
    use aiclearance::host::HttpRequest;
    use aiclearance::provisioning::relay::{canonical, date, signature};
    let sim = wasm();
    let secret = sim.state().env["ARDSAOR_CORE_APP_SECRET"].clone();
    let app = sim.state().env["ARDSAOR_CORE_APP_ID"].clone();
    let mut state = sim.state().relay.clone();
    let now = sim.state().clock_ms;
    // Signed exactly as the app signs (the guest's own code, run natively).
    let signed = |body: &str, at: u64, tamper: Option<&str>| {
        let d = date(at);
        let sig = signature(&secret, &canonical("POST", "/v1/ping", &d, body));
        HttpRequest {
            method: "POST".into(),
            url: "https://core.ardsaor.io/v1/ping".into(),
            headers: vec![
                ("X-Ardsaor-App".into(), app.clone()),
                ("X-Ardsaor-Date".into(), d),
                ("X-Ardsaor-Sig".into(), sig),
            ],
            body: Some(tamper.unwrap_or(body).to_string()),
        }
    };
    let ok_resp =
        relay::answer(&signed("{\"cloudId\":\"c\"}", now, None), &mut state, now).unwrap();
    assert_eq!(ok_resp.status, 200);
    let tampered = relay::answer(
        &signed("{\"cloudId\":\"c\"}", now, Some("{\"cloudId\":\"d\"}")),
        &mut state,
        now,
    )
    .unwrap();
    assert_eq!(tampered.status, 401);
    assert!(tampered.body.contains("bad_signature"));
    let stale = relay::answer(&signed("{}", now - 10 * MINUTE, None), &mut state, now).unwrap();
    assert_eq!(stale.status, 401);
    assert!(stale.body.contains("stale_date"));
    // What the app makes of Core's refusal: its own code and words, never Core's message.
    let e = aiclearance::provisioning::relay::normalise(401, None, &stale.body);
    assert_eq!(e.code, "RELAY_AUTH_FAILED");
    assert!(!e.message.contains("relay clock"), "{}", e.message);
}

/// AIR-2 approved while the license is inactive (the job is blocked: queued, no Core call), then
/// the license is back and the job is due.
fn blocked_then_due() -> Sim {
    let mut sim = wasm();
    connect_okta(&mut sim, None);
    sim.state_mut()
        .env
        .insert("SIM_LICENSE_ACTIVE".into(), "false".into());
    approve_air2(&mut sim);
    let j = job(&sim);
    assert_eq!(j["status"], "queued");
    assert!(
        j["blocked"]
            .as_str()
            .unwrap()
            .starts_with("LICENSE_INACTIVE"),
        "{j}"
    );
    assert_eq!(
        sim.state().relay.calls.len(),
        1,
        "only the bind call: no Core call while blocked"
    );
    sim.state_mut().env.remove("SIM_LICENSE_ACTIVE");
    sim.state_mut().clock_ms += 3_600_000;
    sim
}

// covers: CL-092, CL-101
#[test]
fn a_crash_anywhere_in_a_connected_job_then_redelivery_applies_access_once() {
    let body = json!({"jobId": "g-10101.provision.1"});
    let mut clean = blocked_then_due();
    let calls = clean.deliver_queue("provisioning", &body).counts.total;
    clean.settle();
    assert_eq!(job(&clean)["status"], "succeeded");
    let expected = clean.export_state();
    for n in 1..=calls {
        let mut sim = blocked_then_due();
        sim.next_plan = host_sim::faults::FaultPlan::crash_at(n);
        let crashed = sim.deliver_queue("provisioning", &body);
        assert_eq!(crashed.outcome, RawOutcome::Crashed { at_call: n });
        sim.deliver_queue("provisioning", &body);
        sim.settle();
        // A crash can lose the push of the requester's notice; the job runner's sweep requeues
        // what is left (`notices::requeue_stale`), as done here.
        let stale: Vec<Value> = sim
            .state()
            .kvs
            .iter()
            .filter(|(k, _)| k.starts_with("decision-notice:"))
            .map(|(_, v)| serde_json::from_str::<Value>(&v.value).unwrap())
            .collect();
        for n in stale {
            sim.redeliver("decisions", &json!({"noticeId": n["id"]}));
        }
        // Likewise a lost push of the follow-up check job: the job runner runs due jobs.
        let due: Vec<String> = sim
            .state()
            .kvs
            .iter()
            .filter(|(k, _)| k.starts_with("provisioning-job-due:"))
            .map(|(_, v)| serde_json::from_str::<String>(&v.value).unwrap())
            .collect();
        for id in due {
            sim.deliver_queue("provisioning", &json!({"jobId": id}));
        }
        assert_eq!(job(&sim)["status"], "succeeded", "crash at {n}");
        assert_eq!(
            sim.state().relay.applied_count,
            1,
            "crash at {n}: the member was added once"
        );
        let provisioned = audit_of(&sim, "provisioning_job_succeeded")
            .into_iter()
            .filter(|e| e["data"]["kind"] == "provision")
            .count();
        assert_eq!(provisioned, 1);
        let mut got = sim.export_state();
        got["queued"] = expected["queued"].clone();
        assert_eq!(got, expected, "crash at call {n} + redelivery differs");
        assert!(verify(&mut sim).ok);
    }
}

// covers: CL-096
#[test]
fn a_timeout_after_core_applied_is_retried_with_the_same_idempotency_key() {
    let mut sim = wasm();
    connect_okta(&mut sim, None);
    sim.state_mut()
        .relay
        .faults
        .push_back(RelayFault::TimeoutAfterApply);
    approve_air2(&mut sim);
    assert_eq!(job(&sim)["status"], "retrying");
    assert_eq!(
        group_members(&sim).len(),
        1,
        "Core applied it; the answer was lost"
    );
    sim.advance(2 * MINUTE);
    let j = job(&sim);
    assert_eq!(j["status"], "succeeded");
    assert_eq!(j["result"]["applied"], true, "the replayed first answer");
    assert_eq!(sim.state().relay.applied_count, 1);
}

#[test]
fn a_stale_deprovision_never_removes_access_from_a_grant_extended_back_to_life() {
    let mut sim = wasm();
    connect_okta(&mut sim, None);
    approve_air2(&mut sim);
    let now = sim.state().clock_ms;
    set_grant_expiry(&mut sim, "g-10101", now + 3_600_000, false);
    sim.state_mut().clock_ms += 2 * 3_600_000;
    // The job runner expires the grant; its deprovision job meets a 503 and waits to retry.
    sim.state_mut()
        .relay
        .faults
        .push_back(RelayFault::ServerError);
    sim.run_scheduled("job-runner").unwrap();
    sim.settle();
    let d = kvs_value(&sim, "provisioning-job:g-10101.deprovision.3").unwrap();
    assert_eq!(d["status"], "retrying", "{d}");
    // Inside the grace window an admin extends the grant: it is open again.
    ok(
        &mut sim,
        "clearance.grants.extend",
        json!({"grantId": "g-10101", "days": 7, "reason": "still needed"}),
        ADMIN,
    );
    sim.advance(2 * MINUTE);
    let d = kvs_value(&sim, "provisioning-job:g-10101.deprovision.3").unwrap();
    assert_eq!(d["status"], "cancelled", "{d}");
    assert!(d["lastError"]
        .as_str()
        .unwrap()
        .starts_with("GRANT_REOPENED"));
    assert_eq!(
        kvs_value(&sim, "access-grant:g-10101").unwrap()["status"],
        "active"
    );
    assert_eq!(
        group_members(&sim),
        vec!["wei.chen@acme.example".to_string()],
        "access stays"
    );
}

#[test]
fn deprovisioning_someone_the_provider_no_longer_knows_succeeds() {
    let mut sim = wasm();
    connect_okta(&mut sim, None);
    approve_air2(&mut sim);
    // Wei left: IT deleted his Okta account (and with it his group membership).
    let gid = sim
        .state()
        .relay
        .group_by_name("okta", GROUP)
        .unwrap()
        .0
        .clone();
    let relay = &mut sim.state_mut().relay;
    relay.drift_remove(&gid, "wei.chen@acme.example");
    relay
        .directory
        .get_mut("okta")
        .unwrap()
        .remove("wei.chen@acme.example");
    ok(
        &mut sim,
        "clearance.grants.revoke",
        json!({"grantId": "g-10101", "reason": "left"}),
        ADMIN,
    );
    sim.settle();
    let d = kvs_value(&sim, "provisioning-job:g-10101.deprovision.3").unwrap();
    assert_eq!(d["status"], "succeeded", "no access is left to remove: {d}");
    assert_eq!(d["result"]["applied"], false);
    assert_eq!(d["result"]["note"], "IDENTITY_NOT_FOUND");
    assert_eq!(
        count_prefix(&sim, "external-identity-released:"),
        1,
        "released for retention"
    );
}

/// A dead-lettered provision job leaves its open grant recoverable: the job is listed with what
/// an admin can do, is not pruned after 30 days while the grant is open, can still be retried,
/// or be switched to manual and marked fulfilled (the grant then goes active).
// covers: CL-103, CL-152, CL-065
#[test]
fn a_dead_lettered_provision_job_stays_recoverable_while_its_grant_is_open() {
    const DAY: u64 = 86_400_000;
    let dead_lettered = || {
        let mut sim = wasm();
        connect_okta(&mut sim, None);
        sim.state_mut().relay.faults.push_back(RelayFault::Terminal);
        approve_air2(&mut sim);
        assert_eq!(job(&sim)["status"], "deadLetter");
        // A long grant, so it is still open when the job runner prunes after 30 days.
        let now = sim.state().clock_ms;
        set_grant_expiry(&mut sim, "g-10101", now + 120 * DAY, false);
        sim.state_mut().clock_ms += 31 * DAY;
        let run = sim.run_scheduled("job-runner").unwrap();
        assert!(
            matches!(run.outcome, RawOutcome::Ok(_)),
            "{:?}",
            run.outcome
        );
        sim
    };

    let mut sim = dead_lettered();
    assert_eq!(
        job(&sim)["status"],
        "deadLetter",
        "kept while the grant is open"
    );
    let listed = ok(
        &mut sim,
        "admin.jobs.list",
        json!({"status": "deadLetter"}),
        ADMIN,
    );
    assert_eq!(listed["jobs"][0]["id"], "g-10101.provision.1");
    assert_eq!(
        listed["jobs"][0]["recovery"],
        json!([
            "admin.jobs.retry",
            "admin.jobs.manual",
            "clearance.grants.revoke"
        ])
    );
    ok(
        &mut sim,
        "admin.jobs.retry",
        json!({"jobId": "g-10101.provision.1"}),
        ADMIN,
    );
    sim.settle();
    assert_eq!(job(&sim)["status"], "succeeded");
    assert_eq!(
        kvs_value(&sim, "access-grant:g-10101").unwrap()["status"],
        "active"
    );

    // Or an admin switches it to manual and marks it fulfilled.
    let mut sim = dead_lettered();
    assert_eq!(
        err(
            &mut sim,
            "admin.jobs.manual",
            json!({"jobId": "g-10101.provision.1"}),
            MARCUS
        ),
        "ADMIN_REQUIRED"
    );
    let m = ok(
        &mut sim,
        "admin.jobs.manual",
        json!({"jobId": "g-10101.provision.1"}),
        ADMIN,
    );
    assert_eq!(m["job"]["status"], "manualPending");
    let tab = ok(&mut sim, "clearance.approvals.tab", json!({}), MARCUS);
    assert!(
        tab["manualActions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["jobId"] == "g-10101.provision.1" && a["action"] == "fulfilled"),
        "{tab}"
    );
    ok(
        &mut sim,
        "admin.jobs.complete",
        json!({"jobId": "g-10101.provision.1", "action": "fulfilled"}),
        ADMIN,
    );
    assert_eq!(
        kvs_value(&sim, "access-grant:g-10101").unwrap()["status"],
        "active"
    );
    assert_eq!(
        audit_of(&sim, "provisioning_job_switched_to_manual").len(),
        1
    );
    assert!(verify(&mut sim).ok);
}

/// Revoking a grant cancels its open provision job; reopening it in its grace window cancels
/// its open deprovision job. The manual-actions list never offers both "Mark fulfilled" and
/// "Mark deprovisioned" for one grant.
// covers: CL-077, CL-063, CL-076
#[test]
fn revoke_cancels_the_open_provision_job_and_reopening_cancels_the_deprovision_job() {
    const DAY: u64 = 86_400_000;
    let actions = |sim: &mut Sim| -> Vec<(String, String)> {
        let tab = ok(sim, "clearance.approvals.tab", json!({}), MARCUS);
        tab["manualActions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["jobId"].as_str().unwrap().starts_with("g-10101."))
            .map(|a| {
                (
                    a["jobId"].as_str().unwrap().to_string(),
                    a["action"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let mut sim = wasm();
    approve_air2(&mut sim); // manual path: the provision job waits for a person
    assert_eq!(
        actions(&mut sim),
        [("g-10101.provision.1".to_string(), "fulfilled".to_string())]
    );
    let r = ok(
        &mut sim,
        "clearance.grants.revoke",
        json!({"grantId": "g-10101", "reason": "no longer needed"}),
        MARCUS,
    );
    assert_eq!(r["cancelledJobId"], "g-10101.provision.1");
    sim.settle();
    assert_eq!(job(&sim)["status"], "cancelled");
    assert_eq!(
        actions(&mut sim),
        [(
            "g-10101.deprovision.2".to_string(),
            "deprovisioned".to_string()
        )],
        "only the deprovision is offered"
    );

    // A second grant: active, expired by the job runner, then reopened in its grace window.
    let mut sim = wasm();
    approve_air2(&mut sim);
    ok(
        &mut sim,
        "clearance.jobs.complete",
        json!({"jobId": "g-10101.provision.1", "action": "fulfilled"}),
        MARCUS,
    );
    let now = sim.state().clock_ms;
    set_grant_expiry(&mut sim, "g-10101", now - DAY, false);
    sim.run_scheduled("job-runner").unwrap();
    sim.settle();
    assert_eq!(
        kvs_value(&sim, "access-grant:g-10101").unwrap()["status"],
        "expired"
    );
    assert_eq!(
        actions(&mut sim),
        [(
            "g-10101.deprovision.2".to_string(),
            "deprovisioned".to_string()
        )]
    );
    let e = ok(
        &mut sim,
        "clearance.grants.extend",
        json!({"grantId": "g-10101", "days": 14, "reason": "still needed"}),
        MARCUS,
    );
    assert_eq!(e["cancelledJobId"], "g-10101.deprovision.2", "{e}");
    sim.settle();
    assert_eq!(
        kvs_value(&sim, "provisioning-job:g-10101.deprovision.2").unwrap()["status"],
        "cancelled"
    );
    let offered = actions(&mut sim);
    assert!(
        offered.iter().all(|(_, a)| a != "deprovisioned"),
        "{offered:?}"
    );
    assert_eq!(audit_of(&sim, "provisioning_job_cancelled").len(), 1);
    assert!(verify(&mut sim).ok);
}

/// Requesters hear about their access: activation, extension, revocation and expiry each leave
/// a comment on the request's issue.
// covers: CL-053
#[test]
fn grant_activation_extension_revocation_and_expiry_comment_on_the_issue() {
    const DAY: u64 = 86_400_000;
    let has = |sim: &Sim, key: &str, text: &str| {
        issue_comments(sim, key).iter().any(|c| c.contains(text))
    };
    let mut sim = wasm();
    approve_air2(&mut sim);
    ok(
        &mut sim,
        "clearance.jobs.complete",
        json!({"jobId": "g-10101.provision.1", "action": "fulfilled"}),
        MARCUS,
    );
    sim.settle();
    // Room under the 180-day lifetime for an extension.
    let now = sim.state().clock_ms;
    set_grant_expiry(&mut sim, "g-10101", now + 30 * DAY, false);
    assert!(
        has(&sim, "AIR-2", "your access is active"),
        "{:?}",
        issue_comments(&sim, "AIR-2")
    );
    ok(
        &mut sim,
        "clearance.grants.extend",
        json!({"grantId": "g-10101", "days": 7, "reason": "project runs longer"}),
        MARCUS,
    );
    sim.settle();
    assert!(has(&sim, "AIR-2", "your access was extended"));
    assert!(has(&sim, "AIR-2", "project runs longer"));
    ok(
        &mut sim,
        "clearance.grants.revoke",
        json!({"grantId": "g-10101", "reason": "left the team"}),
        MARCUS,
    );
    sim.settle();
    assert!(has(&sim, "AIR-2", "your access was revoked"));

    let mut sim = wasm();
    approve_air2(&mut sim);
    let now = sim.state().clock_ms;
    set_grant_expiry(&mut sim, "g-10101", now - DAY, false);
    sim.run_scheduled("job-runner").unwrap();
    sim.settle();
    assert!(
        has(&sim, "AIR-2", "your access has expired"),
        "{:?}",
        issue_comments(&sim, "AIR-2")
    );
}

/// "Check" jobs: a verification follows each connected provision and deprovision, and an admin
/// can ask for one on demand; a manual check is what "Mark verified" closes.
// covers: CL-100, CL-064
#[test]
fn check_jobs_follow_connected_changes_and_can_be_asked_for_on_demand() {
    let mut sim = wasm();
    connect_okta(&mut sim, None);
    approve_air2(&mut sim);
    assert_eq!(job(&sim)["status"], "succeeded");
    let c = kvs_value(&sim, "provisioning-job:g-10101.check.2").expect("a check after provision");
    assert_eq!(c["status"], "succeeded", "{c}");
    assert_eq!(c["result"]["inSync"], true, "{c}");
    assert_eq!(c["result"]["member"], true);
    ok(
        &mut sim,
        "clearance.grants.revoke",
        json!({"grantId": "g-10101", "reason": "left"}),
        ADMIN,
    );
    sim.settle();
    let d = kvs_value(&sim, "provisioning-job:g-10101.deprovision.3").unwrap();
    assert_eq!(d["status"], "succeeded", "{d}");
    let c = kvs_value(&sim, "provisioning-job:g-10101.check.4").expect("a check after deprovision");
    assert_eq!(
        (
            c["result"]["member"].as_bool(),
            c["result"]["inSync"].as_bool()
        ),
        (Some(false), Some(true)),
        "{c}"
    );

    // Manual path: an admin asks for a check; an approver marks it verified.
    let mut sim = wasm();
    approve_air2(&mut sim);
    ok(
        &mut sim,
        "clearance.jobs.complete",
        json!({"jobId": "g-10101.provision.1", "action": "fulfilled"}),
        MARCUS,
    );
    assert_eq!(
        err(
            &mut sim,
            "admin.jobs.check",
            json!({"grantId": "g-10101"}),
            MARCUS
        ),
        "ADMIN_REQUIRED"
    );
    let r = ok(
        &mut sim,
        "admin.jobs.check",
        json!({"grantId": "g-10101"}),
        ADMIN,
    );
    assert_eq!(r["jobId"], "g-10101.check.2");
    assert_eq!(
        err(
            &mut sim,
            "admin.jobs.check",
            json!({"grantId": "g-10101"}),
            ADMIN
        ),
        "JOB_ALREADY_OPEN"
    );
    sim.settle();
    let tab = ok(&mut sim, "clearance.approvals.tab", json!({}), MARCUS);
    assert!(
        tab["manualActions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["jobId"] == "g-10101.check.2" && a["action"] == "verified"),
        "{tab}"
    );
    ok(
        &mut sim,
        "clearance.jobs.complete",
        json!({"jobId": "g-10101.check.2", "action": "verified"}),
        MARCUS,
    );
    assert_eq!(
        kvs_value(&sim, "provisioning-job:g-10101.check.2").unwrap()["status"],
        "succeeded"
    );
    assert!(verify(&mut sim).ok);
}

// Issue 30 item 3 (mappings name accounts Jira knows); no ledger line names it.
#[test]
fn an_identity_mapping_names_an_active_account_jira_knows() {
    let mut sim = wasm();
    connect_okta(&mut sim, None);
    let set = |account: &str| json!({"connectorId": "okta", "accountId": account, "email": "someone@acme-sso.example"});
    for (account, code) in [
        ("5b10ac8d82e05b22cc7d4ef5", "ACCOUNT_UNKNOWN"),
        ("5e0e5a0ea42f613749d39487", "ACCOUNT_INACTIVE"), // Derek Hollis, deactivated
    ] {
        assert_eq!(
            err(&mut sim, "admin.identities.set", set(account), ADMIN),
            code
        );
    }
    assert_eq!(count_prefix(&sim, "identity-mapping:"), 0);
    assert!(
        !sim.state()
            .secrets
            .keys()
            .any(|k| k.starts_with("identity-mapping:")),
        "no secret is written for a refused mapping"
    );
    ok(&mut sim, "admin.identities.set", set(WEI), ADMIN);
    assert_eq!(count_prefix(&sim, "identity-mapping:"), 1);
}
