// Loads the jco-transpiled component (build.mjs writes it to ../dist/component/).
//
// The core WebAssembly modules are compiled once per process and cached; every invocation gets a
// FRESH component instance (serverless: no guest memory survives an invocation, and the wasmtime
// host in host-sim does the same). A fresh instance also means that whatever an invocation left
// behind — a trap, a JSPI suspension abandoned by an error, jco task bookkeeping — cannot leak
// into the next one.

import { readFile } from 'node:fs/promises';
import { instantiate } from '../dist/component/component.mjs';
import { wasiImports } from './wasi.js';
import { mode, instantiateCoreFor } from './jspi.js';

export { mode };

// The core modules jco wrote (build.mjs: dist/component/), as `new URL(literal, import.meta.url)`:
// Forge's default bundler (webpack) emits each one into the package as an asset and rewrites the
// URL to the emitted file; unbundled, it is the file next to the glue. The guest module is the
// plain one under JSPI and binaryen's asyncified copy otherwise (jspi.js).
const CORE = {
  'component.core.wasm':
    mode === 'jspi'
      ? new URL('../dist/component/component.core.wasm', import.meta.url)
      : new URL('../dist/component/component.core.asyncify.wasm', import.meta.url),
  'component.core2.wasm': new URL('../dist/component/component.core2.wasm', import.meta.url),
  'component.core3.wasm': new URL('../dist/component/component.core3.wasm', import.meta.url)
};

const modules = new Map();

/** jco's getCoreModule: compile each core module once per process (the promise is cached). */
export function getCoreModule(name) {
  let m = modules.get(name);
  if (!m) {
    const url = CORE[name];
    if (!url) throw new Error(`unknown core module ${name}`);
    m = readFile(url).then((bytes) => WebAssembly.compile(bytes));
    // A failed compile is reported to whoever awaits it; don't let the cached promise count as unhandled.
    m.catch(() => {});
    modules.set(name, m);
  }
  return m;
}

/** Compiles the core modules (cold start) instead of on the first invocation. Returns the mode. */
export async function prepare() {
  await Promise.all(Object.keys(CORE).map(getCoreModule));
  return mode;
}

/** A fresh component instance wired to `forge` (the app's imports for this invocation). */
export async function instantiateComponent(forge) {
  const root = await instantiate(getCoreModule, { ...wasiImports(), ...forge }, instantiateCoreFor());
  return root.handlers;
}
