// Stand-in for @forge/api (8.x) under host-sim: requestJira (asApp / asUser), fetch, routes,
// getAppContext and the error classes, with the real package's names and shapes (out/index.d.ts,
// api/errors.js, api/runtime.js, safeUrl.js). Jira and fetch calls are forwarded to host-sim; a
// non-2xx answer is a Response, as in Forge. A host-sim `err` is thrown as the error the real
// package (or the Forge proxy behind it) raises in that situation, so that the adapter's mapping
// gives back the same WIT variant and text.

import { call, errText, sim } from '../channel.mjs';

// ---- errors (api/errors.js) -------------------------------------------------------------------

export const FUNCTION_ERR = 'FUNCTION_ERR';
export const REQUEST_EGRESS_ALLOWLIST_ERR = 'REQUEST_EGRESS_ALLOWLIST_ERR';
export const FUNCTION_FETCH_ERR = 'FUNCTION_FETCH_ERR';
export const NEEDS_AUTHENTICATION_ERR = 'NEEDS_AUTHENTICATION_ERR';
export const PROXY_ERR = 'PROXY_ERR';

export class HttpError extends Error {
  constructor(message) {
    super(message);
    this.status = undefined;
  }
}
export class FetchError extends Error {
  constructor(cause) {
    super(cause);
    this.stack = undefined;
    this.name = FUNCTION_FETCH_ERR;
  }
}
export class NotAllowedError extends HttpError {
  constructor(message) {
    super(message);
    this.stack = undefined;
    this.name = REQUEST_EGRESS_ALLOWLIST_ERR;
    this.status = 403;
  }
}
export class ExternalEndpointNotAllowedError extends NotAllowedError {
  constructor(failedURL) {
    super(`URL not included in the external fetch backend permissions: ${failedURL}. Visit go.atlassian.com/forge-egress for more information.`);
  }
}
export class ProductEndpointNotAllowedError extends NotAllowedError {
  constructor(failedURL) {
    super(`URL not allowed: ${failedURL}.`);
  }
}
export class NeedsAuthenticationError extends HttpError {
  constructor(error, serviceKey, options) {
    super(error);
    this.serviceKey = serviceKey;
    this.options = options;
    this.stack = undefined;
    this.name = NEEDS_AUTHENTICATION_ERR;
    this.status = 401;
  }
}
export class ProxyRequestError extends HttpError {
  constructor(status, errorCode) {
    super(`Forge platform failed to process runtime HTTP request - ${status} - ${errorCode}`);
    this.status = status;
    this.errorCode = errorCode;
    this.name = PROXY_ERR;
  }
}
export const isForgePlatformError = (err) => [REQUEST_EGRESS_ALLOWLIST_ERR, FUNCTION_FETCH_ERR, NEEDS_AUTHENTICATION_ERR, PROXY_ERR].includes(err?.name);

const withStatus = (message, status) => Object.assign(new HttpError(message), { status });

/** host-sim's `err` for a Jira or fetch request → the error thrown in Forge. */
function requestError(err, { principal, url }) {
  const val = errText(err);
  switch (err.tag) {
    case 'forbidden':
      // asUser() without a user: the proxy answers NEEDS_AUTHENTICATION_ERR; egress: not allowed.
      return principal === 'user' ? new NeedsAuthenticationError(val, 'atlassian-token-service-key') : new NotAllowedError(val || `URL not allowed: ${url}.`);
    case 'timeout':
      return new ProxyRequestError(504, 'TIMEOUT');
    case 'rate-limited':
      return Object.assign(new ProxyRequestError(429, 'RATE_LIMITED'), { retryAfter: Number(err.val) });
    case 'not-found':
      return withStatus('Not Found', 404);
    case 'conflict':
      return withStatus(val, 409);
    case 'too-large':
      return withStatus(val, 413);
    case 'invalid':
      return withStatus(val, 400);
    default:
      return withStatus(val, 503);
  }
}

// ---- routes (safeUrl.js) ------------------------------------------------------------------------

class ReadonlyRoute {
  constructor(value) {
    this.value_ = value;
  }
  get value() {
    return this.value_;
  }
  set value(_) {
    throw new Error('modification of a Route is not allowed');
  }
}
export const isRoute = (x) => x instanceof ReadonlyRoute;
export const assumeTrustedRoute = (route) => new ReadonlyRoute(route);
export function routeFromAbsolute(absolutePath) {
  const u = new URL(absolutePath);
  return assumeTrustedRoute(`${u.pathname}${u.search}`);
}
export function route(strings, ...parameters) {
  let out = strings[0];
  parameters.forEach((p, i) => {
    out += (isRoute(p) ? p.value : encodeURIComponent(String(p))) + strings[i + 1];
  });
  return assumeTrustedRoute(out);
}
function requireSafeUrl(url) {
  if (isRoute(url)) return url;
  throw new Error('You must create your route using the \'route\' export from \'@forge/api\'.');
}

// ---- responses --------------------------------------------------------------------------------

