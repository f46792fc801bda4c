// Stand-in for @forge/kvs (1.6.x) under host-sim: the same exports, argument shapes and error
// classes as the real package (out/index.d.ts, errors.js), every operation forwarded to host-sim as
// one synchronous protocol call (sim/channel.mjs) and answered with an already-settled promise.
//
// App records are the custom entity `record` { key, text, digest } (forge/src/imports.js): the
// stand-in forwards `text`, and turns an entity filter on `digest` back into the protocol's
// absent / present / {digest} conditions. Plain (non-entity) keys work too, as JSON values.
//
// Errors: a host-sim `err` becomes the ForgeKvsAPIError the real package would throw for that
// response (status + `{ code, message }` body), chosen so the adapter's mapping gives back the
// same WIT variant and text.

import { createHash } from 'node:crypto';
import { call, errText } from '../channel.mjs';

const PACKAGE_VERSION = '1.6.5-sim';
const ENTITY = 'record';

// ---- errors (same classes and constructors as @forge/kvs errors.js) ------------------------------

export class ForgeKvsError extends Error {
  constructor(message, packageVersion = PACKAGE_VERSION) {
    super(message);
    this.name = 'ForgeKvsError';
    this.packageVersion = packageVersion;
  }
}

export class ForgeKvsAPIError extends ForgeKvsError {
  constructor(responseDetails, forgeError) {
    super(forgeError.message);
    const { status, statusText, traceId, httpMethod, httpPath, responseBodyLength } = responseDetails;
    this.responseDetails = { status, statusText, traceId, httpMethod, httpPath, responseBodyLength };
    const { code, message, context, ...bodyData } = forgeError;
    this.code = code;
    this.message = message;
    this.context = { ...context, ...bodyData };
  }
}

const STATUS_TEXT = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large', 429: 'Too Many Requests', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

function apiError(path, status, body) {
  const text = JSON.stringify(body);
  return new ForgeKvsAPIError(
    { status, statusText: STATUS_TEXT[status] ?? '', traceId: null, httpMethod: 'POST', httpPath: path, responseBodyLength: text.length },
    body
  );
}

/** Codes the adapter gives a variant of their own; an `invalid` text never borrows them. */
const RESERVED = new Set(['KEY_NOT_FOUND', 'NOT_FOUND', 'RATE_LIMIT_EXCEEDED', 'MAX_SIZE', 'PAYLOAD_TOO_LARGE', 'TRANSACTION_TOO_LARGE', 'UNKNOWN_ERROR']);
const codeOf = (text) => /^([A-Z][A-Z0-9_]{2,}):/.exec(text)?.[1];

/** host-sim's `err` → what @forge/kvs throws for the matching platform response. */
function kvsError(err, path) {
  const val = errText(err);
  switch (err.tag) {
    case 'not-found':
      return apiError(path, 404, { code: 'KEY_NOT_FOUND', message: 'The specified key does not exist.' });
    case 'conflict':
      // Undocumented in Forge: a 409 naming the key whose condition failed (README "Unverified").
      if (path.endsWith('/transaction')) {
        return apiError(path, 409, { code: 'CONDITION_FAILED', message: `Transaction condition failed for key ${val}`, key: val });
      }
      if (path === '/api/v1/set' || path === '/api/v1/entity/set') return apiError(path, 409, { code: 'KEY_ALREADY_EXISTS', message: `Key ${val} already exists`, key: val });
      return apiError(path, 409, { code: 'UNKNOWN_ERROR', message: val });
    case 'rate-limited':
      return apiError(path, 429, { code: 'RATE_LIMIT_EXCEEDED', message: 'Rate limit exceeded', retryAfter: Number(err.val) });
    case 'forbidden':
      return apiError(path, 403, { code: 'UNKNOWN_ERROR', message: val });
    case 'invalid': {
      const code = codeOf(val);
      return apiError(path, 400, { code: code && !RESERVED.has(code) ? code : 'UNKNOWN_ERROR', message: val });
    }
    case 'too-large':
      return codeOf(val) === 'MAX_SIZE'
        ? apiError(path, 400, { code: 'MAX_SIZE', message: val })
        : apiError(path, 413, { code: 'UNKNOWN_ERROR', message: val });
    case 'timeout':
      return apiError(path, 504, { code: 'UNKNOWN_ERROR', message: 'Unexpected error in Forge KVS API' });
    default:
      return apiError(path, 503, { code: 'UNKNOWN_ERROR', message: val });
  }
}

/** One forwarded operation: the value, or the translated error thrown. */
function forward(fn, args, path) {
  const r = call(fn, args);
  if (r.err) throw kvsError(r.err, path);
  return r.ok;
}

// ---- conditions (same shapes as conditions.js / entity-query.js) -------------------------------

