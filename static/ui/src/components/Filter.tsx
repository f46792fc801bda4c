import { useMemo, useState } from 'react';

/** Lower case without accents: "Café" and "cafe" match. */
const fold = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();

/**
 * Filters a list as the person types: an item stays when every word of the query occurs in one
 * of its `fields` (name, provider …), case and accents ignored. Client-side: the lists it serves
 * (catalog, approved tools) hold at most a few hundred rows.
 */
export function useFilter<T>(items: T[], fields: (t: T) => (string | null | undefined)[]) {
  const [query, setQuery] = useState('');
  const shown = useMemo(() => {
    const words = fold(query).split(/\s+/).filter(Boolean);
    if (words.length === 0) return items;
    return items.filter((t) => {
      const hay = fold(fields(t).filter(Boolean).join(' \u0000 '));
      return words.every((w) => hay.includes(w));
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [items, query]);
  return { query, setQuery, shown };
}

/** The search box above a table: a visible label, and the result count announced politely. */
export function FilterBox(props: {
  id: string;
  label: string;
  query: string;
  onChange: (q: string) => void;
  shown: number;
  total: number;
  noun: [string, string];
  testId: string;
  placeholder?: string;
}) {
  const n = (k: number) => `${k} ${k === 1 ? props.noun[0] : props.noun[1]}`;
  const text = props.query.trim() === '' ? n(props.total) : props.shown === 0 ? `No ${props.noun[1]} match “${props.query.trim()}”` : `${props.shown} of ${n(props.total)}`;
  return (
    <div className="filter-box">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="search"
        data-testid={props.testId}
        value={props.query}
        placeholder={props.placeholder}
        autoComplete="off"
        onChange={(e) => props.onChange(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape' && props.query) {
            e.preventDefault();
            e.stopPropagation();
            props.onChange('');
          }
        }}
      />
      <span className="hint" role="status" data-testid={`${props.testId}-count`}>
        {text}
      </span>
    </div>
  );
}
