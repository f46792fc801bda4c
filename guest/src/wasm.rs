//! The WIT glue: implements `Host` over the component's imports and forwards the exports to
//! `dispatch`. No logic lives here — only type conversion.

wit_bindgen::generate!({ path: "../wit", world: "app" });

use crate::host as port;
use aiclearance::forge::{config, fetch, jira, kvs, llm, log, queue, runtime, secrets, types};
use exports::aiclearance::forge::handlers::{self as wit_handlers, Guest};

struct WitHost;

fn err(e: types::HostError) -> port::HostError {
    use types::HostError as E;
    match e {
        E::NotFound => port::HostError::NotFound,
        E::Conflict(m) => port::HostError::Conflict(m),
        E::RateLimited(s) => port::HostError::RateLimited { retry_after_s: s },
        E::Forbidden(m) => port::HostError::Forbidden(m),
        E::Invalid(m) => port::HostError::Invalid(m),
        E::TooLarge(m) => port::HostError::TooLarge(m),
        E::Timeout => port::HostError::Timeout,
        E::Unavailable(m) => port::HostError::Unavailable(m),
    }
}

fn cond(c: &port::Condition) -> kvs::Condition {
    match c {
        port::Condition::Absent => kvs::Condition::Absent,
        port::Condition::Present => kvs::Condition::Present,
        port::Condition::Equals(v) => kvs::Condition::Equals(v.clone()),
    }
}

fn entry(e: &port::Entry) -> kvs::Entry {
    kvs::Entry {
        key: e.key.clone(),
        value: e.value.clone(),
    }
}

fn request(r: &port::HttpRequest) -> types::HttpRequest {
    types::HttpRequest {
        method: r.method.clone(),
        url: r.url.clone(),
        headers: r.headers.clone(),
        body: r.body.clone(),
    }
}

fn response(r: types::HttpResponse) -> port::HttpResponse {
    port::HttpResponse {
        status: r.status,
        headers: r.headers,
        body: r.body,
    }
}