const clause = (condition) => (...values) => ({ condition, values });
const beginsWith = (v) => ({ condition: 'BEGINS_WITH', values: [v] });
export const WhereConditions = {
  beginsWith,
  between: (a, b) => ({ condition: 'BETWEEN', values: [a, b] }),
  equalTo: clause('EQUAL_TO'),
  greaterThan: clause('GREATER_THAN'),
  greaterThanEqualTo: clause('GREATER_THAN_EQUAL_TO'),
  lessThan: clause('LESS_THAN'),
  lessThanEqualTo: clause('LESS_THAN_EQUAL_TO')
};
export const FilterConditions = {
  ...WhereConditions,
  contains: clause('CONTAINS'),
  notContains: clause('NOT_CONTAINS'),
  notEqualTo: clause('NOT_EQUAL_TO'),
  exists: () => ({ condition: 'EXISTS', values: [true] }),
  notExists: () => ({ condition: 'NOT_EXISTS', values: [true] })
};

class BaseFilter {
  constructor(items = []) {
    this.items = items;
  }
  filters() {
    return this.items;
  }
  operator() {
    return this instanceof AndFilterBuilder ? 'and' : 'or';
  }
}
class AndFilterBuilder extends BaseFilter {
  and(field, condition) {
    this.items.push({ property: field, ...condition });
    return this;
  }
}
class OrFilterBuilder extends BaseFilter {
  or(field, condition) {
    this.items.push({ property: field, ...condition });
    return this;
  }
}
export class Filter extends BaseFilter {
  and(field, condition) {
    return new AndFilterBuilder().and(field, condition);
  }
  or(field, condition) {
    return new OrFilterBuilder().or(field, condition);
  }
}

export const Sort = Object.freeze({ ASC: 'ASC', DESC: 'DESC' });
export const MetadataField = Object.freeze({ CREATED_AT: 'CREATED_AT', UPDATED_AT: 'UPDATED_AT', EXPIRE_TIME: 'EXPIRE_TIME' });

/** An entity filter on `digest` → the protocol condition. */
function protocolCondition(filter) {
  const items = filter?.filters?.() ?? [];
  if (items.length !== 1 || items[0].property !== 'digest') {
    throw new ForgeKvsError('stand-in: only a single condition on `digest` is supported');
  }
  const [{ condition, values }] = items;
  if (condition === 'NOT_EXISTS') return 'absent';
  if (condition === 'EXISTS') return 'present';
  if (condition === 'EQUAL_TO') return { digest: String(values[0]) };
  throw new ForgeKvsError(`stand-in: unsupported condition ${condition}`);
}

// ---- values ---------------------------------------------------------------------------------------

const sha256 = (s) => createHash('sha256').update(s, 'utf8').digest('hex');

function checkEntity(entityName) {
  if (entityName !== undefined && entityName !== ENTITY) {
    throw new ForgeKvsError(`stand-in: only the custom entity "${ENTITY}" is supported, not "${entityName}"`);
  }
}
/** What is stored for `value` (the record's text, or a plain value's JSON). */
function storedText(value, entityName) {
  if (entityName === undefined) return JSON.stringify(value);
  if (typeof value?.text !== 'string') throw new ForgeKvsError('stand-in: a record needs a string `text`');
  return value.text;
}
/** The value the real store would return for `text`. */
const valueOf = (key, text, entityName) => (entityName === undefined ? JSON.parse(text) : { key, text, digest: sha256(text) });

function setOptions(options) {
  const ttl = options?.ttl;
  const seconds = ttl ? ttl.value * { SECONDS: 1, MINUTES: 60, HOURS: 3600, DAYS: 86400 }[ttl.unit ?? 'SECONDS'] : null;
  return { failIfExists: options?.keyPolicy === 'FAIL_IF_EXISTS', ttlSeconds: seconds };
}

// ---- operations -----------------------------------------------------------------------------------

async function get(key, entityName) {
  checkEntity(entityName);
  const r = call('kvs.get', { key });
  if (r.err?.tag === 'not-found') return undefined; // the real package swallows KEY_NOT_FOUND
  if (r.err) throw kvsError(r.err, entityName ? '/api/v1/entity/get' : '/api/v1/get');
  return r.ok === null || r.ok === undefined ? undefined : valueOf(key, r.ok, entityName);
}

async function set(key, value, options, entityName) {
  checkEntity(entityName);
  forward('kvs.set', { key, value: storedText(value, entityName), ...setOptions(options) }, entityName ? '/api/v1/entity/set' : '/api/v1/set');
}

async function del(key, entityName) {
  checkEntity(entityName);
  const r = call('kvs.delete', { key });
  if (r.err?.tag === 'not-found') return;
  if (r.err) throw kvsError(r.err, entityName ? '/api/v1/entity/delete' : '/api/v1/delete');
}

function queryPage(prefix, cursor, limit, entityName) {
  const page = forward('kvs.query', { prefix, cursor: cursor ?? null, limit }, entityName ? '/api/v1/entity/query' : '/api/v1/query');
  return {
    results: page.entries.map((e) => ({ key: e.key, value: valueOf(e.key, e.value, entityName) })),
    nextCursor: page.nextCursor ?? undefined
  };
}

const DEFAULT_LIMIT = 20;

/** What both real query builders share: paging by cursor and limit. */
class PagedQuery {
  cursor(cursor) {
    this.o.cursor = cursor;
    return this;
  }
  limit(limit) {
    this.o.limit = limit;
    return this;
  }
  async getOne() {
    const { results } = await this.limit(1).getMany();
    return results[0];
  }
}

