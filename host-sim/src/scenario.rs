//! Fixture scenarios (fixtures/<site>/scenario.json), the readable transcript, replay of events
//! for CI and the golden-state diff.

use crate::runtime::RawOutcome;
use crate::sim::{parse_duration, InvocationRecord, Sim};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub enum Step {
    Note(String),
    Invoke {
        function: String,
        as_account: Option<String>,
        payload: Value,
    },
    Event(PathBuf),
    Advance(u64),
    /// Outside the app: an API key becomes valid at an emulated LLM provider (as when an admin
    /// creates one in the provider's console).
    ProviderKey {
        provider: String,
        key: String,
    },
    /// Outside the app: an admin sets (or, with `null`, unsets) Forge environment variables.
    Env(Vec<(String, Option<String>)>),
    /// Outside the app: ArdSaor Core will fail its next authenticated calls this way.
    RelayFault(Vec<crate::remotes::relay::RelayFault>),
    /// Outside the app: someone changes a provider group's membership directly.
    RelayDrift {
        provider: String,
        group: String,
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// The platform will fail a named invocation this way (`--fault` notation, faults.rs).
    Fault(crate::faults::ArmedPlan),
    /// A service is down for a window of simulated time from now (`--outage` notation).
    Outage(String),
}

pub fn load(site_dir: &Path) -> Result<Vec<Step>> {
    let path = site_dir.join("scenario.json");
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
    )?;
    let steps = v
        .get("steps")
        .and_then(Value::as_array)
        .context("scenario.json has no steps")?;
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if let Some(n) = s.get("note").and_then(Value::as_str) {
                Ok(Step::Note(n.into()))
            } else if let Some(f) = s.get("invoke").and_then(Value::as_str) {
                Ok(Step::Invoke {
                    function: f.into(),
                    as_account: s.get("as").and_then(Value::as_str).map(String::from),
                    payload: s
                        .get("payload")
                        .cloned()
                        .unwrap_or_else(|| serde_json::json!({})),
                })
            } else if let Some(e) = s.get("event").and_then(Value::as_str) {
                Ok(Step::Event(site_dir.join(e)))
            } else if let Some(d) = s.get("advance").and_then(Value::as_str) {
                Ok(Step::Advance(parse_duration(d)?))
            } else if let Some(k) = s.get("providerKey") {
                Ok(Step::ProviderKey {
                    provider: k["provider"].as_str().unwrap_or("").into(),
                    key: k["key"].as_str().unwrap_or("").into(),
                })
            } else if let Some(e) = s.get("env").and_then(Value::as_object) {
                Ok(Step::Env(
                    e.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().map(String::from)))
                        .collect(),
                ))
            } else if let Some(f) = s.get("relayFault") {
                let list = match f {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                Ok(Step::RelayFault(
                    list.into_iter()
                        .map(serde_json::from_value)
                        .collect::<Result<_, _>>()
                        .with_context(|| format!("scenario step {i}: bad relayFault"))?,
                ))
            } else if let Some(d) = s.get("relayDrift") {
                let list = |k: &str| -> Vec<String> {
                    d[k].as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                Ok(Step::RelayDrift {
                    provider: d["provider"].as_str().unwrap_or("okta").into(),
                    group: d["group"].as_str().unwrap_or("").into(),
                    add: list("add"),
                    remove: list("remove"),
                })
            } else if let Some(f) = s.get("fault").and_then(Value::as_str) {
                Ok(Step::Fault(crate::faults::parse_armed(f).map_err(|e| {
                    anyhow::anyhow!("scenario step {i}: bad fault {f:?}: {e}")
                })?))
            } else if let Some(o) = s.get("outage").and_then(Value::as_str) {
                crate::faults::parse_outage(o, 0)
                    .map_err(|e| anyhow::anyhow!("scenario step {i}: bad outage {o:?}: {e}"))?;
                Ok(Step::Outage(o.to_string()))
            } else {
                bail!(
                    "scenario step {i} is not a note, invoke, event, advance, fault or outage: {s}"
                )
            }
        })
        .collect()
}

