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
    if (cmd === 'enableTheming') return enableTheming();
    return call(cmd, payload === undefined ? null : JSON.parse(JSON.stringify(payload)));
  }

  // ── Theming (view.theme.enable()) ─────────────────────────────────────────────────────────
  // As in Jira: once the app enables theming, the host sets the colour mode on the frame's
  // <html> (data-color-mode, and data-theme naming the theme of each mode) and provides the
  // design tokens' values for both modes; a switch of the product's theme re-themes the frame
  // live. Until then the frame stays as the app draws it (its CSS fallbacks are the light values).
  // The values are Atlassian's light and dark themes (@atlaskit/tokens 20.13.0, atlassian-light
  // and atlassian-dark) for every token the app's bundle uses; a browser test checks that each
  // token the bundle reads is defined here, so a new one cannot fall back to a light colour in dark.
  const TOKENS = [
    // [token, light, dark]
    ["blanket", "#050C1F75", "#10121499"],
    ["background-accent-blue-subtlest", "#E9F2FE", "#1C2B42"],
    ["background-accent-magenta-bolder", "#AE4787", "#E774BB"],
    ["background-brand-bold", "#1868DB", "#669DF1"],
    ["background-brand-bold-hovered", "#1558BC", "#8FB8F6"],
    ["background-danger", "#FFECEB", "#42221F"],
    ["background-danger-bold", "#C9372C", "#F87168"],
    ["background-danger-bold-hovered", "#AE2E24", "#FD9891"],
    ["background-disabled", "#0515240F", "#E3E4F21F"],
    ["background-discovery", "#F8EEFE", "#35243F"],
    ["background-discovery-bold", "#964AC0", "#C97CF4"],
    ["background-information", "#E9F2FE", "#1C2B42"],
    ["background-information-bold", "#1868DB", "#669DF1"],
    ["background-input", "#FFFFFF", "#242528"],
    ["background-neutral", "#0515240F", "#CECED912"],
    ["background-neutral-bold", "#292A2E", "#CECFD2"],
    ["background-neutral-hovered", "#0B120E24", "#E3E4F21F"],
    ["background-neutral-subtle", "#00000000", "#00000000"],
    ["background-neutral-subtle-hovered", "#0515240F", "#CECED912"],
    ["background-selected", "#E9F2FE", "#1C2B42"],
    ["background-success", "#EFFFD6", "#28311B"],
    ["background-success-bold", "#5B7F24", "#94C748"],
    ["background-warning", "#FFF5DB", "#3A2C1F"],
    ["background-warning-bold", "#FBC828", "#FBC828"],
    ["border", "#0B120E24", "#E3E4F21F"],
    ["border-accent-blue", "#357DE8", "#4688EC"],
    ["border-bold", "#7D818A", "#7E8188"],
    ["border-danger", "#E2483D", "#F15B50"],
    ["border-focused", "#4688EC", "#8FB8F6"],
    ["border-information", "#357DE8", "#4688EC"],
    ["border-input", "#8C8F97", "#7E8188"],
    ["border-selected", "#1868DB", "#669DF1"],
    ["border-success", "#6A9A23", "#82B536"],
    ["border-warning", "#E06C00", "#F68909"],
    ["chart-brand", "#357DE8", "#4688EC"],
    ["chart-categorical-1", "#357DE8", "#4688EC"],
    ["chart-categorical-2", "#82B536", "#94C748"],
    ["chart-categorical-3", "#BF63F3", "#C97CF4"],
    ["chart-categorical-4", "#F68909", "#FCA700"],
    ["chart-categorical-5", "#1558BC", "#1558BC"],
    ["chart-categorical-6", "#964AC0", "#964AC0"],
    ["chart-categorical-7", "#42B2D7", "#42B2D7"],
    ["chart-categorical-8", "#BD5B00", "#E06C00"],
    ["chart-danger", "#E2483D", "#E2483D"],
    ["chart-discovery", "#BF63F3", "#BF63F3"],
    ["chart-neutral", "#8C8F97", "#7E8188"],
    ["chart-success", "#82B536", "#82B536"],
    ["icon-brand", "#1868DB", "#669DF1"],
    ["icon-discovery", "#AF59E1", "#BF63F3"],
    ["link", "#1868DB", "#669DF1"],
    ["shadow-overlay", "0px 8px 12px #1E1F2126, 0px 0px 1px #1E1F214F", "0px 0px 0px 1px #BDBDBD1F, 0px 8px 12px #0104045C, 0px 0px 1px 1px #01040480"],
    ["skeleton", "#0515240F", "#CECED912"],
    ["surface", "#FFFFFF", "#1F1F21"],
    ["surface-overlay", "#FFFFFF", "#2B2C2F"],
    ["surface-raised", "#FFFFFF", "#242528"],
    ["surface-sunken", "#F8F8F8", "#18191A"],
    ["text", "#292A2E", "#CECFD2"],
    ["text-accent-blue", "#1558BC", "#8FB8F6"],
    ["text-danger", "#AE2E24", "#FD9891"],
    ["text-disabled", "#080F214A", "#E5E9F640"],
    ["text-discovery", "#803FA5", "#D8A0F7"],
    ["text-information", "#1558BC", "#8FB8F6"],
    ["text-inverse", "#FFFFFF", "#1F1F21"],
    ["text-selected", "#1868DB", "#669DF1"],
    ["text-subtle", "#505258", "#A9ABAF"],
    ["text-subtlest", "#6B6E76", "#96999E"],
    ["text-success", "#4C6B1F", "#B3DF72"],
    ["text-warning", "#9E4C00", "#FBC828"],
    ["text-warning-inverse", "#292A2E", "#1F1F21"],
  ];
  const tokenCss = (i) => TOKENS.map((t) => `  --ds-${t[0]}: ${t[i]};`).join('\n');
  const THEME_CSS = `
html[data-color-mode="light"][data-theme~="light:light"], html[data-color-mode="dark"][data-theme~="dark:light"] {
  color-scheme: light;
${tokenCss(1)}
}
html[data-color-mode="light"][data-theme~="light:dark"], html[data-color-mode="dark"][data-theme~="dark:dark"] {
  color-scheme: dark;
${tokenCss(2)}
}`;
  let themingEnabled = false;
  function applyTheme(colorMode) {
    if (!themingEnabled) return;
    const html = document.documentElement;
    if (!document.getElementById('forge-console-theme')) {
      const style = document.createElement('style');
      style.id = 'forge-console-theme';
      style.textContent = THEME_CSS;
      document.head.prepend(style);
    }
    html.setAttribute('data-theme', 'dark:dark light:light spacing:spacing typography:typography');
    html.setAttribute('data-color-mode', colorMode === 'dark' ? 'dark' : 'light');
  }
  async function enableTheming() {
    const theme = await call('enableTheming', null);
    themingEnabled = true;
    applyTheme(theme?.colorMode);
  }
  window.addEventListener('message', (e) => {
    if (e.origin !== origin || !e.data || e.data.__forgeConsole !== true) return;
    if (e.data.kind === 'theme') applyTheme(e.data.colorMode);
    if (e.data.kind === 'focusEdge') {
      // The host's modal focus lock wrapped around: the first (or last) control of the frame.
      const tabbable = [...document.querySelectorAll('a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])')]
        .filter((n) => !n.closest('[inert]') && n.getClientRects().length > 0);
      const target = e.data.edge === 'last' ? tabbable[tabbable.length - 1] : tabbable[0];
      (target || document.body).focus();
    }
  });

  globalThis.__bridge = { callBridge };

  // A Forge modal closes on Escape (closeOnEscape, the default) wherever the focus is, inside
  // the app's frame too: keys pressed in the frame never reach the page, so tell it.
  window.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented) send({ kind: 'escape' });
  });

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
