#!/usr/bin/env node
// Error round-trip matrix: every WIT host-error host-sim can answer, for every forwarded import,
// goes through the stand-in (as the error the real package would throw) and the adapter's mapping
// (forge/src/imports.js, unbundled), and must come back as the same variant with the same text. Also checks
// a few success shapes. Runs in-process (no protocol I/O): calls are answered by a script.
//
//   <node 24> forge/sim/roundtrip.mjs [--adapter forge/src]      (run by sim/selftest.mjs)

import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { installStandins } from './hooks.mjs';
import { SimCrash, setTransport, sim } from './channel.mjs';

let dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
for (let i = 2; i < process.argv.length; i++) if (process.argv[i] === '--adapter') dist = path.resolve(process.argv[++i]);

installStandins();
const { forgeImports, sha256 } = await import(pathToFileURL(path.join(dist, 'imports.js')).href);

let passed = 0;
let failed = 0;
const check = (name, ok, detail = '') => {
  if (ok) passed++;
  else failed++;
  if (!ok || process.env.ROUNDTRIP_VERBOSE) console.log(`${ok ? 'ok  ' : 'FAIL'}  ${name}${detail ? ` — ${detail}` : ''}`);
};

sim.inv = { seq: 0, nowMs: 1790000000000, ctx: { appAri: 'ari:cloud:ecosystem::app/x', moduleKey: 'm', licenseActive: null } };
let reply = () => ({ ok: null });
const sent = [];
setTransport((req) => {
  sent.push(req);
  return reply(req.fn, req.args);
});

const imp = forgeImports({ startedMs: 0, timeoutMs: 25000 });
const K = imp['aiclearance:forge/kvs'];
const S = imp['aiclearance:forge/secrets'];
const J = imp['aiclearance:forge/jira'];
const F = imp['aiclearance:forge/fetch'];
const Q = imp['aiclearance:forge/queue'];
const L = imp['aiclearance:forge/llm'];
const prompt = '{"model":"claude-haiku-4-5-20251001","messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":5}';

/** Runs an import with host-sim answering `answer`; returns { value } or { thrown }. */
async function run(answer, f) {
  reply = () => answer;
  sent.length = 0;
  try {
    return { value: await f() };
  } catch (e) {
    return { thrown: e };
  }
}

const req = { method: 'GET', url: '/rest/api/3/myself', headers: [['Accept', 'application/json']], body: undefined };
const ops2 = [
  { tag: 'check', val: ['lock:a', { tag: 'absent' }] },
  { tag: 'set-if', val: [{ key: 'rec:b', value: '{"v":2}' }, { tag: 'equals', val: '{"v":1}' }] },
  { tag: 'set', val: { key: 'rec:c', value: '{}' } }
];

const CALLS = {
  'kvs.get': () => K.get('rec:a'),
  'kvs.set': () => K.set('rec:a', '{"a":1}', { failIfExists: true, ttlSeconds: 60n }),
  'kvs.delete': () => K.delete('rec:a'),
  'kvs.query': () => K.query('rec:', undefined, 20),
  'kvs.batchGet': () => K.batchGet(['rec:a', 'rec:b']),
  'kvs.transact': () => K.transact(ops2),
  'secrets.get': () => S.get('s'),
  'secrets.set': () => S.set('s', 'v'),
  'secrets.delete': () => S.delete('s'),
  'jira.request(app)': () => J.request('app', req),
  'jira.request(user)': () => J.request('user', req),
  'fetch.request': () => F.request({ ...req, url: 'https://api.openai.com/v1/x' }),
  'queue.push': () => Q.push('webhooks', ['{"deliveryId":"d1"}'], 0),
  'llm.chat': () => L.chat(prompt)
};

const TEXTS = ['INVALID_KEY: "a/b"', 'value is not JSON: expected value at line 1', 'MAX_SIZE: 300000 bytes > 245760', 'HTTP 503', 'a push holds 1..=50 events, not 51', 'delay 901s > 900s', '503 SERVICE_UNAVAILABLE: the model is overloaded', '400 INVALID_MODEL: model x is not supported by Forge LLMs', 'The payload is invalid: Model is required.'];