const STATUS_TEXT = { 200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

/** A minimal fetch Response over host-sim's `{ status, headers: [[name, value]], body }`. */
class SimResponse {
  constructor({ status, headers, body }) {
    this.status = status;
    this.ok = status >= 200 && status < 300;
    this.statusText = STATUS_TEXT[status] ?? '';
    this.headers = new Headers();
    for (const [name, value] of headers ?? []) {
      try {
        this.headers.append(name, value);
      } catch {
        // a header fetch would reject; a real response could not carry it either
      }
    }
    this.body_ = body ?? '';
    this.bodyUsed = false;
  }
  async text() {
    this.bodyUsed = true;
    return this.body_;
  }
  async json() {
    return JSON.parse(await this.text());
  }
  async arrayBuffer() {
    const b = Buffer.from(await this.text(), 'utf8');
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  }
}

/** RequestInit → the protocol's request fields. */
function requestFields(init = {}) {
  const headers = [];
  const h = init.headers;
  if (h instanceof Headers) h.forEach((value, name) => headers.push([name, value]));
  else if (Array.isArray(h)) for (const [name, value] of h) headers.push([String(name), String(value)]);
  else if (h) for (const [name, value] of Object.entries(h)) headers.push([name, String(value)]);
  let body = init.body ?? null;
  if (body !== null && typeof body !== 'string') body = body instanceof URLSearchParams ? body.toString() : Buffer.from(body).toString('utf8');
  return { method: (init.method ?? 'GET').toUpperCase(), headers, body };
}

function jiraRequest(principal) {
  return async (path, init) => {
    const url = requireSafeUrl(path).value;
    const r = call('jira.request', { principal, url, ...requestFields(init) });
    if (r.err) throw requestError(r.err, { principal, url });
    return new SimResponse(r.ok);
  };
}

const unsupported = (what) => async () => {
  throw new Error(`stand-in: ${what} is not supported (the app does not use it)`);
};

export const asApp = () => ({
  requestJira: jiraRequest('app'),
  requestConfluence: unsupported('requestConfluence'),
  requestBitbucket: unsupported('requestBitbucket'),
  requestGraph: unsupported('requestGraph')
});
export const asUser = () => ({
  requestJira: jiraRequest('user'),
  requestConfluence: unsupported('requestConfluence'),
  requestBitbucket: unsupported('requestBitbucket'),
  requestGraph: unsupported('requestGraph')
});
/** Forge's top-level requestJira uses no principal's token (provider 'none'): as the app here. */
export const requestJira = jiraRequest('app');

export async function fetch(url, init) {
  const u = isRoute(url) ? url.value : String(url);
  const r = call('fetch.request', { url: u, ...requestFields(init) });
  if (r.err) throw requestError(r.err, { principal: 'app', url: u });
  return new SimResponse(r.ok);
}

// ---- runtime (api/runtime.js) -----------------------------------------------------------------

const appIdOf = (appAri) => String(appAri ?? '').replace(/^ari:cloud:ecosystem::app\//, '');

export function getAppContext() {
  const inv = sim.inv;
  if (!inv) throw new Error('Forge runtime not found.');
  const appId = appIdOf(inv.ctx?.appAri);
  const ari = (s) => ({ toString: () => s, toJSON: () => s });
  return {
    appAri: { appId, ...ari(`ari:cloud:ecosystem::app/${appId}`) },
    appVersion: '0.0.0-sim',
    environmentAri: { environmentId: 'sim', ...ari(`ari:cloud:ecosystem::environment/${appId}/sim`) },
    environmentType: 'DEVELOPMENT',
    installationAri: { installationId: 'sim', ...ari('ari:cloud:ecosystem::installation/sim') },
    invocationId: `sim-invocation-${inv.seq}`,
    invocationRemainingTimeInMillis() {
      const r = call('runtime.remainingMs', {});
      if (r.err) throw new Error(`runtime.remainingMs failed: ${JSON.stringify(r.err)}`);
      return r.ok;
    },
    moduleKey: inv.ctx?.moduleKey ?? '',
    license: inv.ctx?.licenseActive === null || inv.ctx?.licenseActive === undefined ? undefined : { isActive: inv.ctx.licenseActive },
    installation: undefined,
    permissions: undefined
  };
}
export const __getRuntime = () => {
  throw new Error('stand-in: __getRuntime is not supported');
};
export const bindInvocationContext = (fn) => fn;

const API = { asUser, asApp, fetch, requestJira, requestConfluence: unsupported('requestConfluence'), requestBitbucket: unsupported('requestBitbucket') };

// As an ES module importer sees the CommonJS package: the default export is `module.exports`.
export default {
  ...API,
  default: API,
  assumeTrustedRoute,
  route,
  routeFromAbsolute,
  getAppContext,
  __getRuntime,
  bindInvocationContext,
  HttpError,
  FetchError,
  NotAllowedError,
  ExternalEndpointNotAllowedError,
  ProductEndpointNotAllowedError,
  NeedsAuthenticationError,
  ProxyRequestError,
  FUNCTION_ERR,
  isForgePlatformError
};
