//! `host-sim serve`: the developer's `forge tunnel` for this app. A loopback HTTP server that
//! serves the built Custom UI (`static/ui/dist`) once per UI module of the manifest, with a
//! drop-in Forge bridge (`globalThis.__bridge`, the object `@forge/bridge` talks to) injected into
//! its `index.html`, and a console page around the module frames: "view as" any person of the
//! site, the module's real context (portal + request type, issue, modal), the simulated clock
//! (running or paused, advance buttons) and the invocations it ran.
//!
//! Every `invoke` lands on the same `Sim::resolve_from` the CLI and the tests use, with the same
//! `{ ok, data } | { ok: false, error }` envelope the Forge adapter returns. One thread owns the
//! simulator (it is not `Send`): requests are handled one at a time, and between requests the
//! clock ticks when running. State lives in the CLI's `--state` directory.

pub mod portal;

use crate::runtime::RawOutcome;
use crate::sim::Sim;
use crate::{persist, scenario, InvocationRecord};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tiny_http::{Header, Method, Request, Response, Server};

const CONSOLE_HTML: &str = include_str!("console/index.html");
const CONSOLE_JS: &str = include_str!("console/console.js");
const CONSOLE_CSS: &str = include_str!("console/console.css");
const BRIDGE_JS: &str = include_str!("console/bridge.js");

/// Largest request body the console accepts (resolver payloads are far smaller; Forge's own
/// invoke limit is in this range).
const MAX_BODY: usize = 512 * 1024;
/// Invocations kept for the console's activity list (bounded: the server may run for days).
const ACTIVITY_KEPT: usize = 200;
/// A running clock moves the simulated time by this much per real second.
const TICK_MS: u64 = 1_000;

pub struct Options {
    pub addr: SocketAddr,
    /// The built Custom UI (the manifest resource's folder).
    pub ui_dir: PathBuf,
    pub state_dir: PathBuf,
    /// Start with the clock ticking (1 simulated second per second) or paused.
    pub clock_running: bool,
}

