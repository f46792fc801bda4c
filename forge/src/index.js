// AI Clearance on Forge: the handlers manifest.yml names (`handler: index.<export>`).
//
// The app is a Rust WebAssembly component (wit/forge.wit) transpiled by jco in JSPI mode
// (build.mjs); this adapter implements its imports over @forge/kvs, @forge/api and @forge/events
// (imports.js) and runs one fresh component instance per invocation (handlers.js).
// `prepare()` compiles the component ahead of the first invocation (optional; the harness
// host-sim drives calls it to measure the cold start).

export {
  resolver,
  intake,
  jobRunner,
  escalationSweep,
  promptStepCleanup,
  dailyMaintenance,
  weeklyReconciliation,
  queueWorker
} from './handlers.js';
export { prepare, mode } from './component.js';
