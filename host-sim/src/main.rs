//! `host-sim` — run the AI Clearance component against a simulated Jira site.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use host_sim::manifest::Manifest;
use host_sim::runtime::native::NativeHost;
use host_sim::sim::{default_component, default_manifest, make_engine, parse_duration, Sim};
use host_sim::{persist, scenario, EngineKind};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "host-sim",
    about = "Runs the AI Clearance Forge app locally: a wasmtime host with an emulated Forge platform and a fixture Jira site."
)]
struct Cli {
    /// The fixture site folder.
    #[arg(long, global = true, default_value = "fixtures/default")]
    site: PathBuf,
    /// Where the simulated site's state lives between commands.
    #[arg(long, global = true, default_value = ".sim")]
    state: PathBuf,
    /// The Forge manifest to read (functions, triggers, scopes, egress).
    #[arg(long, global = true)]
    manifest: Option<PathBuf>,
    /// Run the compiled component (wasm), the same code linked natively, or the Forge package on Node 24.
    #[arg(long, global = true, value_enum, default_value_t = Engine::Wasm)]
    engine: Engine,
    /// Seed for everything random (ids, keys): same seed, same run.
    #[arg(long, global = true, default_value_t = 42)]
    seed: u64,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    /// Fail a named invocation: `[TARGET =>] FAULT, …` with FAULT `crash@K`, `crash-after@K`,
    /// `ack-lost` or `SERVICE#N=KIND` (KIND: crash, crash-after, lost, timeout, slow:MS, STATUS[:S]).
    /// Example: `--fault 'queue approval-effects#2 => kvs#3=lost'`. Repeatable.
    #[arg(long, global = true)]
    fault: Vec<String>,
    /// A service down for a window of simulated time: `SERVICE=KIND@FROM..UNTIL`
    /// (`jira=503@1h..3h`, `kvs=timeout@0s..10m`). Repeatable.
    #[arg(long, global = true)]
    outage: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Engine {
    Wasm,
    Native,
    /// The Forge deploy path: jco output + the JS adapter on Node 24 (needs `node forge/build.mjs`).
    Node,
}

#[derive(Subcommand)]
enum Command {
    /// The main job: load the site, replay its scenario (events, resolver calls, clock), print a transcript and a summary.
    Run,
    /// Load the site into the state directory without running anything.
    Init,
    /// For CI: replay issue-created events after the scenario's setup and compare the state with a golden file.
    Replay {
        /// Event files (or folders of them), delivered in order.
        events: Vec<PathBuf>,
        /// The golden state to compare with.
        #[arg(long)]
        expect: PathBuf,
        /// Write the golden file instead of comparing.
        #[arg(long)]
        write: bool,
    },
    /// Call a resolver function on the saved site.
    Invoke {
        function: String,
        #[arg(long, default_value = "{}")]
        payload: String,
        /// The calling user's account id.
        #[arg(long = "as")]
        as_account: Option<String>,
    },
    /// Deliver one product event file to the saved site.
    Event { file: PathBuf },
    /// Move the simulated clock forward, running scheduled triggers and queued events that fall due.
    Tick {
        #[arg(long)]
        advance: String,
    },
    /// Print the saved site's state (requests, rejections, audit entries, key counts).
    State {
        /// Every KVS key and value instead of the summary.
        #[arg(long)]
        raw: bool,
    },
    /// Audit trail tools.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Emails the app put in its outbox (EMAIL steps; Forge apps hand mail to a relay).
    Outbox,
    /// Requests the emulated customer endpoint (hooks.ardsaor.io) received: STEP_DECISION
    /// webhooks and HTTP steps, with their headers; plus deliveries still pending or dead.
    Hooks,
    /// The emulated ArdSaor Core relay: provider groups and their members, recent calls, and
    /// planned failures; `drift-add` / `drift-remove` change a group behind the app's back.
    Relay {
        #[command(subcommand)]
        action: Option<RelayAction>,
    },
    /// The local console: the Custom UI of every UI module in manifest.yml, served with a
    /// drop-in Forge bridge against the saved site ("view as" anyone, the simulated clock).
    Serve {
        /// Loopback only by default; the console has no authentication.
        #[arg(long, default_value = "127.0.0.1:8787")]
        addr: std::net::SocketAddr,
        /// Start from the fixture site and its scenario even if the state directory has a site.
        #[arg(long)]
        fresh: bool,
        /// Start with the simulated clock paused (advance it from the console).
        #[arg(long)]
        paused: bool,
        /// The built Custom UI (default: the manifest's `main` resource, static/ui/dist).
        #[arg(long)]
        ui: Option<PathBuf>,
    },
    /// Deterministic simulation: run the workload once per seed under random fault plans and
    /// interleavings, let the platform recover, check the invariants, and print a reproducer for
    /// every break. Same seed, same run (on either engine). Exit status 1 if anything broke.
    Dst {
        /// Seeds to run, `A..B` (B excluded).
        #[arg(long, default_value = "0..100")]
        seeds: String,
        /// `default` (the site's scenario) or `large` (it, then 40 generated requests and their lifecycle).
        #[arg(long, default_value = "default")]
        workload: String,
        /// Percent of invocations that get a fault.
        #[arg(long, default_value_t = 20)]
        rate: u64,
        /// Run invocations one at a time (faults only, no interleavings or duplicate deliveries).
        #[arg(long)]
        no_interleave: bool,
        /// Print each run's transcript and fault plans.
        #[arg(long)]
        verbose: bool,
        /// Seeds run in parallel (default: the machine's cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Print recent app log lines of the saved site.
    Logs {
        #[arg(long, default_value_t = 50)]
        tail: usize,
    },
}

#[derive(Subcommand)]
enum RelayAction {
    /// Someone adds a user to a provider group directly.
    DriftAdd {
        /// Group id or name.
        group: String,
        email: String,
        #[arg(long, default_value = "okta")]
        provider: String,
    },
    /// Someone removes a user from a provider group directly.
    DriftRemove {
        group: String,
        email: String,
        #[arg(long, default_value = "okta")]
        provider: String,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Verify the hash chain of the saved site.
    Verify,
    /// Verify an evidence pack offline (no site needed): its checkpoint signature, its own
    /// signature and every entry's inclusion proof. Exits 1 if it does not verify.
    VerifyPack {
        /// The pack file (`admin.audit.evidence`'s `pack`, or the Requests screen's download).
        file: std::path::PathBuf,
        /// The installation's verifier key (Governance logs); without it, the pack's own key.
        #[arg(long)]
        key: Option<String>,
    },
    /// Write the evidence pack of one request of the saved site (as an administrator would
    /// download it) to stdout.
    Evidence {
        /// The request's issue key, e.g. AIR-1.
        issue: String,
    },
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("host-sim: {e:#}");
        std::process::exit(2);
    }
}

fn kind(e: Engine) -> EngineKind {
    match e {
        Engine::Wasm => EngineKind::Wasm,
        Engine::Native => EngineKind::Native,
        Engine::Node => EngineKind::Node,
    }
}

fn open_saved(cli: &Cli) -> Result<Sim> {
    let state = persist::load(&cli.state)?;
    let manifest = Manifest::load(&cli.manifest.clone().unwrap_or_else(default_manifest))?;
    let mut sim = Sim::new(
        state,
        manifest,
        make_engine(kind(cli.engine), &default_component())?,
    );
    arm(cli, &mut sim)?;
    Ok(sim)
}

/// Arms the `--fault` and `--outage` flags on a simulation.
fn arm(cli: &Cli, sim: &mut Sim) -> Result<()> {
    for f in &cli.fault {
        let a =
            host_sim::faults::parse_armed(f).map_err(|e| anyhow::anyhow!("--fault {f:?}: {e}"))?;
        sim.armed.push(a);
    }
    let now = sim.state().clock_ms;
    for o in &cli.outage {
        let o = host_sim::faults::parse_outage(o, now)
            .map_err(|e| anyhow::anyhow!("--outage {o:?}: {e}"))?;
        sim.state_mut().outages.push(o);
    }
    Ok(())
}

fn print(cli: &Cli, human: &str, machine: Value) {
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&machine).expect("json"));
    } else {
        print!("{human}");
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    let manifest_path = cli.manifest.clone().unwrap_or_else(default_manifest);
    match &cli.command {
        Command::Run => {
            let mut sim = Sim::from_site(&cli.site, &manifest_path, kind(cli.engine), cli.seed)?;
            arm(&cli, &mut sim)?;
            let steps = scenario::load(&cli.site)?;
            let mut out = format!(
                "AI Clearance simulation — site {} ({} users, {} issues), engine {}, seed {}\n",
                cli.site.display(),
                sim.state().site.users.len(),
                sim.state().site.issues.len(),
                sim.engine_name(),
                cli.seed
            );
            let records = scenario::run(&mut sim, &steps, &mut out)?;
            let state = sim.export_state();
            let budget = sim.state().kvs_budget.clone();
            let verify = verify_native(&mut sim)?;
            out.push_str(&summary(&records, &state, &verify));
            out.push_str(&format!(
                "  KVS budget (Forge: {} read and {} write units a minute): busiest minute {} read / {} write units, {} request(s) answered 429\n",
                host_sim::emulator::KVS_UNITS_PER_MINUTE,
                host_sim::emulator::KVS_UNITS_PER_MINUTE,
                budget.peak_read_units,
                budget.peak_write_units,
                budget.throttled
            ));
            persist::save(&cli.state, sim.state())?;
            out.push_str(&format!("\nState saved to {}/ — try `host-sim state`, `host-sim invoke …`, `host-sim tick --advance 1h`.\n", cli.state.display()));
            out.push_str("Click through the screens on this site: `cargo run --release -p host-sim -- serve`, then open http://127.0.0.1:8787 (portal panel, AI Clearance page, the issue's approval path; view as anyone).\n");
            print(
                &cli,
                &out,
                json!({"state": state, "audit": verify, "invocations": records.len()}),
            );
            let failed = records
                .iter()
                .filter(|r| matches!(r.outcome, host_sim::runtime::RawOutcome::Trapped(_)))
                .count();
            if failed > 0 || !verify["ok"].as_bool().unwrap_or(false) {
                bail!("{failed} invocation(s) trapped or the audit chain did not verify");
            }
        }
        Command::Dst {
            seeds,
            workload,
            rate,
            no_interleave,
            verbose,
            jobs,
        } => {
            let (a, b) = seeds.split_once("..").context("--seeds is A..B")?;
            let range: std::ops::Range<u64> = a.trim().parse::<u64>().context("--seeds A")?
                ..b.trim().parse::<u64>().context("--seeds B")?;
            if range.is_empty() {
                bail!("--seeds {seeds} is empty");
            }
            let mut opts = host_sim::dst::default_options(&cli.site, &manifest_path);
            opts.workload = host_sim::dst::workload::Kind::parse(workload)?;
            opts.rate_pct = (*rate).min(100);
            opts.interleave = !no_interleave;
            let engine_kind = kind(cli.engine);
            if engine_kind == EngineKind::Node {
                bail!("dst runs on the native or wasm engine (the Node bridge runs one invocation at a time)");
            }
            let engine_name = match engine_kind {
                EngineKind::Wasm => "wasm",
                _ => "native",
            };
            let jobs =
                jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let component = default_component();
            let make = || make_engine(engine_kind, &component);
            let json_out = cli.json;
            let verbose = *verbose;
            let opts2 = opts.clone();
            let each = move |r: &host_sim::dst::RunReport| {
                if verbose {
                    println!("── seed {} ──\n{}", r.seed, r.transcript);
                    for (t, p) in &r.plans {
                        println!("  fault {t} => {}", p.notation());
                    }
                }
                if !r.breaks.is_empty() {
                    let mut text = format!(
                        "seed {}: BROKEN{}\n",
                        r.seed,
                        r.outage
                            .as_ref()
                            .map(|o| format!(" (outage {o})"))
                            .unwrap_or_default()
                    );
                    for b in &r.breaks {
                        text.push_str(&format!("  {}: {}\n", b.invariant, b.detail));
                    }
                    text.push_str(&format!(
                        "  reproduce: {}\n",
                        host_sim::dst::reproducer(&opts2, engine_name, r)
                    ));
                    if json_out {
                        eprint!("{text}");
                    } else {
                        print!("{text}");
                    }
                } else if verbose {
                    println!(
                        "seed {}: ok ({} invocations, {} faults, {} interleavings, fingerprint {})",
                        r.seed, r.invocations, r.faults, r.interleavings, r.fingerprint
                    );
                }
            };
            let sum = host_sim::dst::campaign(&opts, range.clone(), jobs, &make, &each)?;
            print(
                &cli,
                &format!(
                    "dst: {} run(s) of the {} workload on {} (seeds {}..{}, {} % faulted{}), {} broken\n  {} invocations, {} faults injected, {} crashed, {} interleavings, {} queue events dropped after the last retry, {} KVS requests over the minute's budget (429)\n  {:.1} s, {:.0} runs/min over {} thread(s)\n{}",
                    sum.runs,
                    opts.workload.name(),
                    engine_name,
                    range.start,
                    range.end,
                    opts.rate_pct,
                    if opts.interleave { ", interleaved" } else { "" },
                    sum.broken_runs,
                    sum.invocations,
                    sum.faults,
                    sum.crashed,
                    sum.interleavings,
                    sum.dropped,
                    sum.throttled,
                    sum.seconds,
                    sum.runs_per_minute(),
                    jobs,
                    sum.breaks_by_invariant
                        .iter()
                        .map(|(k, v)| format!("  broken: {k} ×{v}\n"))
                        .collect::<String>()
                ),
                serde_json::to_value(&sum)?,
            );
            if sum.broken_runs > 0 {
                std::process::exit(1);
            }
        }
        Command::Init => {
            let sim = Sim::from_site(&cli.site, &manifest_path, EngineKind::Native, cli.seed)?;
            persist::save(&cli.state, sim.state())?;
            print(
                &cli,
                &format!(
                    "Loaded {} into {}/\n",
                    cli.site.display(),
                    cli.state.display()
                ),
                json!({"ok": true}),
            );
        }
        Command::Replay {
            events,
            expect,
            write,
        } => {
            let mut sim = Sim::from_site(&cli.site, &manifest_path, kind(cli.engine), cli.seed)?;
            let setup = scenario::setup_steps(&scenario::load(&cli.site)?);
            let mut transcript = String::new();
            scenario::run(&mut sim, &setup, &mut transcript)?;
            arm(&cli, &mut sim)?;
            let mut files = Vec::new();
            for e in events {
                if e.is_dir() {
                    let mut in_dir: Vec<PathBuf> = std::fs::read_dir(e)?
                        .filter_map(|d| d.ok().map(|d| d.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "json"))
                        .collect();
                    in_dir.sort();
                    files.extend(in_dir);
                } else {
                    files.push(e.clone());
                }
            }
            for f in &files {
                let rec = sim.deliver(&scenario::read_event(f)?)?;
                transcript.push_str(&format!("{}: {}\n", f.display(), scenario::describe(&rec)));
                sim.settle();
            }
            let actual = sim.export_state();
            if *write {
                if let Some(dir) = expect.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(expect, serde_json::to_string_pretty(&actual)? + "\n")?;
                println!("wrote {} from {} event(s)", expect.display(), files.len());
                return Ok(());
            }
            let expected: Value = serde_json::from_str(
                &std::fs::read_to_string(expect)
                    .with_context(|| format!("reading golden file {}", expect.display()))?,
            )?;
            let diffs = scenario::diff(&expected, &actual);
            if !cli.json {
                print!("{transcript}");
            }
            if diffs.is_empty() {
                print(
                    &cli,
                    &format!(
                        "replay: {} event(s), state matches {}\n",
                        files.len(),
                        expect.display()
                    ),
                    json!({"ok": true, "events": files.len()}),
                );
            } else {
                print(
                    &cli,
                    &format!(
                        "replay: state differs from {}:\n  {}\n",
                        expect.display(),
                        diffs.join("\n  ")
                    ),
                    json!({"ok": false, "differences": diffs}),
                );
                std::process::exit(1);
            }
        }
        Command::Invoke {
            function,
            payload,
            as_account,
        } => {
            let mut sim = open_saved(&cli)?;
            let p: Value = serde_json::from_str(payload).context("--payload is not JSON")?;
            let rec = sim.resolve(function, &p, as_account.as_deref());
            sim.settle();
            persist::save(&cli.state, sim.state())?;
            let body = match &rec.outcome {
                host_sim::runtime::RawOutcome::Ok(v) => json!({"ok": v}),
                host_sim::runtime::RawOutcome::Err(e) => json!({"error": e}),
                other => json!({"failure": format!("{other:?}")}),
            };
            print(
                &cli,
                &format!(
                    "{}\n{}\n",
                    scenario::describe(&rec),
                    serde_json::to_string_pretty(&body)?
                ),
                json!({"result": body, "calls": rec.counts}),
            );
        }
        Command::Event { file } => {
            let mut sim = open_saved(&cli)?;
            let rec = sim.deliver(&scenario::read_event(file)?)?;
            sim.settle();
            persist::save(&cli.state, sim.state())?;
            print(
                &cli,
                &format!("{}\n", scenario::describe(&rec)),
                json!({"outcome": rec.ok(), "calls": rec.counts}),
            );
        }
        Command::Tick { advance } => {
            let mut sim = open_saved(&cli)?;
            let ms = parse_duration(advance)?;
            let recs = sim.advance(ms);
            persist::save(&cli.state, sim.state())?;
            let mut out = format!(
                "clock now {}; {} invocation(s)\n",
                aiclearance::time::rfc3339(sim.state().clock_ms),
                recs.len()
            );
            for r in &recs {
                out.push_str(&format!("  {}: {}\n", r.label, scenario::describe(r)));
            }
            print(
                &cli,
                &out,
                json!({"now": aiclearance::time::rfc3339(sim.state().clock_ms), "invocations": recs.len()}),
            );
        }
        Command::State { raw } => {
            let state = persist::load(&cli.state)?;
            if *raw {
                let all: serde_json::Map<String, Value> = state
                    .kvs
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            serde_json::from_str(&v.value).unwrap_or(Value::Null),
                        )
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                let sim = Sim::new(
                    state,
                    Manifest::load(&manifest_path)?,
                    Box::new(host_sim::runtime::native::NativeEngine),
                );
                println!("{}", serde_json::to_string_pretty(&sim.export_state())?);
            }
        }
        Command::Audit {
            action: AuditAction::Verify,
        } => {
            let mut sim = open_saved(&cli)?;
            let report = verify_native(&mut sim)?;
            let ok = report["ok"].as_bool().unwrap_or(false);
            print(
                &cli,
                &format!(
                    "audit chain: {} — {} entries checked{}\n",
                    if ok { "verified" } else { "BROKEN" },
                    report["checked"],
                    if ok {
                        String::new()
                    } else {
                        format!("\n{}", serde_json::to_string_pretty(&report["problems"])?)
                    }
                ),
                report,
            );
            if !ok {
                std::process::exit(1);
            }
        }
        Command::Audit {
            action: AuditAction::VerifyPack { file, key },
        } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            match aiclearance::audit::pack::verify_pack(&text, key.as_deref()) {
                Ok(r) => print(
                    &cli,
                    &format!(
                        "evidence pack: VERIFIED — {} entries about {} in a checkpoint of {} entries signed {}{}\n",
                        r.entries.len(),
                        r.issue_key,
                        r.tree_size,
                        r.checkpoint_time,
                        if key.is_some() { " with the given key" } else { " (key from the pack)" }
                    ),
                    json!({"ok": true, "issueKey": r.issue_key, "treeSize": r.tree_size,
                           "entries": r.entries.iter().map(|(s, t)| json!({"seq": s, "type": t})).collect::<Vec<_>>()}),
                ),
                Err(why) => {
                    print(
                        &cli,
                        &format!("evidence pack: NOT VERIFIED — {why}\n"),
                        json!({"ok": false, "error": why}),
                    );
                    std::process::exit(1);
                }
            }
        }
        Command::Audit {
            action: AuditAction::Evidence { issue },
        } => {
            let mut sim = open_saved(&cli)?;
            let admin = sim.state().site.admin_account().unwrap_or_default();
            let rec = sim.resolve(
                "admin.audit.evidence",
                &json!({"issueKey": issue}),
                Some(&admin),
            );
            match &rec.outcome {
                host_sim::runtime::RawOutcome::Ok(v) => {
                    print!("{}", v["pack"].as_str().unwrap_or(""))
                }
                other => bail!("admin.audit.evidence failed: {other:?}"),
            }
            persist::save(&cli.state, sim.state())?;
        }
        Command::Outbox => {
            let state = persist::load(&cli.state)?;
            let mails: Vec<Value> = state
                .kvs
                .range("email-outbox:".to_string()..)
                .take_while(|(k, _)| k.starts_with("email-outbox:"))
                .filter_map(|(_, v)| serde_json::from_str(&v.value).ok())
                .collect();
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&mails)?);
            } else {
                for m in &mails {
                    let to: Vec<String> = m["to"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| scenario::who_in(&state.site, r["accountId"].as_str()))
                        .collect();
                    println!(
                        "── {} [{}] to {}\n   {}\n{}\n",
                        m["createdAt"].as_str().unwrap_or(""),
                        m["event"].as_str().unwrap_or(""),
                        to.join(", "),
                        m["subject"].as_str().unwrap_or(""),
                        m["body"].as_str().unwrap_or("")
                    );
                }
                println!("{} email(s)", mails.len());
            }
        }
        Command::Hooks => {
            let state = persist::load(&cli.state)?;
            let pending = |prefix: &str| -> Vec<Value> {
                state
                    .kvs
                    .range(prefix.to_string()..)
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .filter_map(|(_, v)| serde_json::from_str(&v.value).ok())
                    .collect()
            };
            let out = json!({"received": state.hook_inbox, "pending": pending("webhook-delivery:"), "dead": pending("webhook-dead:")});
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                for r in &state.hook_inbox {
                    let event = r
                        .headers
                        .iter()
                        .find(|(k, _)| k == "X-AIClearance-Event")
                        .map(|(_, v)| v.as_str())
                        .unwrap_or("HTTP step");
                    println!(
                        "{} {} {} ({event}) {}",
                        aiclearance::time::rfc3339(r.at_ms),
                        r.method,
                        r.url,
                        r.body.as_deref().unwrap_or("")
                    );
                }
                println!(
                    "{} received, {} pending, {} dead",
                    state.hook_inbox.len(),
                    out["pending"].as_array().map_or(0, Vec::len),
                    out["dead"].as_array().map_or(0, Vec::len)
                );
            }
        }
        Command::Relay { action } => {
            let mut state = persist::load(&cli.state)?;
            if let Some(a) = action {
                let (group, email, provider, add) = match a {
                    RelayAction::DriftAdd {
                        group,
                        email,
                        provider,
                    } => (group, email, provider, true),
                    RelayAction::DriftRemove {
                        group,
                        email,
                        provider,
                    } => (group, email, provider, false),
                };
                let id = state
                    .relay
                    .group_by_name(provider, group)
                    .map(|(id, _)| id.clone())
                    .unwrap_or_else(|| group.clone());
                if !state.relay.groups().contains_key(&id) {
                    anyhow::bail!("no {provider} group {group:?} at the relay");
                }
                let changed = if add {
                    state.relay.drift_add(&id, email)
                } else {
                    state.relay.drift_remove(&id, email)
                };
                persist::save(&cli.state, &state)?;
                println!(
                    "{} {email} {} {group}",
                    if changed { "changed:" } else { "unchanged:" },
                    if add { "added to" } else { "removed from" }
                );
                return Ok(());
            }
            let groups: Vec<Value> = state
                .relay
                .groups()
                .iter()
                .map(|(id, g)| json!({"id": id, "provider": g.provider, "name": g.name, "toolId": g.tool_id, "members": g.members.keys().collect::<Vec<_>>()}))
                .collect();
            let out = json!({"groups": groups, "calls": state.relay.calls.len(),
                             "appliedChanges": state.relay.applied_count,
                             "pendingFaults": state.relay.faults});
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                for (id, g) in state.relay.groups() {
                    println!(
                        "{} group {:?} ({id}): {} member(s)",
                        g.provider,
                        g.name,
                        g.members.len()
                    );
                    for m in g.members.keys() {
                        println!("   {m}");
                    }
                }
                for c in state
                    .relay
                    .calls
                    .iter()
                    .rev()
                    .take(20)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                {
                    println!(
                        "{} {} {} → {}",
                        aiclearance::time::rfc3339(c.at_ms),
                        c.method,
                        c.path,
                        c.status
                    );
                }
                println!(
                    "{} call(s), {} membership change(s) applied, {} planned failure(s) pending",
                    state.relay.calls.len(),
                    state.relay.applied_count,
                    state.relay.faults.len()
                );
            }
        }
        Command::Serve {
            addr,
            fresh,
            paused,
            ui,
        } => {
            let manifest = Manifest::load(&manifest_path)?;
            let ui_dir = ui.clone().unwrap_or_else(|| {
                let base = manifest_path.parent().unwrap_or(std::path::Path::new("."));
                base.join(
                    manifest
                        .resources
                        .get("main")
                        .map_or("static/ui/dist", String::as_str),
                )
            });
            if !ui_dir.join("index.html").exists() {
                bail!(
                    "the Custom UI is not built ({} has no index.html): `cargo build --release -p host-sim` builds it, or `cd static/ui && npm install && npm run build`",
                    ui_dir.display()
                );
            }
            let (state, site, engine, seed, fresh) = (
                cli.state.clone(),
                cli.site.clone(),
                kind(cli.engine),
                cli.seed,
                *fresh,
            );
            let mp = manifest_path.clone();
            let (tx, rx) = std::sync::mpsc::channel();
            let handle = host_sim::serve::start(
                host_sim::serve::Options {
                    addr: *addr,
                    ui_dir,
                    state_dir: cli.state.clone(),
                    clock_running: !*paused,
                },
                move || {
                    let (sim, note) =
                        host_sim::serve::open_or_run(&state, &site, &mp, engine, seed, fresh)?;
                    let _ = tx.send(note);
                    Ok(sim)
                },
            )?;
            let note = rx.recv().unwrap_or_default();
            println!("host-sim serve: {note}");
            println!(
                "AI Clearance console on {} — open it in a browser (clock {}; Ctrl-C stops, state is saved every few seconds to {}/)",
                handle.url(),
                if *paused { "paused" } else { "running" },
                cli.state.display()
            );
            handle.wait()?;
        }
        Command::Logs { tail } => {
            let state = persist::load(&cli.state)?;
            for l in state
                .logs
                .iter()
                .rev()
                .take(*tail)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                println!(
                    "{} {:5} [{}] {}",
                    aiclearance::time::rfc3339(l.at_ms),
                    l.level,
                    l.function,
                    l.message
                );
            }
        }
    }
    Ok(())
}

