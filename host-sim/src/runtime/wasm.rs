//! The wasmtime front door: the compiled component, precompiled once and cached by content hash,
//! one `InstancePre`, and a fresh `Store` per invocation (serverless: nothing survives in guest
//! memory between invocations), with Forge's 512 MB memory limit and a per-invocation deadline.

use super::{Engine, Export, RawOutcome, ReturnedError};
use crate::emulator::{Call, Emulator};
use crate::faults::Crash;
use crate::interleave::{Seat, Slot};
use ::aiclearance::host::{self as port, HostError as PortError, Invocation};
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine as WtEngine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "app",
        imports: { default: trappable },
    });
}

use bindings::aiclearance::forge::{
    config as wconfig, fetch as wfetch, jira as wjira, kvs as wkvs, llm as wllm, log as wlog,
    queue as wqueue, runtime as wruntime, secrets as wsecrets, types as wtypes,
};
use bindings::exports::aiclearance::forge::handlers as wh;
use bindings::{App, AppPre};

/// Forge's default function memory.
pub const MEMORY_LIMIT: usize = 512 * 1024 * 1024;
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Instances alive at once per engine: one per invocation, several when invocations interleave.
const POOL_INSTANCES: u32 = 32;
/// A typical invocation's whole linear memory (stack, data, heap) is under 2 MiB; resetting
/// 4 MiB by memset costs less than unmapping and faulting it back (measured: 1 MiB was slower
/// than none, 2–4 MiB fastest, 8 MiB slower again).
const KEEP_RESIDENT: usize = 4 << 20;

pub struct HostState {
    pub emu: Slot<'static>,
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl HostState {
    fn timed<T>(
        &mut self,
        f: impl FnOnce(&mut Emulator) -> Call<T>,
    ) -> wasmtime::Result<Result<T, wtypes::HostError>> {
        let r = self.emu.with(true, |emu| {
            let t = Instant::now();
            let r = f(emu);
            emu.running.host_ns += t.elapsed().as_nanos() as u64;
            r
        });
        match r {
            Ok(inner) => Ok(inner.map_err(to_wit_err)),
            Err(crash) => Err(wasmtime::Error::new(crash)),
        }
    }
}

fn to_wit_err(e: PortError) -> wtypes::HostError {
    use wtypes::HostError as W;
    match e {
        PortError::NotFound => W::NotFound,
        PortError::Conflict(m) => W::Conflict(m),
        PortError::RateLimited { retry_after_s } => W::RateLimited(retry_after_s),
        PortError::Forbidden(m) => W::Forbidden(m),
        PortError::Invalid(m) => W::Invalid(m),
        PortError::TooLarge(m) => W::TooLarge(m),
        PortError::Timeout => W::Timeout,
        PortError::Unavailable(m) => W::Unavailable(m),
    }
}

fn from_wit_cond(c: wkvs::Condition) -> port::Condition {
    match c {
        wkvs::Condition::Absent => port::Condition::Absent,
        wkvs::Condition::Present => port::Condition::Present,
        wkvs::Condition::Equals(v) => port::Condition::Equals(v),
    }
}

fn from_wit_req(r: wtypes::HttpRequest) -> port::HttpRequest {
    port::HttpRequest {
        method: r.method,
        url: r.url,
        headers: r.headers,
        body: r.body,
    }
}

fn to_wit_resp(r: port::HttpResponse) -> wtypes::HttpResponse {
    wtypes::HttpResponse {
        status: r.status,
        headers: r.headers,
        body: r.body,
    }
}

impl wtypes::Host for HostState {}

impl wkvs::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, wtypes::HostError>> {
        self.timed(|e| e.kvs_get(&key))
    }
    fn set(
        &mut self,
        key: String,
        value: String,
        o: wkvs::SetOptions,
    ) -> wasmtime::Result<Result<(), wtypes::HostError>> {
        self.timed(|e| {
            e.kvs_set(
                &key,
                &value,
                port::SetOptions {
                    fail_if_exists: o.fail_if_exists,
                    ttl_seconds: o.ttl_seconds,
                },
            )
        })
    }
    fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), wtypes::HostError>> {
        self.timed(|e| e.kvs_delete(&key))
    }
    fn query(
        &mut self,
        prefix: String,
        cursor: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Result<wkvs::QueryPage, wtypes::HostError>> {
        let r = self.timed(|e| e.kvs_query(&prefix, cursor.as_deref(), limit))?;
        Ok(r.map(|p| wkvs::QueryPage {
            entries: p
                .entries
                .into_iter()
                .map(|e| wkvs::Entry {
                    key: e.key,
                    value: e.value,
                })
                .collect(),
            next_cursor: p.next_cursor,
        }))
    }
    fn batch_get(
        &mut self,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<wkvs::Entry>, wtypes::HostError>> {
        let r = self.timed(|e| e.kvs_batch_get(&keys))?;
        Ok(r.map(|v| {
            v.into_iter()
                .map(|e| wkvs::Entry {
                    key: e.key,
                    value: e.value,
                })
                .collect()
        }))
    }
    fn transact(
        &mut self,
        ops: Vec<wkvs::TxOp>,
    ) -> wasmtime::Result<Result<(), wtypes::HostError>> {
        let entry = |e: wkvs::Entry| port::Entry {
            key: e.key,
            value: e.value,
        };
        let ops: Vec<port::TxOp> = ops
            .into_iter()
            .map(|op| match op {
                wkvs::TxOp::Set(e) => port::TxOp::Set(entry(e)),
                wkvs::TxOp::Delete(k) => port::TxOp::Delete(k),
                wkvs::TxOp::Check((k, c)) => port::TxOp::Check(k, from_wit_cond(c)),
                wkvs::TxOp::SetIf((e, c)) => port::TxOp::SetIf(entry(e), from_wit_cond(c)),
                wkvs::TxOp::DeleteIf((k, c)) => port::TxOp::DeleteIf(k, from_wit_cond(c)),
            })
            .collect();
        self.timed(|e| e.kvs_transact(&ops))
    }
}

impl wsecrets::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, wtypes::HostError>> {
        self.timed(|e| e.secret_get(&key))
    }
    fn set(
        &mut self,
        key: String,
        value: String,
    ) -> wasmtime::Result<Result<(), wtypes::HostError>> {
        self.timed(|e| e.secret_set(&key, &value))
    }
    fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), wtypes::HostError>> {
        self.timed(|e| e.secret_delete(&key))
    }
}