/// A started server (tests and `serve` both use it).
pub struct Handle {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl Handle {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// Blocks until the server stops (never, unless stopped or failed).
    pub fn wait(mut self) -> Result<()> {
        self.thread
            .take()
            .expect("joined once")
            .join()
            .expect("server thread")
    }
    pub fn stop(mut self) -> Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .expect("joined once")
            .join()
            .expect("server thread")
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the server on its own thread; `make_sim` runs there (the simulator stays on it).
pub fn start<F>(opts: Options, make_sim: F) -> Result<Handle>
where
    F: FnOnce() -> Result<Sim> + Send + 'static,
{
    let server = Server::http(opts.addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", opts.addr))?;
    let addr = server
        .server_addr()
        .to_ip()
        .context("the console listens on an IP address")?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let thread = std::thread::spawn(move || -> Result<()> {
        let sim = match make_sim() {
            Ok(s) => {
                let _ = ready_tx.send(Ok(()));
                s
            }
            Err(e) => {
                let _ = ready_tx.send(Err(format!("{e:#}")));
                return Err(e);
            }
        };
        let mut console = Console {
            sim,
            ui_dir: opts.ui_dir,
            state_dir: opts.state_dir,
            running: opts.clock_running,
            activity: VecDeque::new(),
            seq: 0,
            dirty: false,
        };
        let mut last_tick = Instant::now();
        let mut last_save = Instant::now();
        while !stop2.load(Ordering::SeqCst) {
            if let Some(req) = server.recv_timeout(Duration::from_millis(50))? {
                console.handle(req);
            }
            if console.running && last_tick.elapsed() >= Duration::from_millis(TICK_MS) {
                last_tick = Instant::now();
                let recs = console.sim.advance(TICK_MS);
                console.record_all(&recs);
                console.dirty = true;
            }
            if console.dirty && last_save.elapsed() >= Duration::from_secs(5) {
                console.save()?;
                last_save = Instant::now();
            }
        }
        console.save()
    });
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => anyhow::bail!("the simulated site did not start: {e}"),
        Err(_) => anyhow::bail!("the console thread stopped before the site was ready"),
    }
    Ok(Handle {
        addr,
        stop,
        thread: Some(thread),
    })
}

struct Console {
    sim: Sim,
    ui_dir: PathBuf,
    state_dir: PathBuf,
    running: bool,
    activity: VecDeque<Value>,
    seq: u64,
    dirty: bool,
}

/// A console answer: status + JSON body, or a file.
enum Reply {
    Json(u16, Value),
    Text(u16, &'static str, Vec<u8>),
}

fn bad(code: &str, message: impl Into<String>) -> Reply {
    Reply::Json(
        400,
        json!({"ok": false, "error": {"kind": "invalid", "code": code, "message": message.into()}}),
    )
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

impl Console {
    fn save(&mut self) -> Result<()> {
        if self.dirty {
            persist::save(&self.state_dir, self.sim.state())?;
            self.dirty = false;
        }
        Ok(())
    }

    fn record_all(&mut self, recs: &[InvocationRecord]) {
        for r in recs {
            self.record(r);
        }
    }

    fn record(&mut self, r: &InvocationRecord) {
        self.seq += 1;
        let ok = !matches!(
            r.outcome,
            RawOutcome::Crashed { .. } | RawOutcome::Trapped(_)
        );
        self.activity.push_back(json!({
            "seq": self.seq,
            "at": aiclearance::time::rfc3339(self.sim.state().clock_ms),
            "label": r.label, "function": r.function,
            "outcome": scenario::describe(r), "ok": ok,
            "idle": r.ok().and_then(|v| v.get("work")).and_then(Value::as_str) == Some("none"),
        }));
        while self.activity.len() > ACTIVITY_KEPT {
            self.activity.pop_front();
        }
    }

    fn handle(&mut self, mut req: Request) {
        let url = req.url().to_string();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let path = path.to_string();
        let query = query.to_string();
        let method = req.method().clone();
        let mut body = Vec::new();
        let too_big = req
            .as_reader()
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut body)
            .map(|n| n > MAX_BODY)
            .unwrap_or(true);
        let reply = if too_big {
            Reply::Json(
                413,
                json!({"ok": false, "error": {"kind": "too-large", "code": "PAYLOAD_TOO_LARGE",
                                    "message": format!("request bodies are limited to {MAX_BODY} bytes")}}),
            )
        } else {
            self.route(&method, &path, &query, &body)
        };
        let (status, ctype, bytes) = match reply {
            Reply::Json(s, v) => (s, "application/json", v.to_string().into_bytes()),
            Reply::Text(s, t, b) => (s, t, b),
        };
        let resp = Response::from_data(bytes)
            .with_status_code(status)
            .with_header(Header::from_bytes("Content-Type", ctype).expect("header"))
            .with_header(Header::from_bytes("Cache-Control", "no-store").expect("header"));
        let _ = req.respond(resp);
    }

    fn route(&mut self, method: &Method, path: &str, query: &str, body: &[u8]) -> Reply {
        let json_body = || -> Result<Value, Reply> {
            serde_json::from_slice::<Value>(body)
                .ok()
                .filter(Value::is_object)
                .ok_or_else(|| bad("BODY_MALFORMED", "the request body must be a JSON object"))
        };
        match (method, path) {
            (Method::Get, "/") => Reply::Text(200, "text/html; charset=utf-8", CONSOLE_HTML.into()),
            (Method::Get, "/__console/console.js") => {
                Reply::Text(200, "text/javascript; charset=utf-8", CONSOLE_JS.into())
            }
            (Method::Get, "/__console/console.css") => {
                Reply::Text(200, "text/css; charset=utf-8", CONSOLE_CSS.into())
            }
            (Method::Get, "/__console/bridge.js") => {
                Reply::Text(200, "text/javascript; charset=utf-8", BRIDGE_JS.into())
            }
            (Method::Get, "/__console/api/session") => Reply::Json(200, self.session()),
            (Method::Get, "/__console/api/clock") => Reply::Json(200, self.clock(query)),
            (Method::Post, p) if p.starts_with("/__console/api/") => match json_body() {
                Err(r) => r,
                Ok(b) => match p {
                    "/__console/api/invoke" => self.invoke(&b),
                    "/__console/api/tick" => self.tick(&b),
                    "/__console/api/clock" => {
                        if let Some(r) = b.get("running").and_then(Value::as_bool) {
                            self.running = r;
                        }
                        Reply::Json(200, self.clock(""))
                    }
                    "/__console/api/portal/create" => self.portal_create(&b),
                    "/__console/api/issue" => self.issue(&b),
                    _ => Reply::Json(404, json!({"error": "no such console call"})),
                },
            },
            (Method::Get, p) if p.starts_with("/ui/") => self.ui_file(p),
            _ => Reply::Text(404, "text/plain; charset=utf-8", b"not found".to_vec()),
        }
    }

    /// `/ui/<module-key>/<file>`: the built resource, with the bridge injected into index.html.
    fn ui_file(&self, path: &str) -> Reply {
        let rest = &path["/ui/".len()..];
        let (module, file) = rest.split_once('/').unwrap_or((rest, ""));
        let manifest = &self.sim.emu().manifest;
        let Some(m) = manifest.ui_modules.iter().find(|m| m.key == module) else {
            return Reply::Text(
                404,
                "text/plain; charset=utf-8",
                format!("manifest.yml declares no UI module {module:?}").into_bytes(),
            );
        };
        if m.resource.is_none() {
            return Reply::Text(
                404,
                "text/plain; charset=utf-8",
                b"this module has no Custom UI resource".to_vec(),
            );
        }
        let file = if file.is_empty() { "index.html" } else { file };
        // Only plain relative paths inside the resource folder.
        if file
            .split('/')
            .any(|seg| seg.is_empty() || seg == ".." || seg.starts_with('.'))
        {
            return Reply::Text(404, "text/plain; charset=utf-8", b"not found".to_vec());
        }
        let full = self.ui_dir.join(file);
        match std::fs::read(&full) {
            Ok(bytes) if file == "index.html" => {
                let html = String::from_utf8_lossy(&bytes);
                // Before anything of the app: @forge/bridge reads globalThis.__bridge at load.
                let tag = "<script src=\"/__console/bridge.js\"></script>";
                let html = match html.find("<head>") {
                    Some(i) => format!("{}{tag}{}", &html[..i + 6], &html[i + 6..]),
                    None => format!("{tag}{html}"),
                };
                Reply::Text(200, "text/html; charset=utf-8", html.into_bytes())
            }
            Ok(bytes) => Reply::Text(200, content_type(&full), bytes),
            Err(_) if file == "index.html" => Reply::Text(
                500,
                "text/plain; charset=utf-8",
                format!(
                    "the Custom UI is not built: {} is missing (cargo build builds it; or `cd static/ui && npm install && npm run build`)",
                    full.display()
                )
                .into_bytes(),
            ),
            Err(_) => Reply::Text(404, "text/plain; charset=utf-8", b"not found".to_vec()),
        }
    }

    /// Everything the console page needs to draw itself.
    fn session(&self) -> Value {
        let state = self.sim.state();
        let site = &state.site;
        let manifest = &self.sim.emu().manifest;
        let people: Vec<Value> = site
            .users
            .iter()
            .map(|u| {
                let groups: Vec<&str> = site.groups_of(&u.account_id).iter().map(|g| g.name.as_str()).filter(|g| *g != "all-employees").collect();
                json!({"accountId": u.account_id, "displayName": u.display_name, "accountType": u.account_type,
                       "admin": site.has_global(&u.account_id, "ADMINISTER"), "groups": groups})
            })
            .collect();
        let portals: Vec<Value> = site
            .projects
            .iter()
            .filter_map(|p| p.service_desk.as_ref().map(|d| (p, d)))
            .map(|(p, d)| json!({"portalId": d.portal_id, "name": d.name, "projectKey": p.key,
                                 "requestTypes": d.request_types.iter().map(|t| json!({"id": t.id, "name": t.name})).collect::<Vec<_>>()}))
            .collect();
        let modules: Vec<Value> = manifest
            .ui_modules
            .iter()
            .map(|m| json!({"key": m.key, "type": m.module_type, "title": m.title, "resource": m.resource}))
            .collect();
        json!({"appId": manifest.app_id, "cloudId": site.cloud_id, "siteUrl": site.base_url,
               "modules": modules, "people": people, "portals": portals, "issues": self.issue_list(),
               "clock": self.clock("")})
    }

    fn issue_list(&self) -> Vec<Value> {
        let site = &self.sim.state().site;
        let mut list: Vec<Value> = site
            .issues
            .iter()
            .map(|i| json!({"key": i.key, "id": i.id, "summary": i.summary, "project": i.project}))
            .collect();
        list.sort_by_key(|i| i["key"].as_str().map(crate::sim::issue_sort_key));
        list
    }

    fn clock(&self, query: &str) -> Value {
        let since: u64 = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("since="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let activity: Vec<&Value> = self
            .activity
            .iter()
            .filter(|a| a["seq"].as_u64().unwrap_or(0) > since)
            .collect();
        json!({"now": aiclearance::time::rfc3339(self.sim.state().clock_ms), "running": self.running,
               "queued": self.sim.state().queue.len(), "seq": self.seq, "activity": activity})
    }

    /// `{ moduleKey, accountId, extension, functionKey, payload }` → the adapter's envelope.
    fn invoke(&mut self, b: &Value) -> Reply {
        let module = b["moduleKey"].as_str().unwrap_or("");
        if !self
            .sim
            .emu()
            .manifest
            .ui_modules
            .iter()
            .any(|m| m.key == module)
        {
            return bad(
                "MODULE_UNKNOWN",
                format!("manifest.yml declares no UI module {module:?}"),
            );
        }
        let Some(function_key) = b["functionKey"].as_str() else {
            return bad("FUNCTION_KEY_MISSING", "functionKey must be a string");
        };
        let payload = match b.get("payload") {
            None | Some(Value::Null) => "{}".to_string(),
            Some(p) => p.to_string(),
        };
        let account = b["accountId"].as_str().filter(|a| !a.is_empty());
        let extension = b.get("extension").filter(|e| !e.is_null());
        let rec = self
            .sim
            .resolve_from(module, extension, function_key, &payload, account);
        self.record(&rec);
        self.dirty = true;
        // Queued work (decision follow-ups, provisioning, the AI Prompt job) runs on the clock's
        // next tick, as Forge's queue runs it shortly after: a paused clock leaves it waiting.
        match rec.outcome {
            RawOutcome::Ok(v) => Reply::Json(200, json!({"ok": true, "data": v})),
            RawOutcome::Err(e) => Reply::Json(200, json!({"ok": false, "error": e})),
            // A trap or crash fails the invocation: Forge rejects the invoke promise.
            RawOutcome::Crashed { at_call } => Reply::Json(
                500,
                json!({"failure": format!("the invocation crashed before host call {at_call}")}),
            ),
            RawOutcome::Trapped(m) => Reply::Json(
                500,
                json!({"failure": format!("the invocation trapped: {m}")}),
            ),
        }
    }

    fn tick(&mut self, b: &Value) -> Reply {
        let advance = b["advance"].as_str().unwrap_or("1m");
        let ms = match crate::sim::parse_duration(advance) {
            Ok(ms) if ms <= 31 * 86_400_000 => ms,
            Ok(_) => return bad("ADVANCE_TOO_FAR", "advance at most 31 days at a time"),
            Err(e) => return bad("ADVANCE_INVALID", e.to_string()),
        };
        let recs = self.sim.advance(ms);
        self.record_all(&recs);
        self.dirty = true;
        let busy = recs
            .iter()
            .filter(|r| r.ok().and_then(|v| v.get("work")).is_none())
            .count();
        Reply::Json(
            200,
            json!({"invocations": recs.len(), "withWork": busy, "clock": self.clock("")}),
        )
    }

    fn portal_create(&mut self, b: &Value) -> Reply {
        let req = portal::PortalRequest {
            reporter: b["accountId"].as_str().unwrap_or("").to_string(),
            portal_id: b["portalId"].as_u64().unwrap_or(0),
            request_type_id: match &b["requestTypeId"] {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => String::new(),
            },
            summary: b["summary"].as_str().unwrap_or("").to_string(),
            description: b["description"].as_str().unwrap_or("").to_string(),
            panel: b.get("panel").filter(|p| !p.is_null()).cloned(),
        };
        match portal::create(&mut self.sim, &req) {
            Ok((key, rec)) => {
                self.record(&rec);
                self.dirty = true;
                Reply::Json(
                    200,
                    json!({"ok": true, "issueKey": key, "outcome": scenario::describe(&rec),
                                        "result": rec.ok()}),
                )
            }
            Err(e) => Reply::Json(
                200,
                json!({"ok": false, "error": {"kind": "invalid", "code": e.code,
                                               "message": e.message, "field": e.field}}),
            ),
        }
    }

    /// The issue as the console's issue view shows it beside the panel.
    fn issue(&self, b: &Value) -> Reply {
        let key = b["issueKey"].as_str().unwrap_or("");
        let site = &self.sim.state().site;
        let Some(i) = site.issue(key) else {
            return Reply::Json(
                404,
                json!({"ok": false, "error": {"kind": "not-found", "code": "ISSUE_NOT_FOUND", "message": format!("no issue {key}")}}),
            );
        };
        let project = site.project(&i.project);
        let status = project
            .and_then(|p| site.workflows.get(&p.workflow))
            .and_then(|w| w.statuses.iter().find(|s| s.id == i.status))
            .map(|s| s.name.clone())
            .unwrap_or_default();
        // A mention without display text (the app's own comments) reads the person's name.
        let name = |id: &str| site.user(id).map(|u| u.display_name.clone());
        let text = |adf: &Value| aiclearance::adf::to_text_named(adf, &name);
        let comments: Vec<Value> = i
            .comments
            .iter()
            .map(|c| json!({"author": scenario::who_in(site, Some(&c.author)), "created": c.created, "text": text(&c.body)}))
            .collect();
        Reply::Json(
            200,
            json!({"ok": true, "issue": {
            "key": i.key, "id": i.id, "summary": i.summary, "status": status,
            "projectKey": project.map(|p| p.key.clone()), "projectId": project.map(|p| p.id.clone()),
            "projectType": project.map(|p| p.project_type_key.clone()),
            "issueTypeId": i.issue_type_id,
            "reporter": scenario::who_in(site, Some(&i.reporter)), "description": text(&i.description),
            "comments": comments}}),
        )
    }
}

/// The fixture site as a fresh install: nothing configured, no scenario (what `host-sim init`
/// saves), into the state directory.
pub fn open_empty(
    state_dir: &Path,
    site_dir: &Path,
    manifest: &Path,
    kind: crate::EngineKind,
    seed: u64,
) -> Result<Sim> {
    let sim = Sim::from_site(site_dir, manifest, kind, seed)?;
    persist::save(state_dir, sim.state())?;
    Ok(sim)
}

/// The state directory's site, or — when there is none yet — the fixture site with its scenario
/// replayed, so the console opens on a configured site with requests in every state.
pub fn open_or_run(
    state_dir: &Path,
    site_dir: &Path,
    manifest: &Path,
    kind: crate::EngineKind,
    seed: u64,
    fresh: bool,
) -> Result<(Sim, String)> {
    if persist::exists(state_dir) && !fresh {
        let state = persist::load(state_dir)?;
        let m = crate::manifest::Manifest::load(manifest)?;
        let engine = crate::sim::make_engine(kind, &crate::sim::default_component())?;
        return Ok((
            Sim::new(state, m, engine),
            format!("opened the saved site in {}/", state_dir.display()),
        ));
    }
    let mut sim = Sim::from_site(site_dir, manifest, kind, seed)?;
    let steps = scenario::load(site_dir)?;
    let mut transcript = String::new();
    let recs = scenario::run(&mut sim, &steps, &mut transcript)?;
    persist::save(state_dir, sim.state())?;
    Ok((
        sim,
        format!(
            "loaded {} and replayed its scenario ({} invocations) into {}/",
            site_dir.display(),
            recs.len(),
            state_dir.display()
        ),
    ))
}