/// Runs the app's own verifier natively against the emulator (the same code the resolver runs).
fn verify_native(sim: &mut Sim) -> Result<Value> {
    let emu = sim.emu_mut();
    emu.begin("audit-verify", None, 900, Default::default());
    let host = NativeHost::new(emu);
    let report = aiclearance::audit::verify(aiclearance::storage::Store::new(&host), usize::MAX)
        .map_err(|e| anyhow::anyhow!("{:?}", e))?;
    sim.emu_mut().end();
    Ok(serde_json::to_value(report)?)
}

fn summary(records: &[host_sim::InvocationRecord], state: &Value, verify: &Value) -> String {
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for r in records {
        if let Some(o) = r
            .ok()
            .and_then(|v| v.get("outcome"))
            .and_then(Value::as_str)
        {
            *outcomes.entry(o.to_string()).or_default() += 1;
        }
    }
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    for r in state["rejections"].as_array().into_iter().flatten() {
        *codes
            .entry(r["code"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    let mut totals = host_sim::faults::CallCounts::default();
    for r in records {
        totals.add(&r.counts);
    }
    let tally = |list: &Value, field: &str| {
        let mut m = std::collections::BTreeMap::<String, usize>::new();
        for x in list.as_array().into_iter().flatten() {
            *m.entry(x[field].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
        m.iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "\n══ Summary\n  invocations: {}   events: {}\n  requests: {} ({})   rejected snapshots: {} {:?}\n  grants: {}   provisioning jobs: {}\n  audit chain: {} ({} entries)\n  host calls: {} (kvs {} in {} transactions, jira {}, secrets {})\n",
        records.len(),
        outcomes.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", "),
        state["requests"].as_array().map(Vec::len).unwrap_or(0),
        tally(&state["requests"], "decision"),
        state["rejections"].as_array().map(Vec::len).unwrap_or(0),
        codes,
        tally(&state["grants"], "status"),
        tally(&state["jobs"], "status"),
        if verify["ok"].as_bool().unwrap_or(false) { "verified" } else { "BROKEN" },
        verify["checked"],
        totals.total,
        totals.service(host_sim::Service::Kvs),
        totals.kvs_transactions,
        totals.service(host_sim::Service::Jira),
        totals.service(host_sim::Service::Secrets),
    )
}