impl wjira::Host for HostState {
    fn request(
        &mut self,
        principal: wjira::Principal,
        req: wtypes::HttpRequest,
    ) -> wasmtime::Result<Result<wtypes::HttpResponse, wtypes::HostError>> {
        let p = match principal {
            wjira::Principal::App => port::Principal::App,
            wjira::Principal::User => port::Principal::User,
        };
        let req = from_wit_req(req);
        Ok(self.timed(|e| e.jira(p, &req))?.map(to_wit_resp))
    }
}

impl wfetch::Host for HostState {
    fn request(
        &mut self,
        req: wtypes::HttpRequest,
    ) -> wasmtime::Result<Result<wtypes::HttpResponse, wtypes::HostError>> {
        let req = from_wit_req(req);
        Ok(self.timed(|e| e.fetch(&req))?.map(to_wit_resp))
    }
}

impl wllm::Host for HostState {
    fn chat(&mut self, prompt: String) -> wasmtime::Result<Result<String, wtypes::HostError>> {
        self.timed(|e| e.llm_chat(&prompt))
    }
}

impl wqueue::Host for HostState {
    fn push(
        &mut self,
        queue_key: String,
        events: Vec<String>,
        delay_seconds: u32,
    ) -> wasmtime::Result<Result<(), wtypes::HostError>> {
        self.timed(|e| e.queue_push(&queue_key, &events, delay_seconds))
    }
}

impl wruntime::Host for HostState {
    fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(self.emu.with(false, |e| e.now_ms()))
    }
    fn remaining_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(self.emu.with(false, |e| e.remaining_ms()))
    }
    fn random_bytes(&mut self, len: u32) -> wasmtime::Result<Vec<u8>> {
        Ok(self.emu.with(false, |e| e.random_bytes(len.min(1 << 20))))
    }
}

impl wlog::Host for HostState {
    fn write(&mut self, level: wlog::Level, message: String) -> wasmtime::Result<()> {
        let l = match level {
            wlog::Level::Debug => port::Level::Debug,
            wlog::Level::Info => port::Level::Info,
            wlog::Level::Warn => port::Level::Warn,
            wlog::Level::Error => port::Level::Error,
        };
        self.emu.with(false, |e| e.log(l, &message));
        Ok(())
    }
}

