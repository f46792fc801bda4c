// host-sim serve: the console page, playing the part of the Atlassian product around the app's
// frames. It holds each module frame's context, answers the bridge calls bridge.js forwards
// (invoke → the simulator's resolver, getContext, submit, close, openModal, navigate, …), draws
// the product chrome a module sits in (the portal's create form, the issue view), and drives the
// simulated clock. The view is in the URL hash so a link (or a test) can open it directly:
//   #view=global|portal|issue|admin  &as=<accountId>  &issue=AIR-1  &portal=1&type=12  &clock=paused
//   &theme=dark (Jira's dark theme: frames that called view.theme.enable() follow it live)
'use strict';

const api = async (path, body) => {
  const r = await fetch(`/__console/api/${path}`, body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
  });
  const json = await r.json().catch(() => ({ failure: `HTTP ${r.status}` }));
  if (r.status >= 500) throw new Error(json.failure || `HTTP ${r.status}`);
  return json;
};

const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
};

let session = null;
const frames = new Map(); // frameId → { iframe, moduleKey, context, modal?, opener?, submitted? }
let frameSeq = 0;
let activitySeq = 0;
let lastSeqSeen = 0;

function hashParams() {
  return new URLSearchParams(location.hash.replace(/^#/, ''));
}
function setHash(changes) {
  const p = hashParams();
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null) p.delete(k);
    else p.set(k, v);
  }
  location.hash = p.toString();
}

const moduleOfType = (type) => session.modules.find((m) => m.type === type);

/** Jira's colour mode (the person's theme setting): 'light' or 'dark'. */
function colorMode() {
  return hashParams().get('theme') === 'dark' ? 'dark' : 'light';
}

/** Switches the theme as Jira does: the product page and every themed frame change in place. */
function setColorMode(mode) {
  const p = hashParams();
  if (mode === 'dark') p.set('theme', 'dark');
  else p.delete('theme');
  // No hashchange: a theme switch re-themes the frames, it does not reload them.
  history.replaceState(null, '', `#${p.toString()}`);
  applyConsoleTheme();
  for (const f of frames.values()) {
    f.context.theme = { colorMode: mode };
    post(f, { kind: 'theme', colorMode: mode });
  }
}

function applyConsoleTheme() {
  const mode = colorMode();
  document.documentElement.setAttribute('data-color-mode', mode);
  const sw = document.getElementById('theme-switch');
  if (sw) sw.checked = mode === 'dark';
}

function viewer() {
  return hashParams().get('as') || session.people.find((p) => p.accountType === 'atlassian')?.accountId;
}

function baseContext(moduleKey, extension) {
  const me = session.people.find((p) => p.accountId === viewer());
  return {
    accountId: viewer(),
    accountType: me?.accountType === 'customer' ? 'customer' : 'licensed',
    cloudId: session.cloudId,
    siteUrl: session.siteUrl,
    moduleKey,
    extension,
    localId: `local-${moduleKey}`,
    locale: 'en-US',
    timezone: 'UTC',
    theme: { colorMode: colorMode() },
    license: { isActive: true },
    environmentType: 'DEVELOPMENT',
    environmentId: 'host-sim'
  };
}

/** A module frame: the built resource served for that module, with the bridge injected. */
function moduleFrame(moduleKey, extension, { modal = null, opener = null } = {}) {
  const frameId = `f${++frameSeq}`;
  const iframe = el('iframe', {
    class: 'frame', title: moduleKey, 'data-module': moduleKey, 'data-frame': frameId,
    src: `/ui/${encodeURIComponent(moduleKey)}/index.html?frame=${frameId}`
  });
  frames.set(frameId, { iframe, moduleKey, context: baseContext(moduleKey, extension), modal, opener });
  return iframe;
}

function post(frame, message) {
  frame.iframe.contentWindow?.postMessage({ __forgeConsole: true, ...message }, location.origin);
}

