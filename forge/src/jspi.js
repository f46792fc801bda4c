// How a synchronous guest import waits for a Forge promise: JSPI where the runtime has it, else
// binaryen's asyncify. Chosen once, when this module loads.
//
// jco's JSPI output (build.mjs) wraps every Forge-facing import in `new WebAssembly.Suspending(fn)`
// and every handler export in `WebAssembly.promising(fn)`. build.mjs rewrites those two names in
// the glue to this module's `Suspending` and `promising`, so the same glue runs in both modes:
//
// - `jspi`: they are WebAssembly.Suspending / WebAssembly.promising (on by default from Node
//   24.20; Node 22 and 24.0–24.19 have them only behind --experimental-wasm-jspi, which Forge
//   cannot pass).
// - `asyncify`: the core module is the asyncified copy build.mjs makes with binaryen
//   (`wasm-opt --asyncify`, the Forge-facing imports listed). `Suspending` only marks the function;
//   `instantiateCore` (below) turns each mark into an import that, when the function returns a
//   promise, unwinds the wasm stack into a buffer (asyncify_start_unwind) and returns. `promising`
//   wraps an export in a loop: call; while the module has unwound, stop, await the pending promise,
//   rewind (asyncify_start_rewind) and call again, which replays the stack to the import, which
//   now returns the settled value (or throws its error) and the guest goes on.
//
// AICLEARANCE_WASM_MODE=jspi|asyncify forces a mode (tests run the fallback on Node 24 too); `jspi`
// where the runtime lacks it fails at load.

const NATIVE = typeof WebAssembly.Suspending === 'function' && typeof WebAssembly.promising === 'function';

function chooseMode() {
  const forced = typeof process !== 'undefined' ? process.env.AICLEARANCE_WASM_MODE : undefined;
  if (forced === undefined || forced === '') return NATIVE ? 'jspi' : 'asyncify';
  if (forced !== 'jspi' && forced !== 'asyncify') {
    throw new Error(`AICLEARANCE_WASM_MODE=${forced}: expected jspi or asyncify`);
  }
  if (forced === 'jspi' && !NATIVE) {
    throw new Error(`AICLEARANCE_WASM_MODE=jspi, but Node ${process.version} has no WebAssembly.Suspending`);
  }
  return forced;
}

/** `jspi` or `asyncify`. */
export const mode = chooseMode();

// Asyncify states (binaryen: asyncify_get_state).
const NORMAL = 0;
const UNWINDING = 1;
const REWINDING = 2;

/** Bytes for one unwound stack (the guest's wasm locals along the call path, not its shadow stack). */
export const ASYNCIFY_STACK_BYTES = 512 * 1024;

/** The asyncify form of WebAssembly.Suspending: a mark that instantiateCore resolves. */
class AsyncifySuspending {
  constructor(fn) {
    if (typeof fn !== 'function') throw new TypeError('Suspending needs a function');
    this.fn = fn;
  }
}

/** Export function → the asyncify state of the instance it belongs to. */
const owner = new WeakMap();

function asyncifyPromising(fn) {
  if (typeof fn !== 'function') throw new TypeError('promising needs a function');
  const ctx = owner.get(fn);
  if (!ctx) return async (...args) => fn(...args); // an export of a module that never suspends
  return async (...args) => {
    ctx.depth += 1;
    try {
      let result = fn(...args);
      while (ctx.ex.asyncify_get_state() === UNWINDING) {
        ctx.ex.asyncify_stop_unwind();
        const pending = ctx.pending;
        ctx.pending = null;
        ctx.suspended = true;
        try {
          ctx.settled = { ok: true, value: await pending };
        } catch (error) {
          ctx.settled = { ok: false, error };
        } finally {
          ctx.suspended = false;
        }
        ctx.ex.asyncify_start_rewind(ctx.data);
        result = fn(...args);
      }
      return result;
    } finally {
      ctx.depth -= 1;
    }
  };
}

const isThenable = (v) => v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';

/** The import the guest calls for a Suspending-marked function. */
function suspendingImport(ctx, fn) {
  return (...args) => {
    const ex = ctx.ex;
    if (!ex) throw new Error('asyncify: a suspending import was called before the main module was instantiated');
    if (ex.asyncify_get_state() === REWINDING) {
      ex.asyncify_stop_rewind();
      const settled = ctx.settled;
      ctx.settled = null;
      if (!settled.ok) throw settled.error;
      return settled.value;
    }
    const r = fn(...args);
    if (!isThenable(r)) return r;
    if (ctx.depth === 0 || ctx.suspended) {
      // Nowhere to unwind to (no promising export on the stack), or the one buffer is in use.
      Promise.resolve(r).catch(() => {});
      throw new WebAssembly.RuntimeError(
        ctx.depth === 0 ? 'asyncify: a suspending import returned a promise outside a promising export' : 'asyncify: nested suspension'
      );
    }
    // Fresh header before every unwind: [current, end] then the buffer.
    const view = new DataView(ex.memory.buffer);
    view.setUint32(ctx.data, ctx.data + 8, true);
    view.setUint32(ctx.data + 4, ctx.data + 8 + ASYNCIFY_STACK_BYTES, true);
    ctx.pending = r;
    ex.asyncify_start_unwind(ctx.data);
    return undefined; // every suspending import of this component returns through a result pointer
  };
}

/**
 * A jco `instantiateCore` for one component instance. In `jspi` mode it is WebAssembly.instantiate.
 * In `asyncify` mode it resolves Suspending marks to imports bound to this instance's asyncify
 * state, and registers the exports of the module that has asyncify_* exports (the guest's).
 */
export function instantiateCoreFor() {
  if (mode === 'jspi') return (module, imports) => WebAssembly.instantiate(module, imports);
  const ctx = { ex: null, data: 0, pending: null, settled: null, depth: 0, suspended: false };
  return async (module, imports) => {
    let resolved = imports;
    if (imports) {
      resolved = {};
      for (const [ns, fields] of Object.entries(imports)) {
        const out = {};
        for (const [name, value] of Object.entries(fields)) {
          out[name] = value instanceof AsyncifySuspending ? suspendingImport(ctx, value.fn) : value;
        }
        resolved[ns] = out;
      }
    }
    const instance = await WebAssembly.instantiate(module, resolved);
    const ex = instance.exports;
    if (typeof ex.asyncify_start_unwind === 'function') {
      if (ctx.ex) throw new Error('asyncify: two asyncified modules in one component');
      if (typeof ex.cabi_realloc !== 'function' || !(ex.memory instanceof WebAssembly.Memory)) {
        throw new Error('asyncify: the guest module exports no cabi_realloc / memory');
      }
      ctx.ex = ex;
      ctx.data = ex.cabi_realloc(0, 0, 16, ASYNCIFY_STACK_BYTES + 8);
      for (const v of Object.values(ex)) if (typeof v === 'function') owner.set(v, ctx);
    }
    return instance;
  };
}

/** What the rewritten glue calls `new Suspending(fn)`. */
export const Suspending = mode === 'jspi' ? WebAssembly.Suspending : AsyncifySuspending;
/** What the rewritten glue calls `promising(fn)`. */
export const promising = mode === 'jspi' ? WebAssembly.promising : asyncifyPromising;
