//! The state directory: one redb database holding the simulated site between CLI commands, so
//! `run`, `invoke`, `tick` and `state` can be chained against one site.

use crate::emulator::{SimState, Stored};
use anyhow::{Context, Result};
use redb::{Database, ReadableTable, TableDefinition};
use std::path::Path;

const KVS: TableDefinition<&str, &str> = TableDefinition::new("kvs");
const SECRETS: TableDefinition<&str, &str> = TableDefinition::new("secrets");
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
const DB_FILE: &str = "site.redb";

pub fn exists(dir: &Path) -> bool {
    dir.join(DB_FILE).exists()
}

pub fn save(dir: &Path, state: &SimState) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let db = Database::create(dir.join(DB_FILE))?;
    let w = db.begin_write()?;
    {
        let _ = w.delete_table(KVS);
        let _ = w.delete_table(SECRETS);
        let mut kvs = w.open_table(KVS)?;
        for (k, v) in &state.kvs {
            kvs.insert(k.as_str(), serde_json::to_string(v)?.as_str())?;
        }
        let mut secrets = w.open_table(SECRETS)?;
        for (k, v) in &state.secrets {
            secrets.insert(k.as_str(), v.as_str())?;
        }
        let mut rest = state.clone();
        rest.kvs.clear();
        rest.secrets.clear();
        let mut meta = w.open_table(META)?;
        meta.insert("state", serde_json::to_string(&rest)?.as_str())?;
    }
    w.commit()?;
    Ok(())
}

pub fn load(dir: &Path) -> Result<SimState> {
    let path = dir.join(DB_FILE);
    let db = Database::open(&path).with_context(|| {
        format!(
            "no simulated site at {} — run `host-sim run` or `host-sim init` first",
            path.display()
        )
    })?;
    let r = db.begin_read()?;
    let meta = r.open_table(META)?;
    let text = meta
        .get("state")?
        .context("the state database has no site")?
        .value()
        .to_string();
    let mut state: SimState = serde_json::from_str(&text)?;
    for item in r.open_table(KVS)?.iter()? {
        let (k, v) = item?;
        let stored: Stored = serde_json::from_str(v.value())?;
        state.kvs.insert(k.value().to_string(), stored);
    }
    for item in r.open_table(SECRETS)?.iter()? {
        let (k, v) = item?;
        state
            .secrets
            .insert(k.value().to_string(), v.value().to_string());
    }
    Ok(state)
}