/** The bridge commands, answered as the product host answers them. */
const commands = {
  async getContext(frame) {
    return frame.context;
  },
  async invoke(frame, p) {
    const r = await api('invoke', {
      moduleKey: frame.moduleKey, accountId: frame.context.accountId, extension: frame.context.extension,
      functionKey: p?.functionKey, payload: p?.payload ?? {}
    });
    pollClock();
    return r;
  },
  async submit(frame, p) {
    if (frame.context.extension?.type !== 'jiraServiceManagement:portalRequestCreatePropertyPanel') return false;
    frame.submitted = p;
    const note = document.getElementById('panel-submitted');
    if (note) note.textContent = p?.isValid === false ? 'The panel reports a problem: Create is blocked.' : 'Panel value ready.';
    return true;
  },
  async close(frame, p) {
    if (!frame.modal) return false;
    closeModal(frame, p);
    return true;
  },
  async openModal(frame, p) {
    openModal(frame, p);
    return true;
  },
  async navigate(_frame, p) {
    const key = p?.issueKey || /\/browse\/([A-Z][A-Z0-9]*-\d+)/.exec(p?.url || '')?.[1];
    if (p?.target === 'issue' || key) {
      setHash({ view: 'issue', issue: key });
      return true;
    }
    if (p?.url && /^https?:/.test(p.url) && p.type === 'new-tab') {
      window.open(p.url, '_blank', 'noopener');
      return true;
    }
    throw new Error(`navigation to ${JSON.stringify(p)} is not emulated`);
  },
  async getUrl(_frame, p) {
    if (p?.target === 'issue') return `${location.origin}/#view=issue&issue=${encodeURIComponent(p.issueKey)}`;
    return location.href;
  },
  async reload(frame) {
    frame.iframe.contentWindow?.location.reload();
    return true;
  },
  async refresh(frame) {
    frame.iframe.contentWindow?.location.reload();
    return true;
  },
  // view.theme.enable(): bridge.js applies the mode to the frame and follows later switches.
  async enableTheming(frame) {
    frame.themed = true;
    return { colorMode: colorMode() };
  },
  async emitReadyEvent() { return true; },
  async changeWindowTitle() { return true; },
  async onClose() { return true; }
};

window.addEventListener('message', async (e) => {
  if (e.origin !== location.origin || !e.data) return;
  const d = e.data;
  const sender = [...frames.entries()].find(([, f]) => f.iframe.contentWindow === e.source);
  if (!sender) return;
  const [frameId, frame] = sender;
  if (d.__forgeConsole !== true) {
    // The result dialog announces a re-run to its parent; the product page relays it to the
    // app's other frames (the issue panel listens and refetches).
    if (d.type === 'ap:prompt-rerun-completed') {
      for (const [id, f] of frames) if (id !== frameId) f.iframe.contentWindow?.postMessage(d, location.origin);
    }
    return;
  }
  if (d.kind === 'escape') {
    if (frame.modal && frame.closeOnEscape) closeModal(frame, undefined);
    return;
  }
  if (d.kind === 'resize') {
    if (!frame.modal) frame.iframe.style.height = `${Math.max(d.height, 60)}px`;
    return;
  }
  if (d.kind !== 'call') return;
  const handler = commands[d.cmd];
  try {
    if (!handler) throw new Error(`bridge command ${d.cmd} is not emulated by host-sim serve`);
    const value = await handler(frame, d.payload);
    post(frame, { kind: 'reply', id: d.id, value });
  } catch (err) {
    post(frame, { kind: 'reply', id: d.id, error: String(err?.message ?? err) });
  }
});