class EntityQueryBuilder extends PagedQuery {
  constructor(entityName) {
    super();
    this.entityName = entityName;
    this.o = {};
  }
  where(condition) {
    this.o.range = condition;
    return this;
  }
  filters() {
    throw new ForgeKvsError('stand-in: entity query filters are not supported');
  }
  sort(sort) {
    if (sort !== Sort.ASC) throw new ForgeKvsError('stand-in: only ascending key order is supported');
    return this;
  }
  async getMany() {
    if (this.o.range?.condition !== 'BEGINS_WITH') throw new ForgeKvsError('stand-in: only a beginsWith range is supported');
    return queryPage(String(this.o.range.values[0]), this.o.cursor, this.o.limit ?? DEFAULT_LIMIT, this.entityName);
  }
}

class KvsQueryBuilder extends PagedQuery {
  constructor(options = {}) {
    super();
    this.o = { ...options };
  }
  where(property, condition) {
    this.o.where = [{ property, ...condition }];
    return this;
  }
  async getMany() {
    const w = this.o.where?.[0];
    if (w?.condition !== 'BEGINS_WITH') throw new ForgeKvsError('stand-in: only a beginsWith query is supported');
    return queryPage(String(w.values[0]), this.o.cursor, this.o.limit ?? DEFAULT_LIMIT, undefined);
  }
}

class Entity {
  constructor(name) {
    checkEntity(name);
    this.name = name;
  }
  get(key) {
    return get(key, this.name);
  }
  set(key, value, options) {
    return set(key, value, options, this.name);
  }
  delete(key) {
    return del(key, this.name);
  }
  query() {
    return { index: () => new EntityQueryBuilder(this.name) };
  }
}

/** Records builder calls in the caller's order (the protocol keeps the guest's op order). */
class TransactionBuilder {
  constructor() {
    this.ops = [];
  }
  set(key, value, entity, options) {
    void options; // a TTL inside a transaction is not part of the WIT
    checkEntity(entity?.entityName);
    const v = storedText(value, entity?.entityName);
    this.ops.push(entity?.conditions ? { op: 'setIf', key, value: v, cond: protocolCondition(entity.conditions) } : { op: 'set', key, value: v });
    return this;
  }
  delete(key, entity) {
    checkEntity(entity?.entityName);
    this.ops.push(entity?.conditions ? { op: 'deleteIf', key, cond: protocolCondition(entity.conditions) } : { op: 'delete', key });
    return this;
  }
  check(key, { entityName, conditions }) {
    checkEntity(entityName);
    this.ops.push({ op: 'check', key, cond: protocolCondition(conditions) });
    return this;
  }
  async execute() {
    forward('kvs.transact', { ops: this.ops }, '/api/v1/transaction');
  }
}

class KvsImpl {
  get(key) {
    return get(key, undefined);
  }
  set(key, value, options) {
    return set(key, value, options, undefined);
  }
  delete(key) {
    return del(key, undefined);
  }
  query(options) {
    return new KvsQueryBuilder(options);
  }
  async batchGet(items) {
    for (const i of items) checkEntity(i.entityName);
    const found = forward('kvs.batchGet', { keys: items.map((i) => i.key) }, '/api/v1/batch/get');
    const byKey = new Map(items.map((i) => [i.key, i.entityName]));
    return {
      successfulKeys: found.map((e) => {
        const entityName = byKey.get(e.key);
        return { key: e.key, ...(entityName ? { entityName } : {}), value: valueOf(e.key, e.value, entityName) };
      }),
      failedKeys: []
    };
  }
  async batchSet() {
    throw new ForgeKvsError('stand-in: batchSet is not supported (the app does not use it)');
  }
  async batchDelete() {
    throw new ForgeKvsError('stand-in: batchDelete is not supported (the app does not use it)');
  }
  async getSecret(key) {
    const r = call('secrets.get', { key });
    if (r.err?.tag === 'not-found') return undefined;
    if (r.err) throw kvsError(r.err, '/api/v1/secret/get');
    return r.ok === null || r.ok === undefined ? undefined : r.ok;
  }
  async setSecret(key, value) {
    forward('secrets.set', { key, value: typeof value === 'string' ? value : JSON.stringify(value) }, '/api/v1/secret/set');
  }
  async deleteSecret(key) {
    const r = call('secrets.delete', { key });
    if (r.err?.tag === 'not-found') return;
    if (r.err) throw kvsError(r.err, '/api/v1/secret/delete');
  }
  entity(entityName) {
    return new Entity(entityName);
  }
  transact() {
    return new TransactionBuilder();
  }
}

export const kvs = new KvsImpl();
export const isOverrideAndReturnOptions = (o) => o?.keyPolicy === 'OVERRIDE' && o?.returnValue !== undefined;

// As an ES module importer sees the CommonJS package: the default export is `module.exports`.
export default {
  kvs,
  default: kvs,
  Filter,
  FilterConditions,
  WhereConditions,
  Sort,
  MetadataField,
  ForgeKvsError,
  ForgeKvsAPIError,
  isOverrideAndReturnOptions
};