impl port::Host for WitHost {
    fn kvs_get(&self, key: &str) -> Result<Option<String>, port::HostError> {
        kvs::get(key).map_err(err)
    }
    fn kvs_set(&self, key: &str, value: &str, o: port::SetOptions) -> Result<(), port::HostError> {
        kvs::set(
            key,
            value,
            kvs::SetOptions {
                fail_if_exists: o.fail_if_exists,
                ttl_seconds: o.ttl_seconds,
            },
        )
        .map_err(err)
    }
    fn kvs_delete(&self, key: &str) -> Result<(), port::HostError> {
        kvs::delete(key).map_err(err)
    }
    fn kvs_query(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<port::QueryPage, port::HostError> {
        let p = kvs::query(prefix, cursor, limit).map_err(err)?;
        Ok(port::QueryPage {
            entries: p
                .entries
                .into_iter()
                .map(|e| port::Entry {
                    key: e.key,
                    value: e.value,
                })
                .collect(),
            next_cursor: p.next_cursor,
        })
    }
    fn kvs_batch_get(&self, keys: &[String]) -> Result<Vec<port::Entry>, port::HostError> {
        Ok(kvs::batch_get(keys)
            .map_err(err)?
            .into_iter()
            .map(|e| port::Entry {
                key: e.key,
                value: e.value,
            })
            .collect())
    }
    fn kvs_transact(&self, ops: &[port::TxOp]) -> Result<(), port::HostError> {
        let ops: Vec<kvs::TxOp> = ops
            .iter()
            .map(|op| match op {
                port::TxOp::Set(e) => kvs::TxOp::Set(entry(e)),
                port::TxOp::Delete(k) => kvs::TxOp::Delete(k.clone()),
                port::TxOp::Check(k, c) => kvs::TxOp::Check((k.clone(), cond(c))),
                port::TxOp::SetIf(e, c) => kvs::TxOp::SetIf((entry(e), cond(c))),
                port::TxOp::DeleteIf(k, c) => kvs::TxOp::DeleteIf((k.clone(), cond(c))),
            })
            .collect();
        kvs::transact(&ops).map_err(err)
    }
    fn secret_get(&self, key: &str) -> Result<Option<String>, port::HostError> {
        secrets::get(key).map_err(err)
    }
    fn secret_set(&self, key: &str, value: &str) -> Result<(), port::HostError> {
        secrets::set(key, value).map_err(err)
    }
    fn secret_delete(&self, key: &str) -> Result<(), port::HostError> {
        secrets::delete(key).map_err(err)
    }
    fn jira(
        &self,
        principal: port::Principal,
        req: &port::HttpRequest,
    ) -> Result<port::HttpResponse, port::HostError> {
        let p = match principal {
            port::Principal::App => jira::Principal::App,
            port::Principal::User => jira::Principal::User,
        };
        jira::request(p, &request(req)).map(response).map_err(err)
    }
    fn fetch(&self, req: &port::HttpRequest) -> Result<port::HttpResponse, port::HostError> {
        fetch::request(&request(req)).map(response).map_err(err)
    }
    fn llm_chat(&self, prompt: &str) -> Result<String, port::HostError> {
        llm::chat(prompt).map_err(err)
    }
    fn queue_push(
        &self,
        queue_key: &str,
        events: &[String],
        delay_seconds: u32,
    ) -> Result<(), port::HostError> {
        queue::push(queue_key, events, delay_seconds).map_err(err)
    }
    fn now_ms(&self) -> u64 {
        runtime::now_ms()
    }
    fn remaining_ms(&self) -> u64 {
        runtime::remaining_ms()
    }
    fn random_bytes(&self, len: u32) -> Vec<u8> {
        runtime::random_bytes(len)
    }
    fn log(&self, level: port::Level, message: &str) {
        let l = match level {
            port::Level::Debug => log::Level::Debug,
            port::Level::Info => log::Level::Info,
            port::Level::Warn => log::Level::Warn,
            port::Level::Error => log::Level::Error,
        };
        log::write(l, message)
    }
    fn env(&self, name: &str) -> Option<String> {
        config::env(name)
    }
}

fn inv(c: wit_handlers::InvocationContext) -> port::Invocation {
    port::Invocation {
        app_ari: c.app_ari,
        cloud_id: c.cloud_id,
        module_key: c.module_key,
        account_id: c.account_id,
        license_active: c.license_active,
        extension: c.extension,
    }
}

fn app_err(e: crate::AppError) -> wit_handlers::AppError {
    use crate::ErrorKind as K;
    use wit_handlers::ErrorKind as W;
    let kind = match e.kind {
        K::Invalid => W::Invalid,
        K::Forbidden => W::Forbidden,
        K::NotFound => W::NotFound,
        K::Conflict => W::Conflict,
        K::RateLimited => W::RateLimited,
        K::TooLarge => W::TooLarge,
        K::Unavailable => W::Unavailable,
        K::Internal => W::Internal,
    };
    wit_handlers::AppError {
        kind,
        code: e.code,
        message: e.message,
        retry_after_seconds: e.retry_after_s,
        details: e.details.map(|d| d.to_string()),
    }
}

struct Component;

impl Guest for Component {
    fn resolve(
        function_key: String,
        payload: String,
        ctx: wit_handlers::InvocationContext,
    ) -> Result<String, wit_handlers::AppError> {
        crate::dispatch::resolve(&WitHost, &inv(ctx), &function_key, &payload)
            .map(|v| v.to_string())
            .map_err(app_err)
    }
    fn on_product_event(
        event: String,
        ctx: wit_handlers::InvocationContext,
    ) -> Result<String, wit_handlers::AppError> {
        crate::dispatch::product_event(&WitHost, &inv(ctx), &event)
            .map(|v| v.to_string())
            .map_err(app_err)
    }
    fn on_scheduled(
        ctx: wit_handlers::InvocationContext,
    ) -> Result<String, wit_handlers::AppError> {
        crate::dispatch::scheduled(&WitHost, &inv(ctx))
            .map(|v| v.to_string())
            .map_err(app_err)
    }
    fn on_queue_event(
        queue_key: String,
        body: String,
        ctx: wit_handlers::InvocationContext,
    ) -> Result<wit_handlers::QueueOutcome, wit_handlers::AppError> {
        match crate::dispatch::queue_event(&WitHost, &inv(ctx), &queue_key, &body)
            .map_err(app_err)?
        {
            None => Ok(wit_handlers::QueueOutcome::Done),
            Some(s) => Ok(wit_handlers::QueueOutcome::Retry(s)),
        }
    }
}

export!(Component);