function openModal(opener, p) {
  const root = document.getElementById('modal-root');
  const extension = { ...opener.context.extension, modal: p.context ?? {} };
  const iframe = moduleFrame(opener.moduleKey, extension, { modal: p.modalId, opener });
  const frameId = iframe.dataset.frame;
  const overlay = el('div', { class: 'overlay', 'data-testid': 'console-modal' },
    el('div', { class: 'modal', role: 'dialog', 'aria-label': p.title || 'Dialog' },
      // Like Jira: a title bar only when the app gives a title; the app draws its own close.
      p.title ? el('header', {}, el('span', { text: p.title }),
        el('button', { type: 'button', 'aria-label': 'Close', text: '×', onclick: () => closeModal(frames.get(frameId), undefined) })) : null,
      iframe));
  if (p.closeOnEscape !== false) {
    const onKey = (ev) => {
      if (ev.key === 'Escape' && frames.get(frameId)) closeModal(frames.get(frameId), undefined);
      if (!frames.get(frameId)) window.removeEventListener('keydown', onKey);
    };
    window.addEventListener('keydown', onKey);
  }
  if (p.closeOnOverlayClick !== false) {
    overlay.addEventListener('click', (ev) => { if (ev.target === overlay) closeModal(frames.get(frameId), undefined); });
  }
  // Focus wraps inside the dialog, as Jira's modal focus lock does: Tab past the frame's last
  // control lands on a guard after the frame, which hands focus to the frame's first control
  // (Shift+Tab: the guard before, the last control).
  const guard = (edge) => el('span', { tabindex: '0', class: 'focus-guard', 'data-edge': edge, onfocus: () => {
    iframe.focus();
    post(frames.get(frameId), { kind: 'focusEdge', edge: edge === 'after' ? 'first' : 'last' });
  } });
  overlay.prepend(guard('before'));
  overlay.append(guard('after'));
  const f = frames.get(frameId);
  f.overlay = overlay;
  f.closeOnEscape = p.closeOnEscape !== false;
  // Like Jira's modal: the page behind is out of reach (Tab stays in the dialog), focus moves
  // into the dialog's frame, and it goes back to where it was when the dialog closes.
  f.returnFocus = document.activeElement;
  for (const behind of document.querySelectorAll('body > header, body > .clockbar, body > main, body > aside')) behind.inert = true;
  iframe.addEventListener('load', () => iframe.focus(), { once: true });
  root.append(overlay);
}

function closeModal(frame, payload) {
  if (!frame) return;
  frame.overlay?.remove();
  for (const [id, f] of frames) if (f === frame) frames.delete(id);
  if (![...frames.values()].some((f) => f.modal)) {
    for (const behind of document.querySelectorAll('body > [inert]')) behind.inert = false;
  }
  if (frame.returnFocus?.isConnected) frame.returnFocus.focus();
  if (frame.opener) post(frame.opener, { kind: 'modalClosed', modalId: frame.modal, payload });
}

// ── Views: the product chrome around each module ────────────────────────────────────────────

const VIEWS = [
  { id: 'global', label: 'AI Clearance (global page)', type: 'jira:globalPage' },
  { id: 'portal', label: 'Portal: create request', type: 'jiraServiceManagement:portalRequestCreatePropertyPanel' },
  { id: 'issue', label: 'Issue view', type: 'jira:issuePanel' },
  { id: 'admin', label: 'Jira settings → Apps', type: 'jira:adminPage' }
];

