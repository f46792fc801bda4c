import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { asResolverError, type ResolverError } from '../api';
import { ErrorMessage, Spinner } from './ui';

const DEBOUNCE_MS = 250;

/** What a search answers: the items to list, and how many there are in all if more. */
export interface Found<T> {
  items: T[];
  total?: number;
}

/**
 * The one search-as-you-type combobox the people and group pickers share (issue 33): an input
 * with role=combobox that searches as the admin types (debounced) and lists what a resolver
 * answers in a listbox — the WAI-ARIA combobox pattern: aria-expanded, aria-controls the listbox,
 * aria-activedescendant the active option; Down/Up move the active option, Home/End jump, Enter
 * picks it, Escape closes the list (a second Escape clears the text). Focus stays in the input,
 * and a polite status says what the list holds. The pickers say only what differs: how to search,
 * how an option reads, the words.
 */
export function SearchCombobox<T>(props: {
  id: string;
  testId: string;
  /** The chosen item's text (null: nothing chosen). */
  chosen: string | null;
  search: (query: string) => Promise<Found<T>>;
  /** Fewest characters that start a search. */
  minChars: number;
  /** Down on an empty box lists the first items (a search of ""). */
  browse?: boolean;
  keyOf: (t: T) => string;
  textOf: (t: T) => string;
  renderOption: (t: T, searched: string) => ReactNode;
  /** `data-*` attributes of an option (what tests and screens read), without the prefix. */
  dataOf: (t: T) => Record<string, string>;
  onPick: (t: T | null) => void;
  words: { one: string; many: string; noMatch: (q: string) => string; noItems: string; list: string; searching: string };
  placeholder: string;
  className: string;
  rootData: Record<string, string>;
  describedBy?: string;
  invalid?: boolean;
}) {
  const [text, setText] = useState(props.chosen ?? '');
  const [options, setOptions] = useState<T[]>([]);
  const [total, setTotal] = useState(0);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ResolverError | null>(null);
  const [searched, setSearched] = useState<string | null>(null);
  const [browsed, setBrowsed] = useState(0);
  const seq = useRef(0);
  // Set when the combobox itself clears the choice (the admin edits the text): keep the text.
  const ownClear = useRef(false);
  const listId = `${props.id}-listbox`;
  const statusId = useId();
  const { testId, chosen } = props;

  // The form cleared or set the choice: the input follows.
  useEffect(() => {
    if (ownClear.current) {
      ownClear.current = false;
      return;
    }
    setText(chosen ?? '');
  }, [chosen]);

  // Debounced search while the text is not the chosen item's.
  useEffect(() => {
    const q = text.trim();
    if (chosen !== null && text === chosen) return;
    if (q.length < props.minChars && !(browsed && !q)) {
      setOptions([]);
      setOpen(false);
      setSearched(null);
      return;
    }
    const mine = ++seq.current;
    const t = window.setTimeout(
      async () => {
        setBusy(true);
        try {
          const r = await props.search(q.slice(0, 100));
          if (mine !== seq.current) return;
          setError(null);
          setOptions(r.items);
          setTotal(r.total ?? r.items.length);
          setActive(r.items.length ? 0 : -1);
          setSearched(q);
          setOpen(true);
        } catch (e) {
          if (mine === seq.current) setError(asResolverError(e));
        } finally {
          if (mine === seq.current) setBusy(false);
        }
      },
      q ? DEBOUNCE_MS : 0,
    );
    return () => window.clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text, chosen, browsed]);

  const pick = (item: T) => {
    seq.current++;
    props.onPick(item);
    setText(props.textOf(item));
    setOpen(false);
    setOptions([]);
    setActive(-1);
    setBusy(false);
  };

  const onKeyDown = (e: React.KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!options.length) {
        if (props.browse && !text.trim() && e.key === 'ArrowDown') {
          e.preventDefault();
          setBrowsed((b) => b + 1);
        }
        return;
      }
      e.preventDefault();
      setOpen(true);
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive((a) => (a < 0 ? (step > 0 ? 0 : options.length - 1) : (a + step + options.length) % options.length));
    } else if (e.key === 'Home' && open && options.length) {
      e.preventDefault();
      setActive(0);
    } else if (e.key === 'End' && open && options.length) {
      e.preventDefault();
      setActive(options.length - 1);
    } else if (e.key === 'Enter') {
      if (open && active >= 0 && options[active]) {
        e.preventDefault();
        pick(options[active]);
      }
    } else if (e.key === 'Escape') {
      if (open) {
        e.preventDefault();
        e.stopPropagation();
        setOpen(false);
      } else if (text) {
        e.preventDefault();
        setText('');
        props.onPick(null);
      }
    }
  };

  const w = props.words;
  const expanded = open && options.length > 0;
  const optionId = (i: number) => `${props.id}-option-${i}`;
  const describedBy = [statusId, props.describedBy].filter(Boolean).join(' ');
  const status = busy
    ? 'Searching…'
    : open && searched !== null && options.length === 0
      ? searched
        ? w.noMatch(searched)
        : w.noItems
      : expanded
        ? `${options.length}${total > options.length ? ` of ${total}` : ''} ${options.length === 1 ? w.one : w.many} found; use the arrow keys and Enter to choose.`
        : chosen
          ? `Chosen: ${chosen}.`
          : '';
  const data = (d: Record<string, string>) => Object.fromEntries(Object.entries(d).map(([k, v]) => [`data-${k}`, v]));

  return (
    <div className={props.className} data-testid={testId} {...data(props.rootData)}>
      <input
        id={props.id}
        type="text"
        role="combobox"
        autoComplete="off"
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-activedescendant={expanded && active >= 0 ? optionId(active) : undefined}
        aria-describedby={describedBy}
        aria-invalid={props.invalid || undefined}
        data-testid={`${testId}-input`}
        placeholder={props.placeholder}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          if (chosen !== null) {
            ownClear.current = true;
            props.onPick(null);
          }
        }}
        onKeyDown={onKeyDown}
        onBlur={() => window.setTimeout(() => setOpen(false), 150)}
      />
      {busy && <Spinner size={12} label={w.searching} />}
      <ul id={listId} role="listbox" aria-label={w.list} className="people-picker-list" hidden={!expanded} data-testid={`${testId}-listbox`}>
        {options.map((item, i) => (
          <li
            key={props.keyOf(item)}
            id={optionId(i)}
            role="option"
            aria-selected={i === active}
            className={i === active ? 'people-picker-option active' : 'people-picker-option'}
            data-testid={`${testId}-option`}
            {...data(props.dataOf(item))}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => pick(item)}
            onMouseEnter={() => setActive(i)}
          >
            {props.renderOption(item, searched ?? '')}
          </li>
        ))}
      </ul>
      <span id={statusId} className="visually-hidden" role="status" aria-live="polite" data-testid={`${testId}-status`}>
        {status}
      </span>
      {error && <ErrorMessage error={error} testId={`${testId}-error`} />}
    </div>
  );
}
