// The Forge function handlers (manifest.yml `handler: index.<export>`). Forge's default bundler
// builds each handler module from src/<module>.js beside the manifest; the adapter itself lives in
// forge/src (see forge/README.md). `node forge/build.mjs` must have run first: the adapter imports
// the transpiled component from forge/dist/component. Named re-exports (not `export *`): forge
// lint's handler check looks for each handler by name.
export {
  resolver,
  intake,
  jobRunner,
  escalationSweep,
  promptStepCleanup,
  dailyMaintenance,
  weeklyReconciliation,
  queueWorker,
  // Not handlers: prepare() compiles the core modules ahead of the first invocation, mode says
  // jspi or asyncify (the simulator's harness and forge/bench.mjs call them).
  prepare,
  mode
} from '../forge/src/index.js';