for (const [name, f] of Object.entries(CALLS)) {
  const isGet = name === 'kvs.get' || name === 'secrets.get';
  const isDelete = name === 'kvs.delete' || name === 'secrets.delete';
  const cases = [
    [{ tag: 'not-found' }, isGet ? { value: undefined } : isDelete ? { value: undefined } : { tag: 'not-found' }],
    [{ tag: 'timeout' }, { tag: 'timeout' }],
    [{ tag: 'rate-limited', val: 7 }, { tag: 'rate-limited', val: 7 }],
    [{ tag: 'rate-limited', val: 0 }, { tag: 'rate-limited', val: 0 }],
    [{ tag: 'conflict', val: name === 'kvs.transact' ? 'rec:b' : name === 'kvs.set' ? 'rec:a' : 'it changed' }, null]
  ];
  for (const t of ['forbidden', 'invalid', 'too-large', 'unavailable']) {
    for (const text of TEXTS) cases.push([{ tag: t, val: text }, { tag: t, val: text }]);
  }
  for (const [err, want0] of cases) {
    const want = want0 ?? err;
    const r = await run({ err }, f);
    const got = 'thrown' in r ? r.thrown : { value: r.value };
    const ok = 'value' in want ? 'value' in got && got.value === want.value : isDeepStrictEqual(got, want);
    check(`${name} ${JSON.stringify(err)}`, ok, `got ${JSON.stringify(got, (k, v) => (v instanceof Error ? `${v.name}: ${v.message}` : v))}`);
  }
  // A crash reply: SimCrash (an Error the adapter must not map), then no further exchange.
  reply = () => ({ crash: true });
  sim.crashed = false;
  let r = await run({ crash: true }, f);
  check(`${name} crash → SimCrash rethrown`, r.thrown instanceof SimCrash, String(r.thrown));
  r = await run({ ok: null }, f);
  check(`${name} after a crash → SimCrash without a call`, r.thrown instanceof SimCrash && sent.length === 0, `${String(r.thrown)}, ${sent.length} sent`);
  sim.crashed = false;
}

// ---- success shapes and the forwarded arguments ---------------------------------------------------

