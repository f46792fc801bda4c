// Resolves the Forge packages to the harness's stand-ins (sim/standins/*.mjs), so the real adapter
// (forge/dist/index.js), unchanged, talks to host-sim. Uses module.registerHooks (Node >= 23.5:
// synchronous, in-thread, so the stand-ins share sim/channel.mjs with the harness).

import * as nodeModule from 'node:module';

const STANDINS = {
  '@forge/kvs': new URL('./standins/kvs.mjs', import.meta.url).href,
  '@forge/api': new URL('./standins/api.mjs', import.meta.url).href,
  '@forge/events': new URL('./standins/events.mjs', import.meta.url).href,
  '@forge/llm': new URL('./standins/llm.mjs', import.meta.url).href
};

let installed = false;

export function installStandins() {
  if (installed) return;
  const { registerHooks } = nodeModule;
  if (typeof registerHooks !== 'function') {
    throw new Error(`module.registerHooks is missing (Node ${process.version}); the harness needs Node 24`);
  }
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const url = STANDINS[specifier];
      if (url) return { url, format: 'module', shortCircuit: true };
      if (specifier.startsWith('@forge/')) throw new Error(`the harness has no stand-in for ${specifier}`);
      return nextResolve(specifier, context);
    }
  });
  installed = true;
}
