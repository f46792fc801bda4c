// The WASI 0.2 imports Rust std makes the component take (wasi:cli, wasi:io, wasi:random), and
// only those: the component's imports are read off jco's glue (build.mjs checks the list). Replaces
// @bytecodealliance/preview2-shim, whose Node build starts an I/O worker thread and pulls a native
// addon (jco-node-fs) that webpack cannot bundle.
//
// Sandboxed like host-sim's `WasiCtx::builder().build()`: no environment variables, no stdin
// (reading it traps), no terminals. stdout and stderr both go to process.stderr (the component
// never prints; Rust std writes a panic message to stderr, and a stray print must not reach a
// line protocol on stdout). Nothing blocks: writes are synchronous.

import { randomBytes } from 'node:crypto';

/** The interfaces (jco's import keys, without versions) this module provides. */
export const WASI_INTERFACES = [
  'wasi:cli/environment',
  'wasi:cli/exit',
  'wasi:cli/stdin',
  'wasi:cli/stdout',
  'wasi:cli/stderr',
  'wasi:cli/terminal-input',
  'wasi:cli/terminal-output',
  'wasi:cli/terminal-stdin',
  'wasi:cli/terminal-stdout',
  'wasi:cli/terminal-stderr',
  'wasi:io/error',
  'wasi:io/poll',
  'wasi:io/streams',
  'wasi:random/insecure-seed'
];

const toStderr = (bytes) => {
  try {
    process.stderr.write(Buffer.from(bytes));
  } catch {
    // a closed stderr must not trap the guest
  }
};

class IoError {
  constructor(message) {
    this.message = message;
  }
  toDebugString() {
    return this.message;
  }
}

/** Every stream here is always ready. */
class Pollable {
  block() {}
  ready() {
    return true;
  }
}

class InputStream {
  subscribe() {
    return new Pollable();
  }
}

/** stdout and stderr alike: both go to process.stderr (no per-object state: jco may re-create the object). */
class OutputStream {
  checkWrite() {
    return 1024n * 1024n;
  }
  write(bytes) {
    toStderr(bytes);
  }
  blockingWriteAndFlush(bytes) {
    toStderr(bytes);
  }
  flush() {}
  blockingFlush() {}
  subscribe() {
    return new Pollable();
  }
}

class TerminalInput {}
class TerminalOutput {}

let seed;

/** The WASI imports, keyed as jco's glue wants them. */
export function wasiImports() {
  return {
    'wasi:cli/environment': {
      getEnvironment: () => [],
      getArguments: () => ['aiclearance'],
      initialCwd: () => undefined
    },
    'wasi:cli/exit': {
      exit(status) {
        throw new Error(`the component called exit (${status?.tag ?? status})`);
      }
    },
    'wasi:cli/stdin': {
      getStdin() {
        throw new Error('the component has no stdin');
      }
    },
    'wasi:cli/stdout': { getStdout: () => new OutputStream() },
    'wasi:cli/stderr': { getStderr: () => new OutputStream() },
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:io/error': { Error: IoError },
    'wasi:io/poll': { Pollable, poll: (list) => new Uint32Array(list.map((_, i) => i)) },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:random/insecure-seed': {
      // As preview2-shim: one seed per process, from node:crypto (not the invocation's RNG).
      insecureSeed() {
        if (!seed) {
          const b = randomBytes(16);
          seed = [b.readBigUInt64LE(0), b.readBigUInt64LE(8)];
        }
        return seed;
      }
    }
  };
}