{
  const r = await run({ ok: '{"a":1}' }, () => K.get('rec:a'));
  check('kvs.get returns the stored text', r.value === '{"a":1}' && isDeepStrictEqual(sent[0].args, { key: 'rec:a' }), JSON.stringify(r));
}
{
  const r = await run({ ok: null }, () => K.set('rec:a', '{"a":1}', { failIfExists: true, ttlSeconds: 60n }));
  check('kvs.set forwards text, failIfExists and ttl', r.value === undefined && isDeepStrictEqual(sent[0].args, { key: 'rec:a', value: '{"a":1}', failIfExists: true, ttlSeconds: 60 }), JSON.stringify(sent[0]?.args));
}
{
  const r = await run({ ok: null }, () => K.set('rec:a', '{"a":1}', { failIfExists: false, ttlSeconds: undefined }));
  check('kvs.set without options', isDeepStrictEqual(sent[0].args, { key: 'rec:a', value: '{"a":1}', failIfExists: false, ttlSeconds: null }), JSON.stringify(sent[0]?.args) + JSON.stringify(r));
}
{
  const r = await run({ ok: { entries: [{ key: 'rec:1', value: '{"n":1}' }], nextCursor: 'c2' } }, () => K.query('rec:', 'c1', 3));
  check(
    'kvs.query passes prefix/cursor/limit and returns entries + cursor',
    isDeepStrictEqual(r.value, { entries: [{ key: 'rec:1', value: '{"n":1}' }], nextCursor: 'c2' }) && isDeepStrictEqual(sent[0].args, { prefix: 'rec:', cursor: 'c1', limit: 3 }),
    JSON.stringify(r.value)
  );
}
{
  const r = await run({ ok: { entries: [], nextCursor: null } }, () => K.query('rec:', undefined, 20));
  check('kvs.query last page: no cursor', isDeepStrictEqual(r.value, { entries: [], nextCursor: undefined }), JSON.stringify(r.value));
}
{
  const r = await run({ ok: [{ key: 'rec:b', value: '2' }] }, () => K.batchGet(['rec:a', 'rec:b']));
  check('kvs.batchGet returns found entries only', isDeepStrictEqual(r.value, [{ key: 'rec:b', value: '2' }]) && isDeepStrictEqual(sent[0].args, { keys: ['rec:a', 'rec:b'] }), JSON.stringify(r.value));
}
{
  const r = await run({ ok: [] }, () => K.batchGet([]));
  check('kvs.batchGet([]) is forwarded', isDeepStrictEqual(r.value, []) && sent.length === 1, `${sent.length} sent`);
}
{
  const r = await run({ ok: null }, () => K.transact([...ops2, { tag: 'delete', val: 'rec:d' }, { tag: 'delete-if', val: ['rec:e', { tag: 'present' }] }]));
  const want = [
    { op: 'check', key: 'lock:a', cond: 'absent' },
    { op: 'setIf', key: 'rec:b', value: '{"v":2}', cond: { digest: sha256('{"v":1}') } },
    { op: 'set', key: 'rec:c', value: '{}' },
    { op: 'delete', key: 'rec:d' },
    { op: 'deleteIf', key: 'rec:e', cond: 'present' }
  ];
  check('kvs.transact forwards ops in order with digest conditions', r.value === undefined && isDeepStrictEqual(sent[0].args, { ops: want }), JSON.stringify(sent[0]?.args));
}
{
  const answer = '{"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":[{"type":"text","text":"OK"}]}}],"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}}';
  const r = await run({ ok: answer }, () => L.chat(prompt));
  check(
    'llm.chat forwards the prompt as JSON and returns the ChatResponse as JSON',
    isDeepStrictEqual(JSON.parse(r.value), JSON.parse(answer)) && isDeepStrictEqual(JSON.parse(sent[0].args.prompt), JSON.parse(prompt)) && sent[0].fn === 'llm.chat',
    JSON.stringify(r) + JSON.stringify(sent[0])
  );
}
{
  // The real package's 429 carries no Retry-After: the adapter waits out the one-minute window.
  const { mapLlmError, LLM_RETRY_AFTER_S } = await import(pathToFileURL(path.join(dist, 'errors.js')).href);
  const e = Object.assign(new Error('Rate limit exceeded'), { name: 'ForgeLlmAPIError', status: 429, code: 'RATE_LIMIT_EXCEEDED' });
  check('a Forge LLMs 429 without retryAfter asks for the minute', isDeepStrictEqual(mapLlmError(e), { tag: 'rate-limited', val: LLM_RETRY_AFTER_S }) && LLM_RETRY_AFTER_S === 60, JSON.stringify(mapLlmError(e)));
}
{
  const r = await run({ ok: 'hunter2' }, () => S.get('s'));
  check('secrets.get returns the string', r.value === 'hunter2', JSON.stringify(r));
}
{
  const r = await run({ ok: { status: 201, headers: [['Content-Type', 'application/json'], ['X-RateLimit-Remaining', '9']], body: '{"id":"1"}' } }, () =>
    J.request('user', { method: 'POST', url: '/rest/api/3/issue/SP-1/comment', headers: [['Content-Type', 'application/json']], body: '{"body":1}' })
  );
  check(
    'jira.request forwards principal/method/url/headers/body, response has lower-case headers',
    r.value?.status === 201 &&
      r.value.body === '{"id":"1"}' &&
      isDeepStrictEqual(r.value.headers, [['content-type', 'application/json'], ['x-ratelimit-remaining', '9']]) &&
      isDeepStrictEqual(sent[0].args, { principal: 'user', url: '/rest/api/3/issue/SP-1/comment', method: 'POST', headers: [['Content-Type', 'application/json']], body: '{"body":1}' }),
    JSON.stringify(r.value) + JSON.stringify(sent[0]?.args)
  );
}
{
  const r = await run({ ok: { status: 429, headers: [['Retry-After', '30']], body: '' } }, () => J.request('app', req));
  check('a Jira 429 is a response, not an error', r.value?.status === 429 && isDeepStrictEqual(r.value.headers, [['retry-after', '30']]), JSON.stringify(r));
}
{
  const r = await run({ ok: null }, () => Q.push('webhooks', ['{"deliveryId":"d1"}', '{"deliveryId":"d2"}'], 30));
  check(
    'queue.push forwards the bodies and the delay',
    r.value === undefined && isDeepStrictEqual(sent[0].args, { queueKey: 'webhooks', events: ['{"deliveryId":"d1"}', '{"deliveryId":"d2"}'], delaySeconds: 30 }),
    JSON.stringify(sent[0]?.args)
  );
}
{
  const rt = imp['aiclearance:forge/runtime'];
  reply = (fn, a) => (fn === 'runtime.randomBytes' ? { ok: 'ab'.repeat(a.len) } : fn === 'runtime.remainingMs' ? { ok: 12345 } : { ok: null });
  sent.length = 0;
  // Without the engine's crypto override, random-bytes uses real entropy: only the length is checked.
  const bytes = rt.randomBytes(70000);
  check('runtime.randomBytes gives len bytes (chunked over 65,536)', bytes instanceof Uint8Array && bytes.length === 70000);
  const ms = rt.remainingMs();
  check('runtime.remainingMs asks getAppContext (runtime.remainingMs call)', ms === 12345n && sent.some((s) => s.fn === 'runtime.remainingMs'), String(ms));
  check('runtime.nowMs is Date.now as u64', typeof rt.nowMs() === 'bigint');
  reply = () => ({ crash: true });
  let thrown;
  try {
    rt.remainingMs();
  } catch (e) {
    thrown = e;
  }
  check('a crash at runtime.remainingMs is not swallowed by the fallback', thrown instanceof SimCrash, String(thrown));
  sim.crashed = false;
}

console.log(`roundtrip: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