impl wconfig::Host for HostState {
    fn env(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self.emu.with(false, |e| e.env(&name)))
    }
}

pub struct WasmEngine {
    engine: WtEngine,
    pre: AppPre<HostState>,
    ticker_stop: Arc<AtomicBool>,
    /// Wall time of the last load: (deserialize or compile, instantiate-pre).
    pub load_time: Duration,
    pub compiled_fresh: bool,
}

impl Drop for WasmEngine {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

pub fn engine_config() -> Config {
    let mut c = Config::new();
    c.wasm_component_model(true);
    c.epoch_interruption(true);
    // `HOST_SIM_PERFMAP=1` names the JIT code for `perf` (/tmp/perf-<pid>.map); profiling only.
    if std::env::var_os("HOST_SIM_PERFMAP").is_some() {
        c.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    // Serverless hosts that instantiate per request run the pooling allocator: slots reserved
    // once, a freed memory's first pages reset with memset and kept mapped (with its data image),
    // so an invocation pays no mmap/munmap or page faults for them. On-demand allocation spent
    // ~45 µs per invocation in the kernel doing exactly that (`cargo bench --bench invocation`;
    // D-104). `HOST_SIM_ALLOCATOR=on-demand` restores it, for comparison.
    if std::env::var("HOST_SIM_ALLOCATOR").as_deref() != Ok("on-demand") {
        let mut pool = wasmtime::PoolingAllocationConfig::new();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES * 8)
            .total_memories(POOL_INSTANCES)
            .total_tables(POOL_INSTANCES * 8)
            .max_memory_size(MEMORY_LIMIT)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(64 << 10);
        c.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    }
    c
}

/// `<dir>/<stem>-<sha256 prefix>.cwasm`: the precompiled artifact for exactly these bytes.
pub fn cache_path(component: &Path, bytes: &[u8]) -> PathBuf {
    let digest: String = Sha256::digest(bytes)
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = std::env::var_os("HOST_SIM_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| component.parent().unwrap_or(Path::new(".")).to_path_buf());
    dir.join(format!("aiclearance-{digest}.cwasm"))
}

impl WasmEngine {
    pub fn load(component_path: &Path) -> Result<Self> {
        let started = Instant::now();
        let engine = WtEngine::new(&engine_config())?;
        let bytes = std::fs::read(component_path).with_context(|| {
            format!(
                "reading the component {} (build it with `cargo build -p host-sim`)",
                component_path.display()
            )
        })?;
        let cached = cache_path(component_path, &bytes);
        let mut compiled_fresh = false;
        if !cached.exists() {
            let art = engine.precompile_component(&bytes)?;
            // Unique per process and per call: test threads compile concurrently.
            static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tmp = cached.with_extension(format!("tmp{}-{n}", std::process::id()));
            std::fs::write(&tmp, art)?;
            std::fs::rename(&tmp, &cached)?;
            compiled_fresh = true;
        }
        // SAFETY: the file is an artifact this engine configuration produced, named by the hash
        // of the component it came from.
        let component = unsafe { Component::deserialize_file(&engine, &cached) }?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        App::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
        let pre = AppPre::new(linker.instantiate_pre(&component)?)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let (e2, stop2) = (engine.clone(), ticker_stop.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                e2.increment_epoch();
            }
        });
        Ok(WasmEngine {
            engine,
            pre,
            ticker_stop,
            load_time: started.elapsed(),
            compiled_fresh,
        })
    }

    pub fn engine(&self) -> &WtEngine {
        &self.engine
    }

    /// A fresh store and instance (what a cold Forge invocation pays), for benchmarks.
    pub fn instantiate(&self, emu: Emulator, timeout_s: u64) -> Result<(Store<HostState>, App)> {
        self.instantiate_slot(Slot::Owned(Box::new(emu)), timeout_s)
    }

