import { useEffect, useId, useLayoutEffect, useRef, type ReactNode } from 'react';
import { createPortal } from 'react-dom';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * A modal dialog drawn inside the app's frame (ADS modal dialog behaviour, WAI-ARIA dialog
 * pattern): it takes focus when it opens (the `initialFocus` element, else its first field or
 * button), keeps Tab and Shift+Tab inside, closes on Escape, makes the rest of the screen inert,
 * and gives focus back to the control that opened it when it closes — unless the screen has
 * already moved focus somewhere that still exists (e.g. the next row after a decision removed
 * the opener's row). The frame is sized to its content, so the dialog sits beside the control
 * that opened it rather than in the middle of a tall frame.
 */
export function Dialog(props: {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  footer: ReactNode;
  testId?: string;
  /** Extra attributes for tests and styling (data-*). */
  extra?: Record<string, string>;
  initialFocus?: React.RefObject<HTMLElement | null>;
  width?: 'small' | 'medium';
}) {
  const titleId = useId();
  const ref = useRef<HTMLDivElement>(null);
  const opener = useRef<Element | null>(null);
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;

  useLayoutEffect(() => {
    opener.current = document.activeElement;
    const root = document.getElementById('root');
    if (root) root.inert = true;
    const box = ref.current!;
    // Beside the opener: its top in the document, less a little, within the page.
    const r = opener.current instanceof HTMLElement && opener.current !== document.body ? opener.current.getBoundingClientRect() : null;
    const top = Math.max(16, (r ? r.top + window.scrollY : window.scrollY + 40) - 120);
    box.style.top = `${top}px`;
    const html = document.documentElement;
    const before = html.style.minHeight;
    const need = top + box.offsetHeight + 24;
    if (need > html.scrollHeight) html.style.minHeight = `${need}px`;
    const first = props.initialFocus?.current ?? box.querySelector<HTMLElement>(FOCUSABLE) ?? box;
    first.focus();
    return () => {
      if (root) root.inert = false;
      html.style.minHeight = before;
      const back = opener.current;
      // After React has run the screen's own effects (which may move focus on purpose).
      window.requestAnimationFrame(() => {
        const a = document.activeElement;
        if ((!a || a === document.body) && back instanceof HTMLElement && back.isConnected) back.focus();
      });
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const box = ref.current;
      if (!box) return;
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        onClose.current();
        return;
      }
      if (e.key !== 'Tab') return;
      const items = [...box.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null || el === document.activeElement);
      if (items.length === 0) {
        e.preventDefault();
        box.focus();
        return;
      }
      const first = items[0];
      const last = items[items.length - 1];
      const at = document.activeElement;
      if (e.shiftKey && (at === first || !box.contains(at))) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (at === last || !box.contains(at))) {
        e.preventDefault();
        first.focus();
      }
    };
    document.addEventListener('keydown', onKey, true);
    return () => document.removeEventListener('keydown', onKey, true);
  }, []);

  return createPortal(
    <div className="dialog-blanket" data-testid="dialog-blanket">
      <div
        ref={ref}
        className={`modal-dialog modal-${props.width ?? 'small'}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        data-testid={props.testId}
        {...(props.extra ?? {})}
      >
        <h2 className="modal-title" id={titleId}>
          {props.title}
        </h2>
        <div className="modal-body">{props.children}</div>
        <div className="modal-footer">{props.footer}</div>
      </div>
    </div>,
    document.body,
  );
}
