//! `host-sim serve` for the tests: the console on a loopback port over a fresh default site
//! (scenario replayed, clock paused), and a minimal HTTP/1.1 client for its API.
#![allow(dead_code)]

use host_sim::serve::{self, Handle, Options};
use host_sim::sim::{default_manifest, EngineKind};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

pub struct Console {
    pub handle: Handle,
    pub state_dir: PathBuf,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

/// The built Custom UI (host-sim's build script builds it with the crate).
pub fn ui_dir() -> PathBuf {
    super::root().join("static/ui/dist")
}

/// Which site a console starts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteStart {
    /// The default site with its scenario replayed (configured, requests in every state).
    Scenario,
    /// The fixture only: a fresh install, nothing configured.
    Empty,
}

/// A console on 127.0.0.1:<free port>, the default site with its scenario replayed.
pub fn start(name: &str) -> Console {
    start_on(name, SiteStart::Scenario)
}

pub fn start_on(name: &str, how: SiteStart) -> Console {
    let state_dir = std::env::temp_dir().join(format!("aiclearance-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state_dir);
    let (state, site) = (state_dir.clone(), super::site_dir());
    let handle = serve::start(
        Options {
            addr: "127.0.0.1:0".parse().unwrap(),
            ui_dir: ui_dir(),
            state_dir: state_dir.clone(),
            clock_running: false,
        },
        move || match how {
            SiteStart::Scenario => serve::open_or_run(
                &state,
                &site,
                &default_manifest(),
                EngineKind::Wasm,
                42,
                true,
            )
            .map(|(sim, _)| sim),
            SiteStart::Empty => {
                serve::open_empty(&state, &site, &default_manifest(), EngineKind::Wasm, 42)
            }
        },
    )
    .expect("the console starts");
    Console { handle, state_dir }
}

/// One request; returns (status, body).
pub fn http(c: &Console, method: &str, path: &str, body: Option<&str>) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(c.handle.addr).expect("connect to the console");
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, out[split + 4..].to_vec())
}

pub fn post(c: &Console, path: &str, body: &Value) -> (u16, Value) {
    let (s, b) = http(c, "POST", path, Some(&body.to_string()));
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

pub fn get(c: &Console, path: &str) -> (u16, String) {
    let (s, b) = http(c, "GET", path, None);
    (s, String::from_utf8_lossy(&b).to_string())
}