    fn instantiate_slot(
        &self,
        emu: Slot<'static>,
        timeout_s: u64,
    ) -> Result<(Store<HostState>, App)> {
        let state = HostState {
            emu,
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(MEMORY_LIMIT)
                .instances(8)
                .build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline((timeout_s * 1000 / EPOCH_TICK.as_millis() as u64).max(1));
        let app = self.pre.instantiate(&mut store)?;
        Ok((store, app))
    }
}

fn wit_ctx(inv: &Invocation) -> wh::InvocationContext {
    wh::InvocationContext {
        app_ari: inv.app_ari.clone(),
        cloud_id: inv.cloud_id.clone(),
        module_key: inv.module_key.clone(),
        account_id: inv.account_id.clone(),
        license_active: inv.license_active,
        extension: inv.extension.clone(),
    }
}

fn returned(e: wh::AppError) -> RawOutcome {
    RawOutcome::Err(ReturnedError {
        kind: match e.kind {
            wh::ErrorKind::Invalid => "invalid",
            wh::ErrorKind::Forbidden => "forbidden",
            wh::ErrorKind::NotFound => "not-found",
            wh::ErrorKind::Conflict => "conflict",
            wh::ErrorKind::RateLimited => "rate-limited",
            wh::ErrorKind::TooLarge => "too-large",
            wh::ErrorKind::Unavailable => "unavailable",
            wh::ErrorKind::Internal => "internal",
        }
        .to_string(),
        code: e.code,
        message: e.message,
        retry_after_seconds: e.retry_after_seconds,
        details: e.details.and_then(|d| serde_json::from_str(&d).ok()),
    })
}

fn run(
    store: &mut Store<HostState>,
    app: &App,
    inv: &Invocation,
    export: &Export,
) -> wasmtime::Result<RawOutcome> {
    let h = app.aiclearance_forge_handlers();
    let ctx = wit_ctx(inv);
    let parse = |s: String| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s));
    Ok(match export {
        Export::Resolve {
            function_key,
            payload,
        } => match h.call_resolve(&mut *store, function_key, payload, &ctx)? {
            Ok(s) => RawOutcome::Ok(parse(s)),
            Err(e) => returned(e),
        },
        Export::ProductEvent { event } => {
            match h.call_on_product_event(&mut *store, event, &ctx)? {
                Ok(s) => RawOutcome::Ok(parse(s)),
                Err(e) => returned(e),
            }
        }
        Export::Scheduled => match h.call_on_scheduled(&mut *store, &ctx)? {
            Ok(s) => RawOutcome::Ok(parse(s)),
            Err(e) => returned(e),
        },
        Export::Queue { queue_key, body } => {
            match h.call_on_queue_event(&mut *store, queue_key, body, &ctx)? {
                Ok(wh::QueueOutcome::Done) => RawOutcome::Ok(serde_json::json!({"done": true})),
                Ok(wh::QueueOutcome::Retry(s)) => RawOutcome::Ok(serde_json::json!({"retry": s})),
                Err(e) => returned(e),
            }
        }
    })
}

impl Engine for WasmEngine {
    fn name(&self) -> &'static str {
        "wasm"
    }

    fn call(&mut self, emu: Emulator, inv: &Invocation, export: &Export) -> (Emulator, RawOutcome) {
        let timeout_s = emu.running.deadline_ms / 1000;
        let (mut store, app) = match self.instantiate(emu, timeout_s) {
            Ok(x) => x,
            Err(e) => panic!("instantiating the component failed: {e:#}"),
        };
        let outcome = match run(&mut store, &app, inv, export) {
            Ok(o) => o,
            Err(err) => match err.downcast_ref::<Crash>() {
                Some(c) => RawOutcome::Crashed { at_call: c.at_call },
                None => RawOutcome::Trapped(format!("{err:#}")),
            },
        };
        (store.into_data().into_emulator(), outcome)
    }

    fn seat_runner(&self) -> Option<&dyn super::SeatRunner> {
        Some(self)
    }
}

impl super::SeatRunner for WasmEngine {
    fn run_seat(&self, seat: Seat, inv: &Invocation, export: &Export) -> RawOutcome {
        let timeout_s = seat.timeout_s();
        let (mut store, app) = match self.instantiate_slot(Slot::Seat(seat), timeout_s) {
            Ok(x) => x,
            Err(e) => panic!("instantiating the component failed: {e:#}"),
        };
        match run(&mut store, &app, inv, export) {
            Ok(o) => o,
            Err(err) => match err.downcast_ref::<Crash>() {
                Some(c) => RawOutcome::Crashed { at_call: c.at_call },
                None => RawOutcome::Trapped(format!("{err:#}")),
            },
        }
    }
}

impl HostState {
    /// The emulator back after a single (not interleaved) invocation.
    pub fn into_emulator(self) -> Emulator {
        self.emu
            .into_owned()
            .expect("a single invocation owns its emulator")
    }
}