pub fn read_event(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading event {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Who an account id is, for people reading the transcript.
pub fn who_in(site: &crate::site::Site, account: Option<&str>) -> String {
    match account {
        None => "no user".into(),
        Some(a) => site
            .user(a)
            .map(|u| u.display_name.clone())
            .unwrap_or_else(|| a.to_string()),
    }
}

pub fn who(sim: &Sim, account: Option<&str>) -> String {
    match account {
        None => "no user".into(),
        Some(a) => sim
            .state()
            .site
            .user(a)
            .map(|u| u.display_name.clone())
            .unwrap_or_else(|| a.to_string()),
    }
}

pub fn describe(rec: &InvocationRecord) -> String {
    let outcome = match &rec.outcome {
        RawOutcome::Ok(v) => match v.get("outcome").and_then(Value::as_str) {
            Some("ingested") => format!("ingested as a pending request (audit #{})", v["auditSeq"]),
            Some("rejected") => format!("rejected: {}", v["code"].as_str().unwrap_or("")),
            Some("skipped") => format!("skipped: {}", v["reason"].as_str().unwrap_or("")),
            Some("duplicate") => "duplicate delivery: already ingested, nothing written".into(),
            Some("deferred") => format!(
                "deferred: Jira unavailable, retry {} in {}s",
                v["attempt"], v["retryAfterSeconds"]
            ),
            _ if v.get("approval").is_some() => approval_line(&v["approval"]),
            _ if v.get("steps").is_some() && v.get("status").is_some() => approval_line(v),
            _ => summarize(v),
        },
        RawOutcome::Err(e) => format!("error {} ({})", e.code, e.message),
        RawOutcome::Crashed { at_call } => format!("CRASHED at host call {at_call}"),
        RawOutcome::Trapped(m) => format!("TRAPPED: {m}"),
    };
    let c = &rec.counts;
    format!(
        "{outcome}  [{} host calls: kvs {}, jira {}, secrets {}, tx {}]",
        c.total,
        c.service(crate::Service::Kvs),
        c.service(crate::Service::Jira),
        c.service(crate::Service::Secrets),
        c.kvs_transactions
    )
}

fn approval_line(a: &Value) -> String {
    let phase = |p: &str| {
        a[p].as_array()
            .map(|steps| {
                steps
                    .iter()
                    .map(|s| {
                        format!(
                            "{}={}",
                            s["name"].as_str().unwrap_or("?"),
                            s["status"].as_str().unwrap_or("?")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let mut line = format!(
        "approval \"{}\" on {}: {} [{}]",
        a["name"].as_str().unwrap_or("?"),
        a["issue"]["key"].as_str().unwrap_or("?"),
        a["status"].as_str().unwrap_or("?"),
        phase("steps")
    );
    for (p, label) in [
        ("successSteps", "on success"),
        ("rejectionSteps", "on rejection"),
        ("expirationSteps", "on expiry"),
    ] {
        let active = a[p]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x["status"] != "WAIT"));
        if active {
            line.push_str(&format!(" {label}: [{}]", phase(p)));
        }
    }
    line
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// One line for the AI Clearance decision resolvers' answers (None = not one of them).
fn clearance_line(v: &Value) -> Option<String> {
    let list = |a: &Value, f: &dyn Fn(&Value) -> String| {
        a.as_array()
            .map(|x| x.iter().map(f).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    if let (Some(results), Some(ok)) = (v.get("results"), v.get("succeeded")) {
        return Some(format!(
            "bulk: {ok} decided, {} refused — {}",
            v["failed"],
            list(results, &|r| match r["ok"].as_bool() {
                Some(true) => format!("{} {}", s(&r["issueKey"]), s(&r["outcome"])),
                _ => format!("{} {}", s(&r["issueKey"]), s(&r["error"]["code"])),
            })
        ));
    }
    if let (Some(key), Some(outcome)) = (v.get("issueKey"), v.get("outcome")) {
        return Some(match s(outcome) {
            "recorded" => format!(
                "{}: decision recorded; waiting for {}",
                s(key),
                list(&v["waitingFor"], &|x| s(x).to_string())
            ),
            o => match v.pointer("/decision/grantId").and_then(Value::as_str) {
                Some(g) => format!(
                    "{}: {o} → grant {g} (pendingProvision), provision job {}",
                    s(key),
                    s(&v["decision"]["jobId"])
                ),
                None => format!("{}: {o}", s(key)),
            },
        });
    }
    if let (Some(p), Some(m)) = (v.get("pending"), v.get("manualActions")) {
        return Some(format!(
            "{} pending [{}]; {} manual action(s) [{}]",
            p.as_array().map_or(0, Vec::len),
            list(p, &|r| format!(
                "{} {}",
                s(&r["issueKey"]),
                r["step"].as_str().unwrap_or("direct")
            )),
            m.as_array().map_or(0, Vec::len),
            list(m, &|j| format!(
                "{} {} → mark {}",
                s(&j["issueKey"]),
                s(&j["kind"]),
                s(&j["action"])
            ))
        ));
    }
    if let Some(show) = v.get("showApprovals") {
        return Some(format!(
            "tabs {} (Approvals tab: {show})",
            list(&v["tabs"], &|t| s(t).to_string())
        ));
    }
    if let Some(grants) = v
        .get("grants")
        .filter(|_| v.get("extensionEnabled").is_some())
    {
        return Some(format!(
            "{} grant(s): {}; self-extension {}",
            grants.as_array().map_or(0, Vec::len),
            list(grants, &|g| format!(
                "{} {} {} ({}{})",
                s(&g["issueKey"]),
                s(&g["tool"]["name"]),
                s(&g["status"]),
                s(&g["expiryLabel"]),
                if g["expiringSoon"] == true {
                    ", expiring soon"
                } else {
                    ""
                }
            )),
            if v["extensionEnabled"] == true {
                "on"
            } else {
                "off"
            }
        ));
    }
    if let (Some(g), Some(st)) = (v.get("grantId"), v.get("status")) {
        let mut line = format!("grant {} {}", s(g), s(st));
        if let Some(e) = v.get("expiresAt").and_then(Value::as_str) {
            line.push_str(&format!(", expires {e}"));
        }
        if let Some(j) = v
            .get("jobId")
            .and_then(Value::as_str)
            .or(v.get("deprovisionJobId").and_then(Value::as_str))
        {
            line.push_str(&format!(", job {j} queued"));
        }
        if v["changed"] == false {
            line.push_str(" (already; nothing changed)");
        }
        return Some(line);
    }
    if let Some(w) = v.get("wouldAutoApprove") {
        return Some(match w.as_bool() {
            Some(true) => format!(
                "would auto-approve (policy {} v{})",
                s(&v["deciding"]["policyId"]),
                v["deciding"]["policyVersion"]
            ),
            _ => format!(
                "would not auto-approve: policy {} v{} fails {} — {}",
                s(&v["deciding"]["policyId"]),
                v["deciding"]["policyVersion"],
                s(&v["deciding"]["failedCondition"]),
                s(&v["whyNot"])
            ),
        });
    }
    if let (Some(j), Some(k)) = (v.get("jobId"), v.get("kind")) {
        return Some(format!(
            "job {} ({}) {}; grant now {}",
            s(j),
            s(k),
            s(&v["status"]),
            v["grantStatus"].as_str().unwrap_or("unchanged")
        ));
    }
    if let Some(g) = v.get("governance") {
        return Some(format!(
            "governance version {} (updated by {})",
            g["version"],
            s(&g["updatedBy"])
        ));
    }
    if let Some(p) = v.get("policy") {
        return Some(format!(
            "policy {} version {} (autoApprove {})",
            s(&p["id"]),
            p["version"],
            p["autoApprove"]
        ));
    }
    if let (Some(c), Some(k)) = (v.get("created"), v.get("kept")) {
        return Some(format!(
            "seeded {} tools from catalog v{} ({} already present, kept as edited)",
            c.as_array().map_or(0, Vec::len),
            v["seedVersion"],
            k.as_array().map_or(0, Vec::len)
        ));
    }
    if let (Some(cards), Some(r)) = (v.get("cards"), v.get("readiness")) {
        return Some(format!(
            "readiness {}: {}; counters {}",
            s(r),
            list(cards, &|c| format!(
                "{} {}",
                s(&c["id"]),
                if c["ready"] == true {
                    "ready"
                } else {
                    "not ready"
                }
            )),
            v["counters"]
        ));
    }
    if let (Some(f), Some(n)) = (v.get("format"), v.get("count")) {
        return Some(format!(
            "{n} row(s) as {} for {} … {}{}",
            s(f),
            &s(&v["range"]["from"])[..10.min(s(&v["range"]["from"]).len())],
            &s(&v["range"]["to"])[..10.min(s(&v["range"]["to"]).len())],
            if v["nextCursor"].is_null() {
                ""
            } else {
                " (more pages)"
            }
        ));
    }
    if let (Some(c), Some(a)) = (v.get("counters"), v.get("activeAccess")) {
        return Some(format!(
            "insights: {} requests, {} approved ({} auto), {} denied; access now {} active / {} pending provision; risk mix {}",
            c["requests"], c["approved"], c["autoApproved"], c["denied"], a["active"], a["pendingProvision"], v["riskMix"]
        ));
    }
    None
}

fn summarize(v: &Value) -> String {
    if let Some(line) = clearance_line(v) {
        return line;
    }
    if let Some(emails) = v.get("emails").and_then(Value::as_array) {
        return emails
            .iter()
            .map(|e| {
                format!(
                    "email \"{}\" to {} recipient(s)",
                    e["subject"].as_str().unwrap_or(""),
                    e["to"].as_array().map_or(0, Vec::len)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    if let Some(tasks) = v.get("tasks").and_then(Value::as_array) {
        return format!(
            "{} open decision(s): {}",
            tasks.len(),
            tasks
                .iter()
                .map(|t| format!(
                    "{} / {}",
                    t["issueKey"].as_str().unwrap_or(""),
                    t["stepName"].as_str().unwrap_or("")
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(f) = v.get("keyFingerprint") {
        return format!(
            "AI settings saved: {} / {}, key {}, status {}",
            v["provider"].as_str().unwrap_or(""),
            v["model"].as_str().unwrap_or(""),
            f.as_str().unwrap_or("none"),
            v["status"].as_str().unwrap_or("")
        );
    }
    if let Some(t) = v.get("resultTeaser").and_then(Value::as_str) {
        let first = t.lines().take(2).collect::<Vec<_>>().join(" | ");
        return format!(
            "AI step \"{}\" {}: {first}",
            v["name"].as_str().unwrap_or(""),
            v["status"].as_str().unwrap_or("")
        );
    }
    if let (Some(u), Some(b)) = (v.get("usage"), v.get("budget")) {
        return format!(
            "AI usage this month: {} tokens in {} execution(s) of a {b}-token budget ({}%, {})",
            u["tokens"],
            u["executions"],
            v["percent"],
            v["status"].as_str().unwrap_or("")
        );
    }
    if let Some(d) = v.get("definition") {
        return format!(
            "definition \"{}\" saved (version {})",
            d["name"].as_str().unwrap_or(""),
            d["version"]
        );
    }
    if v.get("webhook").is_some() {
        return format!(
            "webhook registered at {} (signing secret shown once)",
            v["webhook"]["url"].as_str().unwrap_or("")
        );
    }
    if let Some(list) = v.get("approvals").and_then(Value::as_array) {
        return list
            .iter()
            .map(approval_line)
            .collect::<Vec<_>>()
            .join("; ");
    }
    if let Some(d) = v.get("drift").and_then(Value::as_array) {
        if d.is_empty() {
            return "no open drift".into();
        }
        let items: Vec<String> = d
            .iter()
            .map(|f| {
                format!(
                    "{} {} ({})",
                    f["kind"].as_str().unwrap_or(""),
                    f["member"].as_str().or(f["grantId"].as_str()).unwrap_or(""),
                    f["toolId"].as_str().unwrap_or("")
                )
            })
            .collect();
        return format!("{} open drift: {}", d.len(), items.join(", "));
    }
    if let Some(runs) = v.get("runs").and_then(Value::as_array) {
        let items: Vec<String> = runs
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}: {} orphan(s), {} missing, {} repaired",
                    r["toolId"].as_str().unwrap_or(""),
                    r["mode"].as_str().unwrap_or(""),
                    r["status"].as_str().unwrap_or(""),
                    r["orphans"],
                    r["missing"],
                    r["repaired"]
                )
            })
            .collect();
        return format!(
            "{} check(s), newest first: {}",
            runs.len(),
            items.join("; ")
        );
    }
    if let Some(a) = v.get("approvals").filter(|a| a.is_object()) {
        return match v.get("requestsEscalated") {
            Some(n) => format!("requests escalated: {n}; approvals sweep: {a}"),
            None => format!("approvals sweep: {a}"),
        };
    }
    if let Some(items) = v.get("items").and_then(Value::as_array) {
        return format!(
            "{} item(s){}",
            items.len(),
            if v.get("nextCursor").is_some_and(|c| !c.is_null()) {
                ", more pages"
            } else {
                ""
            }
        );
    }
    if let Some(ok) = v.get("ok").and_then(Value::as_bool) {
        return format!(
            "audit chain {} ({} entries checked{})",
            if ok { "verified" } else { "BROKEN" },
            v["checked"],
            if ok {
                String::new()
            } else {
                format!(", problems: {}", v["problems"])
            }
        );
    }
    let s = v.to_string();
    if s.len() > 120 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(117).map(|(i, _)| i).unwrap_or(s.len())]
        )
    } else {
        s
    }
}

/// Runs every step, writing the transcript to `out`. Returns the invocation records.
pub fn run(sim: &mut Sim, steps: &[Step], out: &mut String) -> Result<Vec<InvocationRecord>> {
    let mut records = Vec::new();
    // `"$last.approval.id"` in a payload: a value from the previous resolver result (ids are
    // generated by the app, so a scenario can only name them this way).
    let mut last = Value::Null;
    for step in steps {
        let now = aiclearance::time::rfc3339(sim.state().clock_ms);
        let clock = &now[11..16];
        match step {
            Step::Note(n) => writeln!(out, "\n── {n}")?,
            Step::Invoke {
                function,
                as_account,
                payload,
            } => {
                let payload = substitute(payload, &last);
                let recs = sim.resolve_maybe_alongside(function, &payload, as_account.as_deref());
                for rec in recs {
                    if rec.label.starts_with("resolver ") {
                        if let RawOutcome::Ok(v) = &rec.outcome {
                            last = v.clone();
                        }
                        writeln!(
                            out,
                            "{clock}  {function} as {}: {}",
                            who(sim, as_account.as_deref()),
                            describe(&rec)
                        )?;
                    } else {
                        writeln!(
                            out,
                            "        (at the same time) {}: {}",
                            rec.label,
                            describe(&rec)
                        )?;
                    }
                    records.push(rec);
                }
                records.extend(report_queue(sim, out)?);
            }
            Step::Event(path) => {
                let ev = read_event(path)?;
                let name = path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                for rec in sim.deliver_maybe_twice(&ev)? {
                    writeln!(
                        out,
                        "{clock}  issue created {} ({name}): {}",
                        ev.pointer("/issue/key")
                            .and_then(Value::as_str)
                            .unwrap_or("?"),
                        describe(&rec)
                    )?;
                    records.push(rec);
                }
                records.extend(report_queue(sim, out)?);
            }
            Step::ProviderKey { provider, key } => {
                sim.state_mut().llm.add_key(provider, key);
                writeln!(
                    out,
                    "{clock}  (outside the app) an API key is issued in the {provider} console"
                )?;
            }
            Step::Env(vars) => {
                let st = sim.state_mut();
                let mut shown = Vec::new();
                for (k, v) in vars {
                    match v {
                        Some(v) => {
                            st.env.insert(k.clone(), v.clone());
                            shown.push(format!("{k} set"));
                        }
                        None => {
                            st.env.remove(k);
                            shown.push(format!("{k} unset"));
                        }
                    }
                }
                writeln!(
                    out,
                    "{clock}  (outside the app) forge variables: {}",
                    shown.join(", ")
                )?;
            }
            Step::RelayFault(faults) => {
                sim.state_mut().relay.faults.extend(faults.iter().cloned());
                writeln!(
                    out,
                    "{clock}  (outside the app) ArdSaor Core will fail its next {} call(s): {faults:?}",
                    faults.len()
                )?;
            }
            Step::RelayDrift {
                provider,
                group,
                add,
                remove,
            } => {
                let relay = &mut sim.state_mut().relay;
                let id = relay
                    .group_by_name(provider, group)
                    .map(|(id, _)| id.clone())
                    .unwrap_or_else(|| group.clone());
                for e in add {
                    relay.drift_add(&id, e);
                }
                for e in remove {
                    relay.drift_remove(&id, e);
                }
                writeln!(
                    out,
                    "{clock}  (outside the app) {provider} group {group:?} changed directly: +{add:?} -{remove:?}"
                )?;
            }
            Step::Fault(armed) => {
                sim.armed.push(armed.clone());
                writeln!(
                    out,
                    "{clock}  (platform) fault armed for {}: {:?}",
                    target_name(&armed.target),
                    armed.plan
                )?;
            }
            Step::Outage(spec) => {
                let now = sim.state().clock_ms;
                let o = crate::faults::parse_outage(spec, now).map_err(anyhow::Error::msg)?;
                writeln!(out, "{clock}  (platform) outage: {spec}")?;
                sim.state_mut().outages.push(o);
            }
            Step::Advance(ms) => {
                let recs = sim.advance(*ms);
                let idle = |r: &InvocationRecord| {
                    r.ok().and_then(|v| v.get("work")).and_then(Value::as_str) == Some("none")
                };
                let quiet = recs.iter().filter(|r| idle(r)).count();
                writeln!(
                    out,
                    "{clock}  clock +{}: {} background invocation(s){}",
                    human(*ms),
                    recs.len(),
                    if quiet > 0 {
                        format!(", {quiet} scheduled run(s) with no work")
                    } else {
                        String::new()
                    }
                )?;
                for r in recs.iter().filter(|r| !idle(r)) {
                    writeln!(out, "        {}: {}", r.label, describe(r))?;
                }
                records.extend(recs);
            }
        }
    }
    Ok(records)
}

/// `queue approval-effects (#2)`, `fn=resolver`, `the next invocation`.
pub fn target_name(t: &crate::faults::Target) -> String {
    let name = match (&t.function, &t.label) {
        (Some(f), Some(l)) => format!("{l} in {f}"),
        (Some(f), None) => format!("fn={f}"),
        (None, Some(l)) => l.clone(),
        (None, None) => "the next invocation".into(),
    };
    if t.nth > 1 {
        format!("{name} (#{})", t.nth)
    } else {
        name
    }
}

fn substitute(v: &Value, last: &Value) -> Value {
    match v {
        Value::String(s) if s.starts_with("$last.") => {
            let pointer = format!("/{}", s["$last.".len()..].replace('.', "/"));
            last.pointer(&pointer).cloned().unwrap_or(Value::Null)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, last)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, last)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn report_queue(sim: &mut Sim, out: &mut String) -> Result<Vec<InvocationRecord>> {
    let recs = sim.settle();
    for r in &recs {
        writeln!(out, "        {}: {}", r.label, describe(r))?;
    }
    Ok(recs)
}

fn human(ms: u64) -> String {
    match ms {
        m if m % 86_400_000 == 0 => format!("{}d", m / 86_400_000),
        m if m % 3_600_000 == 0 => format!("{}h", m / 3_600_000),
        m if m % 60_000 == 0 => format!("{}m", m / 60_000),
        m => format!("{}s", m / 1000),
    }
}

/// The steps before the first event: the setup `replay` applies before delivering its events.
pub fn setup_steps(steps: &[Step]) -> Vec<Step> {
    steps
        .iter()
        .take_while(|s| !matches!(s, Step::Event(_)))
        .filter(|s| {
            !matches!(
                s,
                Step::Advance(_)
                    | Step::ProviderKey { .. }
                    | Step::RelayFault(_)
                    | Step::RelayDrift { .. }
            )
        })
        .cloned()
        .collect()
}

/// The setup steps that configure intake and the catalog only: no approval definitions,
/// governance, webhooks or auto-approval policies, so requests are decided directly (the sites
/// the engine tests, the scale test and the scale bench build).
pub fn intake_and_catalog_steps(steps: &[Step]) -> Vec<Step> {
    setup_steps(steps)
        .into_iter()
        .filter(|s| match s {
            Step::Invoke { function, .. } => {
                function.starts_with("admin.intake") || function.starts_with("admin.catalog")
            }
            _ => true,
        })
        .collect()
}

/// The issue-created event Jira sends for `i` (the fields intake reads).
pub fn created_event(i: &crate::site::Issue) -> Value {
    serde_json::json!({
        "eventType": "avi:jira:created:issue",
        "issue": {"id": i.id, "key": i.key, "fields": {
            "summary": i.summary,
            "issuetype": {"id": i.issue_type_id},
            "project": {"key": i.project},
            "creator": {"accountId": i.reporter},
            "reporter": {"accountId": i.reporter},
            "created": i.created,
            "status": {"id": i.status}
        }},
        "atlassianId": i.reporter
    })
}

/// Paths where two JSON values differ, as readable lines (empty = equal).
pub fn diff(expected: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_at("$", expected, actual, &mut out);
    out
}

fn diff_at(path: &str, e: &Value, a: &Value, out: &mut Vec<String>) {
    match (e, a) {
        (Value::Object(eo), Value::Object(ao)) => {
            for (k, ev) in eo {
                match ao.get(k) {
                    Some(av) => diff_at(&format!("{path}.{k}"), ev, av, out),
                    None => out.push(format!("{path}.{k}: expected {ev}, missing")),
                }
            }
            for (k, av) in ao {
                if !eo.contains_key(k) {
                    out.push(format!("{path}.{k}: unexpected {av}"));
                }
            }
        }
        (Value::Array(ea), Value::Array(aa)) => {
            for i in 0..ea.len().max(aa.len()) {
                match (ea.get(i), aa.get(i)) {
                    (Some(x), Some(y)) => diff_at(&format!("{path}[{i}]"), x, y, out),
                    (Some(x), None) => out.push(format!("{path}[{i}]: expected {x}, missing")),
                    (None, Some(y)) => out.push(format!("{path}[{i}]: unexpected {y}")),
                    (None, None) => {}
                }
            }
        }
        _ if e != a => out.push(format!("{path}: expected {e}, got {a}")),
        _ => {}
    }
}
