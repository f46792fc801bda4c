import { useRef, type KeyboardEvent, type ReactNode } from 'react';

export type TabDef<T extends string> = { id: T; label: ReactNode; testId?: string };

/** The ids that tie a tab to its panel: `tabId(prefix, id)` labels `panelId(prefix, id)`. */
export const tabId = (prefix: string, id: string) => `${prefix}tab-${id}`;
export const panelId = (prefix: string, id: string) => `${prefix}panel-${id}`;

/**
 * A tablist per the WAI-ARIA tabs pattern (ADS tabs behaviour): one tab in the Tab order (the
 * selected one, roving tabindex); Left/Right arrows move to the previous/next tab and wrap, Home
 * and End to the first and last; moving selects (automatic activation — every panel here is
 * cheap to show). The panel is the caller's: give it `role="tabpanel"`, `id={panelId(…)}` and
 * `aria-labelledby={tabId(…)}`.
 */
export function TabList<T extends string>(props: {
  tabs: TabDef<T>[];
  selected: T;
  onSelect: (id: T) => void;
  label: string;
  /** Prefix of the tab and panel ids (unique on the page). */
  idPrefix: string;
  className?: string;
}) {
  const refs = useRef(new Map<T, HTMLButtonElement>());
  const onKeyDown = (e: KeyboardEvent<HTMLButtonElement>, at: number) => {
    const n = props.tabs.length;
    let to: number;
    switch (e.key) {
      case 'ArrowRight':
        to = (at + 1) % n;
        break;
      case 'ArrowLeft':
        to = (at - 1 + n) % n;
        break;
      case 'Home':
        to = 0;
        break;
      case 'End':
        to = n - 1;
        break;
      default:
        return;
    }
    e.preventDefault();
    const id = props.tabs[to].id;
    props.onSelect(id);
    refs.current.get(id)?.focus();
  };
  return (
    <div className={`tabs${props.className ? ` ${props.className}` : ''}`} role="tablist" aria-label={props.label}>
      {props.tabs.map((t, i) => {
        const on = t.id === props.selected;
        return (
          <button
            key={t.id}
            ref={(el) => {
              if (el) refs.current.set(t.id, el);
              else refs.current.delete(t.id);
            }}
            type="button"
            role="tab"
            id={tabId(props.idPrefix, t.id)}
            aria-selected={on}
            aria-controls={on ? panelId(props.idPrefix, t.id) : undefined}
            tabIndex={on ? 0 : -1}
            className={`tab${on ? ' tab-selected' : ''}`}
            data-testid={t.testId}
            onClick={() => props.onSelect(t.id)}
            onKeyDown={(e) => onKeyDown(e, i)}
          >
            {t.label}
          </button>
        );
      })}
    </div>
  );
}
