// Loads the jco-transpiled component (build.mjs writes it to ./component/).
//
// The core WebAssembly modules are compiled once per process and cached; every invocation gets a
// FRESH component instance (serverless: no guest memory survives an invocation, and the wasmtime
// host in host-sim does the same). A fresh instance also means that whatever an invocation left
// behind — a trap, a JSPI suspension abandoned by an error, jco task bookkeeping — cannot leak
// into the next one.

import { readdir, readFile } from 'node:fs/promises';
import * as cli from '@bytecodealliance/preview2-shim/cli';
import * as io from '@bytecodealliance/preview2-shim/io';
import * as random from '@bytecodealliance/preview2-shim/random';
import { instantiate } from './component/component.js';

const modules = new Map();

/** jco's getCoreModule: compile each core module once per process (the promise is cached). */
export function getCoreModule(name) {
  let m = modules.get(name);
  if (!m) {
    m = readFile(new URL(`./component/${name}`, import.meta.url)).then((bytes) => WebAssembly.compile(bytes));
    // A failed compile is reported to whoever awaits it; don't let the cached promise count as unhandled.
    m.catch(() => {});
    modules.set(name, m);
  }
  return m;
}

/** Compiles every core module jco wrote (cold start) instead of on the first invocation. */
export async function prepare() {
  if (typeof WebAssembly.Suspending !== 'function') {
    throw new Error(`JSPI (WebAssembly.Suspending) is missing: Node ${process.version}; the app needs nodejs24.x`);
  }
  const names = (await readdir(new URL('./component/', import.meta.url))).filter((n) => n.endsWith('.wasm'));
  await Promise.all(names.map(getCoreModule));
}

// WASI for Rust std, sandboxed like host-sim's `WasiCtx::builder().build()`: no environment
// variables, one argument, no stdin (reading it traps). stdout is routed to stderr: the component
// never prints, and a stray print must not corrupt a line protocol on stdout (the simulator's
// harness). Rust std only uses stderr, for a panic message.
const environment = {
  getEnvironment: () => [],
  getArguments: () => ['aiclearance'],
  initialCwd: () => undefined
};

function wasiImports() {
  return {
    'wasi:cli/environment': environment,
    'wasi:cli/exit': cli.exit,
    'wasi:cli/stdin': {
      getStdin() {
        throw new Error('the component has no stdin');
      }
    },
    'wasi:cli/stdout': { getStdout: () => cli.stderr.getStderr() },
    'wasi:cli/stderr': cli.stderr,
    'wasi:cli/terminal-input': cli.terminalInput,
    'wasi:cli/terminal-output': cli.terminalOutput,
    'wasi:cli/terminal-stdin': cli.terminalStdin,
    'wasi:cli/terminal-stdout': cli.terminalStdout,
    'wasi:cli/terminal-stderr': cli.terminalStderr,
    'wasi:io/error': io.error,
    'wasi:io/poll': io.poll,
    'wasi:io/streams': io.streams,
    'wasi:random/random': random.random,
    'wasi:random/insecure': random.insecure,
    'wasi:random/insecure-seed': random.insecureSeed
  };
}

/** A fresh component instance wired to `forge` (the app's imports for this invocation). */
export async function instantiateComponent(forge) {
  const root = await instantiate(getCoreModule, { ...wasiImports(), ...forge });
  return root.handlers;
}
