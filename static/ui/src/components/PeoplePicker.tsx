import { useEffect, useId, useRef, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../api';
import { ErrorMessage, Spinner } from './ui';

/** One person as `admin.people.search` returns them. */
export interface PickedPerson {
  accountId: string;
  displayName: string;
  avatarUrl?: string;
}

const DEBOUNCE_MS = 250;
const MIN_CHARS = 2;

/**
 * A people picker (issue 33, D-183): an input with role=combobox that searches Jira's people
 * through `admin.people.search` as the admin types (debounced), lists display names in a listbox,
 * and hands the picked account id to the form. The WAI-ARIA combobox pattern: aria-expanded,
 * aria-controls the listbox, aria-activedescendant the active option; Down/Up move the active
 * option, Enter picks it, Escape closes the list (a second Escape clears the text). Focus stays
 * in the input. The id never shows: the input reads the picked person's name.
 */
export function PeoplePicker(props: {
  id: string;
  value: PickedPerson | null;
  onChange: (p: PickedPerson | null) => void;
  testId?: string;
  describedBy?: string;
  invalid?: boolean;
  placeholder?: string;
}) {
  const [text, setText] = useState(props.value?.displayName ?? '');
  const [options, setOptions] = useState<PickedPerson[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ResolverError | null>(null);
  const [searched, setSearched] = useState('');
  const seq = useRef(0);
  // Set when the picker itself clears the value (the admin edits the text): keep the text.
  const ownClear = useRef(false);
  const listId = `${props.id}-listbox`;
  const statusId = useId();
  const testId = props.testId ?? 'people-picker';

  // The form cleared or set the value: the input follows.
  useEffect(() => {
    if (ownClear.current) {
      ownClear.current = false;
      return;
    }
    setText(props.value?.displayName ?? '');
  }, [props.value?.accountId, props.value?.displayName]);

  // Debounced search while the text is not the picked person's name.
  useEffect(() => {
    const q = text.trim();
    if (props.value && text === props.value.displayName) return;
    if (q.length < MIN_CHARS) {
      setOptions([]);
      setOpen(false);
      setSearched('');
      return;
    }
    const mine = ++seq.current;
    const t = window.setTimeout(async () => {
      setBusy(true);
      try {
        const r = await call<{ people: PickedPerson[] }>('admin.people.search', { query: q.slice(0, 100) });
        if (mine !== seq.current) return;
        setError(null);
        setOptions(r.people);
        setActive(r.people.length ? 0 : -1);
        setSearched(q);
        setOpen(true);
      } catch (e) {
        if (mine === seq.current) setError(asResolverError(e));
      } finally {
        if (mine === seq.current) setBusy(false);
      }
    }, DEBOUNCE_MS);
    return () => window.clearTimeout(t);
  }, [text, props.value]);

  const pick = (p: PickedPerson) => {
    seq.current++;
    props.onChange(p);
    setText(p.displayName);
    setOpen(false);
    setOptions([]);
    setActive(-1);
    setBusy(false);
  };

  const onKeyDown = (e: React.KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!options.length) return;
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
        props.onChange(null);
      }
    }
  };

  const expanded = open && options.length > 0;
  const optionId = (i: number) => `${props.id}-option-${i}`;
  const describedBy = [statusId, props.describedBy].filter(Boolean).join(' ');
  const status = busy
    ? 'Searching…'
    : open && searched && options.length === 0
      ? `No one matches “${searched}”.`
      : expanded
        ? `${options.length} ${options.length === 1 ? 'person' : 'people'} found; use the arrow keys and Enter to choose.`
        : props.value
          ? `Chosen: ${props.value.displayName}.`
          : '';

  return (
    <div className="people-picker" data-testid={testId} data-account-id={props.value?.accountId ?? ''}>
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
        placeholder={props.placeholder ?? 'Type part of a name or email'}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          if (props.value) {
            ownClear.current = true;
            props.onChange(null);
          }
        }}
        onKeyDown={onKeyDown}
        onBlur={() => window.setTimeout(() => setOpen(false), 150)}
      />
      {busy && <Spinner size={12} label="Searching people" />}
      <ul id={listId} role="listbox" aria-label="People" className="people-picker-list" hidden={!expanded} data-testid={`${testId}-listbox`}>
        {options.map((p, i) => (
          <li
            key={p.accountId}
            id={optionId(i)}
            role="option"
            aria-selected={i === active}
            className={i === active ? 'people-picker-option active' : 'people-picker-option'}
            data-testid={`${testId}-option`}
            data-account-id={p.accountId}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => pick(p)}
            onMouseEnter={() => setActive(i)}
          >
            {p.avatarUrl && <img src={p.avatarUrl} alt="" width={16} height={16} className="people-picker-avatar" />}
            {p.displayName}
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
