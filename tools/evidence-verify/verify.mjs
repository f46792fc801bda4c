#!/usr/bin/env node
// Verifies an AI Clearance evidence pack offline, with nothing but Node (18 or later) and the
// installation's public key. Hand this file and the pack to an auditor:
//
//   node verify.mjs evidence-AIR-1.json --key 'aiclearance/<cloud id>/audit+1a2b3c4d+AW…'
//
// The key is the "verifier key" an administrator reads off Jira settings → Apps → AI Clearance →
// Governance logs. Without --key the pack's own key is used: that proves the pack is intact,
// not whose log it came from.
//
// What is checked (the same rules as `host-sim audit verify-pack`, guest/src/audit/pack.rs):
//  1. the file is canonical JSON (sorted keys, no whitespace, one final newline): any edit shows;
//  2. the checkpoint is a C2SP signed note whose Ed25519 signature verifies with the key, for
//     the key's own origin;
//  3. packSignature (Ed25519, same key) covers every other field of the pack;
//  4. each entry's text hashes (SHA-256) to its entryHash, names the pack's issue and its seq;
//  5. each entry's RFC 6962 inclusion proof leads from its leaf, SHA-256(0x00 ‖ entryHash), to
//     the checkpoint's root hash.
// Exit status: 0 verified, 1 not verified, 2 usage error.

import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';

const FORMAT = 'aiclearance.evidence.v1';
const FIELDS = ['checkpoint', 'entries', 'format', 'generatedAt', 'issueKey', 'packSignature', 'publicKey', 'treeSize'];

class NotVerified extends Error {}
const fail = (msg) => { throw new NotVerified(msg); };

const sha256 = (...parts) => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest(); };
const b64 = (s) => Buffer.from(s, 'base64');
const strictB64 = (s, len) => { const b = b64(s); if (b.toString('base64') !== s || (len && b.length !== len)) fail(`not ${len ?? ''} bytes of base64: ${s.slice(0, 20)}`); return b; };

