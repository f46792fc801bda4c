// host-sim serve: the drop-in Forge bridge. Forge's host page gives every Custom UI frame a
// `globalThis.__bridge.callBridge(command, payload)`; `@forge/bridge` reads it when it loads and
// sends every call through it (invoke, getContext, submit, close, openModal, navigate …). This
// script is injected before the app's bundle and forwards each call to the console page that
// holds the frame (window.parent), which answers the way Forge's host does. The app's bundle is
// the one Forge serves, unchanged.
(() => {
  const frameId = new URLSearchParams(location.search).get('frame') || '';
  const origin = location.origin;
  const pending = new Map();
  const modalCallbacks = new Map();
  let nextId = 1;

  function send(message) {
    window.parent.postMessage({ __forgeConsole: true, frameId, ...message }, origin);
  }

  function call(cmd, payload) {
    return new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      send({ kind: 'call', id, cmd, payload });
    });
  }

  window.addEventListener('message', (e) => {
    if (e.origin !== origin || !e.data || e.data.__forgeConsole !== true) return;
    const d = e.data;
    if (d.kind === 'reply') {
      const p = pending.get(d.id);
      if (!p) return;
      pending.delete(d.id);
      if (d.error) p.reject(new Error(d.error));
      else p.resolve(d.value);
    } else if (d.kind === 'modalClosed') {
      const onClose = modalCallbacks.get(d.modalId);
      modalCallbacks.delete(d.modalId);
      if (typeof onClose === 'function') onClose(d.payload);
    }
  });

  async function callBridge(cmd, payload) {
    if (cmd === 'openModal') {
      // Functions cannot cross postMessage: the opener keeps onClose, the console gets an id.
      const modalId = `${frameId}-m${nextId++}`;
      const { onClose, ...rest } = payload || {};
      modalCallbacks.set(modalId, onClose);
      return call('openModal', { ...rest, modalId });
    }
    return call(cmd, payload === undefined ? null : JSON.parse(JSON.stringify(payload)));
  }

  globalThis.__bridge = { callBridge };

  // Forge sizes a frame to its content (iframe-resizer); the console does the same.
  let last = 0;
  const report = () => {
    const h = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (h !== last) {
      last = h;
      send({ kind: 'resize', height: h });
    }
  };
  new ResizeObserver(report).observe(document.documentElement);
  window.addEventListener('load', report);
})();
