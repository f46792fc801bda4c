import { useEffect, useId, useRef, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../api';
import { ErrorMessage, Spinner } from './ui';

/** One group as `admin.groups.search` returns it (Jira's FoundGroup, name and id). */
export interface PickedGroup {
  name: string;
  groupId: string;
}

const DEBOUNCE_MS = 250;

/**
 * A group picker (issue 33 item 3, D-262): an input with role=combobox that searches the site's
 * Jira groups through `admin.groups.search` (Jira's group picker API) as the admin types, and
 * hands the picked group to the form. The same WAI-ARIA combobox pattern as the people picker:
 * aria-expanded, aria-controls the listbox, aria-activedescendant the active option; Down/Up
 * (Down on an empty box lists the first groups), Home/End, Enter picks, Escape closes the list
 * (a second Escape clears the text). The part of the name that matched is bold.
 */
export function GroupPicker(props: {
  id: string;
  value: string | null;
  onChange: (g: PickedGroup | null) => void;
  testId?: string;
  describedBy?: string;
  invalid?: boolean;
  placeholder?: string;
  /** Groups already chosen (left out of the list). */
  exclude?: string[];
}) {
  const [text, setText] = useState(props.value ?? '');
  const [options, setOptions] = useState<PickedGroup[]>([]);
  const [total, setTotal] = useState(0);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ResolverError | null>(null);
  const [searched, setSearched] = useState<string | null>(null);
  const [browse, setBrowse] = useState(0);
  const seq = useRef(0);
  const ownClear = useRef(false);
  const listId = `${props.id}-listbox`;
  const statusId = useId();
  const testId = props.testId ?? 'group-picker';
  const exclude = props.exclude ?? [];

  useEffect(() => {
    if (ownClear.current) {
      ownClear.current = false;
      return;
    }
    setText(props.value ?? '');
  }, [props.value]);

  useEffect(() => {
    const q = text.trim();
    if (props.value && text === props.value) return;
    if (!q && !browse) {
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
          const r = await call<{ groups: PickedGroup[]; total: number }>('admin.groups.search', { query: q.slice(0, 100) });
          if (mine !== seq.current) return;
          const list = r.groups.filter((g) => !exclude.includes(g.name));
          setError(null);
          setOptions(list);
          setTotal(r.total);
          setActive(list.length ? 0 : -1);
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
  }, [text, props.value, browse]);

  const pick = (g: PickedGroup) => {
    seq.current++;
    props.onChange(g);
    setText(g.name);
    setOpen(false);
    setOptions([]);
    setActive(-1);
    setBusy(false);
  };

  const onKeyDown = (e: React.KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!options.length) {
        // Down on an empty box lists the first groups.
        if (!text.trim() && e.key === 'ArrowDown') setBrowse((b) => b + 1);
        return;
      }
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
    : open && searched !== null && options.length === 0
      ? searched
        ? `No group matches “${searched}”.`
        : 'No groups to add.'
      : expanded
        ? `${options.length}${total > options.length ? ` of ${total}` : ''} ${options.length === 1 ? 'group' : 'groups'} found; use the arrow keys and Enter to choose.`
        : props.value
          ? `Chosen: ${props.value}.`
          : '';
  const bold = (name: string) => {
    const q = (searched ?? '').trim();
    const at = q ? name.toLowerCase().indexOf(q.toLowerCase()) : -1;
    if (at < 0) return name;
    return (
      <>
        {name.slice(0, at)}
        <strong>{name.slice(at, at + q.length)}</strong>
        {name.slice(at + q.length)}
      </>
    );
  };

  return (
    <div className="people-picker group-picker" data-testid={testId} data-group={props.value ?? ''}>
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
        placeholder={props.placeholder ?? 'Type part of a group name'}
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
      {busy && <Spinner size={12} label="Searching groups" />}
      <ul id={listId} role="listbox" aria-label="Jira groups" className="people-picker-list" hidden={!expanded} data-testid={`${testId}-listbox`}>
        {options.map((g, i) => (
          <li
            key={g.groupId || g.name}
            id={optionId(i)}
            role="option"
            aria-selected={i === active}
            className={i === active ? 'people-picker-option active' : 'people-picker-option'}
            data-testid={`${testId}-option`}
            data-group={g.name}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => pick(g)}
            onMouseEnter={() => setActive(i)}
          >
            <span>{bold(g.name)}</span>
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

/**
 * A list of Jira groups entered by name: each a chip with a Remove button, and a group picker
 * that adds the next one (the form keeps group names, as the settings store them).
 */
export function GroupList(props: { id: string; groups: string[]; onChange: (groups: string[]) => void; testId: string; describedBy?: string; invalid?: boolean }) {
  return (
    <>
      {props.groups.length > 0 && (
        <ul className="people-chips" data-testid={props.testId}>
          {props.groups.map((g) => (
            <li key={g} className="people-chip" data-testid={`${props.testId}-chip`} data-group={g}>
              {g}{' '}
              <button type="button" className="link-button" aria-label={`Remove group ${g}`} data-testid={`${props.testId}-remove`} onClick={() => props.onChange(props.groups.filter((x) => x !== g))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {/* Remounted after each addition, so the box is empty for the next group. */}
      <GroupPicker
        key={props.groups.length}
        id={props.id}
        testId={`${props.testId}-picker`}
        value={null}
        exclude={props.groups}
        describedBy={props.describedBy}
        invalid={props.invalid}
        placeholder="Type part of a group name to add it"
        onChange={(g) => {
          if (g && !props.groups.includes(g.name)) props.onChange([...props.groups, g.name]);
        }}
      />
    </>
  );
}