function render() {
  const p = hashParams();
  const view = VIEWS.find((v) => v.id === p.get('view')) || VIEWS[0];
  for (const b of document.querySelectorAll('#views button')) {
    if (b.dataset.view === view.id) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  document.getElementById('view-as').value = viewer();
  for (const [id, f] of frames) if (!f.modal) frames.delete(id);
  document.getElementById('modal-root').replaceChildren();
  for (const behind of document.querySelectorAll('body > [inert]')) behind.inert = false;
  const main = document.getElementById('main');
  const module = moduleOfType(view.type);
  if (!module) {
    main.replaceChildren(el('div', { class: 'card error', text: `manifest.yml declares no ${view.type} module` }));
    return;
  }
  if (view.id === 'portal') return renderPortal(main, module, p);
  if (view.id === 'issue') return renderIssue(main, module, p);
  main.replaceChildren(el('div', { class: 'card' }, moduleFrame(module.key, { type: module.type })));
}

function renderPortal(main, module, p) {
  const portal = session.portals.find((x) => String(x.portalId) === (p.get('portal') || '')) || session.portals[0];
  const typeId = p.get('type') || portal.requestTypes[0]?.id;
  const types = el('select', { id: 'portal-type', 'data-testid': 'portal-type', onchange: (e) => setHash({ type: e.target.value }) },
    ...portal.requestTypes.map((t) => el('option', { value: t.id, text: `${t.name} (${t.id})`, selected: t.id === typeId })));
  const portals = el('select', { id: 'portal-select', onchange: (e) => setHash({ portal: e.target.value, type: null }) },
    ...session.portals.map((x) => el('option', { value: x.portalId, text: `${x.name} (portal ${x.portalId})`, selected: x === portal })));
  const summary = el('input', { id: 'portal-summary', 'data-testid': 'portal-summary', maxlength: 255, value: 'Access to an AI tool' });
  const description = el('textarea', { id: 'portal-description', 'data-testid': 'portal-description', rows: 3 });
  const panel = moduleFrame(module.key, {
    type: module.type, portal: { id: Number(portal.portalId) }, request: { typeId: Number(typeId) }
  });
  const outcome = el('div', { id: 'portal-outcome', 'data-testid': 'portal-outcome' });
  const create = el('button', {
    id: 'portal-create', 'data-testid': 'portal-create', class: 'primary', type: 'button', text: 'Create',
    onclick: async () => {
      const frame = frames.get(panel.dataset.frame);
      create.disabled = true;
      try {
        const r = await api('portal/create', {
          accountId: viewer(), portalId: Number(portal.portalId), requestTypeId: typeId,
          summary: summary.value, description: description.value, panel: frame?.submitted ?? null
        });
        if (r.ok) {
          session = await api('session');
          outcome.replaceChildren(el('div', { class: 'ok', 'data-testid': 'portal-created', 'data-issue-key': r.issueKey },
            `Request ${r.issueKey} created. Intake: ${r.outcome} `,
            el('a', { href: `#view=issue&issue=${r.issueKey}&as=${encodeURIComponent(viewer())}`, text: `Open ${r.issueKey}` })));
        } else {
          outcome.replaceChildren(el('div', { class: 'error', 'data-testid': 'portal-error', 'data-code': r.error.code,
            text: `${r.error.message} (${r.error.code})` }));
        }
      } catch (err) {
        outcome.replaceChildren(el('div', { class: 'error', 'data-testid': 'portal-error', text: String(err.message ?? err) }));
      } finally {
        create.disabled = false;
        pollClock();
      }
    }
  });
  main.replaceChildren(el('div', { class: 'portal card' },
    el('h1', { text: portal.name }),
    el('label', { for: 'portal-select', text: 'Portal' }), portals,
    el('label', { for: 'portal-type', text: 'Request type' }), types,
    el('label', { for: 'portal-summary', text: 'Summary' }), summary,
    el('label', { for: 'portal-description', text: 'Description' }), description,
    el('label', { text: module.title }), panel,
    el('p', { id: 'panel-submitted', class: 'muted' }),
    create, outcome));
}

async function renderIssue(main, module, p) {
  const key = p.get('issue') || session.issues[0]?.key;
  const pick = el('select', { id: 'issue-select', 'data-testid': 'issue-select', onchange: (e) => setHash({ issue: e.target.value }) },
    ...session.issues.map((i) => el('option', { value: i.key, text: `${i.key} ${i.summary}`, selected: i.key === key })));
  const details = el('div', { id: 'issue-details', 'data-testid': 'issue-details' }, 'Loading…');
  const r = await api('issue', { issueKey: key });
  if (!r.ok) {
    main.replaceChildren(el('div', { class: 'card issuehead' }, pick, el('div', { class: 'error', text: r.error.message })));
    return;
  }
  const i = r.issue;
  const panel = moduleFrame(module.key, {
    type: module.type,
    issue: { id: i.id, key: i.key, typeId: i.issueTypeId },
    project: { id: i.projectId, key: i.projectKey, type: i.projectType }
  });
  main.replaceChildren(el('div', { class: 'card issuehead' }, pick),
    el('div', { class: 'cols' }, el('div', { class: 'card' }, details),
      el('div', { class: 'card' }, el('h2', { text: module.title }), panel)));
  drawIssue(i);
}

function drawIssue(i) {
  const details = document.getElementById('issue-details');
  if (!details) return;
  details.replaceChildren(
    el('h1', { text: `${i.key} ${i.summary}` }),
    el('p', {}, el('span', { class: 'lozenge', 'data-testid': 'issue-status', text: i.status }), ` Reporter: ${i.reporter}`),
    el('p', { text: i.description || '' }),
    el('h3', { text: `Activity (${i.comments.length} comments)` }),
    ...i.comments.map((c) => el('div', { class: 'comment', 'data-testid': 'issue-comment' },
      el('strong', { text: c.author.startsWith('557058:') ? 'AI Clearance (app)' : c.author }), ` · ${c.created}\n${c.text}`)));
}

async function refreshIssueDetails() {
  const p = hashParams();
  if (p.get('view') !== 'issue' || !document.getElementById('issue-details')) return;
  const r = await api('issue', { issueKey: p.get('issue') || session.issues[0]?.key });
  if (r.ok) drawIssue(r.issue);
}

// ── Clock and activity ──────────────────────────────────────────────────────────────────────

let clockTimer = null;
function drawClock(c) {
  document.getElementById('clock').textContent = c.now.replace('T', ' ').replace('Z', ' UTC');
  const t = document.getElementById('clock-toggle');
  t.textContent = c.running ? 'Pause' : 'Run';
  t.dataset.running = String(c.running);
  document.getElementById('queued').textContent = c.queued ? `${c.queued} queued event(s)` : '';
  const list = document.getElementById('activity-list');
  for (const a of c.activity) {
    if (a.seq <= activitySeq) continue;
    activitySeq = a.seq;
    if (a.idle) continue;
    list.prepend(el('li', { class: a.ok ? '' : 'bad', text: `${a.at.slice(11, 19)} ${a.label}: ${a.outcome}` }));
    while (list.children.length > 200) list.lastChild.remove();
  }
  if (c.seq !== lastSeqSeen) {
    lastSeqSeen = c.seq;
    refreshIssueDetails();
  }
}
async function pollClock() {
  clearTimeout(clockTimer);
  try {
    drawClock(await api(`clock?since=${activitySeq}`));
  } finally {
    clockTimer = setTimeout(pollClock, 1000);
  }
}

async function start() {
  session = await api('session');
  const nav = document.getElementById('views');
  for (const v of VIEWS) {
    nav.append(el('button', { type: 'button', 'data-view': v.id, 'data-testid': `view-${v.id}`, text: v.label,
      onclick: () => setHash({ view: v.id }) }));
  }
  const who = document.getElementById('view-as');
  for (const person of session.people) {
    const roles = [person.admin ? 'Jira admin' : null, person.accountType === 'customer' ? 'JSM customer' : null,
      ...person.groups.filter((g) => !g.startsWith('jira-'))].filter(Boolean);
    who.append(el('option', { value: person.accountId, text: `${person.displayName}${roles.length ? ` — ${roles.join(', ')}` : ''}` }));
  }
  who.addEventListener('change', () => setHash({ as: who.value }));
  applyConsoleTheme();
  document.getElementById('theme-switch').addEventListener('change', (e) => setColorMode(e.target.checked ? 'dark' : 'light'));
  document.getElementById('clock-toggle').addEventListener('click', async (e) => {
    drawClock(await api('clock', { running: e.target.dataset.running !== 'true' }));
  });
  for (const b of document.querySelectorAll('[data-advance]')) {
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await api('tick', { advance: b.dataset.advance });
        await pollClock();
      } finally {
        b.disabled = false;
      }
    });
  }
  document.getElementById('activity-toggle').addEventListener('click', () => {
    const a = document.getElementById('activity');
    a.hidden = !a.hidden;
  });
  const clock = hashParams().get('clock');
  if (clock === 'paused' || clock === 'running') await api('clock', { running: clock === 'running' });
  window.addEventListener('hashchange', render);
  render();
  pollClock();
}

start().catch((err) => {
  document.getElementById('main').replaceChildren(el('div', { class: 'card error', text: `The console could not start: ${err.message ?? err}` }));
});