// Keys sorted, compact; strings and integers exactly as serde_json writes them.
function canon(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  switch (typeof v) {
    case 'object': return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(',')}}`;
    case 'number': if (!Number.isSafeInteger(v)) fail('a number in the pack is not an integer'); return String(v);
    case 'string': case 'boolean': return JSON.stringify(v);
    default: fail('unexpected value in the pack');
  }
}

function parseVerifierKey(text) {
  // Names never contain '+' (C2SP signed-note); the base64 key may.
  const t = text.trim(); const a = t.indexOf('+'); const b = t.indexOf('+', a + 1);
  if (a <= 0 || b < 0) fail('the public key is malformed');
  const name = t.slice(0, a); const id = t.slice(a + 1, b); const key = t.slice(b + 1);
  const typed = strictB64(key, 33);
  if (typed[0] !== 1 || !name) fail('the public key is not an Ed25519 verifier key');
  const pub = typed.subarray(1);
  const keyId = sha256(Buffer.from(name), Buffer.from([0x0a, 0x01]), pub).subarray(0, 4);
  if (keyId.toString('hex') !== id) fail('the public key\'s id does not match its key');
  const keyObject = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pub.toString('base64url') }, format: 'jwk' });
  return { name, keyId, keyObject };
}

function checkSignature(vk, message, blobB64) {
  const blob = strictB64(blobB64, 68);
  if (!blob.subarray(0, 4).equals(vk.keyId)) return false;
  return edVerify(null, Buffer.from(message), vk.keyObject, blob.subarray(4));
}

function openNote(note, vk) {
  const split = note.indexOf('\n\n');
  if (split < 0) fail('the checkpoint is not a signed note');
  const body = note.slice(0, split + 1);
  const lines = note.slice(split + 2).split('\n').filter((l) => l !== '');
  let mine = false;
  for (const line of lines) {
    if (!line.startsWith('\u2014 ')) fail('a signature line does not start with an em dash');
    const rest = line.slice(2); const sp = rest.lastIndexOf(' ');
    const signer = rest.slice(0, sp);
    if (signer !== vk.name) continue;
    mine = true;
    if (!checkSignature(vk, body, rest.slice(sp + 1))) fail('the checkpoint\'s signature does not verify');
    const [origin, size, root, ...ext] = body.slice(0, -1).split('\n');
    if (origin !== vk.name) fail(`the checkpoint is for ${origin}, not ${vk.name}`);
    if (!/^(0|[1-9][0-9]*)$/.test(size)) fail('the checkpoint\'s size is not a number');
    return { origin, size: Number(size), root: strictB64(root, 32), time: (ext.find((l) => l.startsWith('time ')) ?? '').slice(5) };
  }
  return fail(mine ? 'no valid signature' : 'the checkpoint is signed by another key (another installation?)');
}

const node = (l, r) => sha256(Buffer.from([1]), l, r);

// RFC 9162 §2.1.3.2.
function verifyInclusion(index, size, leaf, proof, root) {
  if (index >= size) return false;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = node(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

export function verifyPack(text, expectedKey) {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  let pack;
  try { pack = JSON.parse(body); } catch (e) { fail(`not JSON: ${e.message}`); }
  if (pack === null || typeof pack !== 'object' || Array.isArray(pack)) fail('the pack is not a JSON object');
  if (canon(pack) !== body) fail('the file is not in canonical form (it was edited or re-encoded)');
  for (const k of Object.keys(pack)) if (!FIELDS.includes(k)) fail(`the pack has an unknown field ${JSON.stringify(k)}`);
  for (const k of FIELDS) if (!(k in pack)) fail(`the pack has no ${k}`);
  if (pack.format !== FORMAT) fail(`format is not ${FORMAT}`);
  if (expectedKey && expectedKey.trim() !== pack.publicKey) fail('the pack is signed by another key than the one you were given');
  const vk = parseVerifierKey(pack.publicKey);
  const cp = openNote(pack.checkpoint, vk);
  if (cp.size !== pack.treeSize) fail('treeSize is not the checkpoint\'s size');
  const { packSignature, ...unsigned } = pack;
  if (!checkSignature(vk, `${FORMAT}\n${canon(unsigned)}`, packSignature)) fail('packSignature does not match the pack');
  if (!Array.isArray(pack.entries) || pack.entries.length === 0) fail('the pack proves no entry');
  let last = 0;
  const rows = pack.entries.map((row, i) => {
    const at = (m) => fail(`entry ${i + 1}: ${m}`);
    if (!Number.isSafeInteger(row.seq) || row.seq <= last) at('entries are not in increasing seq order');
    last = row.seq;
    if (typeof row.canonical !== 'string') at('no canonical text');
    const digest = sha256(Buffer.from(row.canonical, 'utf8'));
    if (row.entryHash !== digest.toString('hex')) at('its text does not hash to its entryHash');
    let entry;
    try { entry = JSON.parse(row.canonical); } catch { at('its text is not JSON'); }
    if (entry.seq !== row.seq || row.leafIndex !== row.seq - 1) at('seq and leafIndex disagree with the entry');
    if (entry.issueKey !== pack.issueKey) at('the entry is about another issue');
    if (!Array.isArray(row.proof)) at('no proof');
    const proof = row.proof.map((p) => strictB64(p, 32));
    const leaf = sha256(Buffer.from([0]), digest);
    if (!verifyInclusion(row.leafIndex, cp.size, leaf, proof, cp.root)) at('its inclusion proof does not lead to the checkpoint\'s root');
    return { seq: row.seq, type: entry.type, at: entry.at, actor: entry.actor };
  });
  return { issueKey: pack.issueKey, treeSize: cp.size, checkpointTime: cp.time, origin: cp.origin, entries: rows };
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const args = process.argv.slice(2);
  const keyAt = args.indexOf('--key');
  const key = keyAt >= 0 ? args[keyAt + 1] : undefined;
  const file = args.find((a, i) => !a.startsWith('--') && (keyAt < 0 || i !== keyAt + 1));
  if (!file || (keyAt >= 0 && !key)) {
    console.error('usage: node verify.mjs PACK.json [--key VERIFIER_KEY]');
    process.exit(2);
  }
  try {
    const r = verifyPack(readFileSync(file, 'utf8'), key);
    console.log(`VERIFIED: ${r.entries.length} entries about ${r.issueKey} are in the audit log of ${r.origin},`);
    console.log(`          checkpoint of ${r.treeSize} entries signed ${r.checkpointTime}${key ? ' with the key you were given' : ' (key taken from the pack: pass --key to check whose log it is)'}`);
    for (const e of r.entries) console.log(`  #${e.seq}  ${e.at}  ${e.type}  by ${e.actor}`);
  } catch (e) {
    if (!(e instanceof NotVerified)) throw e;
    console.error(`NOT VERIFIED: ${e.message}`);
    process.exit(1);
  }
}
