/**
 * The one place the UI imports @forge/bridge (its package exports only "." and "./realtime", so
 * the index is the way in). The index is CommonJS and re-exports every API, which the bundler
 * cannot drop: that is most of the bundle beyond React (BENCHMARKS.md "Custom UI bundle").
 */
export { invoke, view, router, Modal } from '@forge/bridge';
