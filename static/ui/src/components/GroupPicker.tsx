import { call } from '../api';
import { SearchCombobox } from './SearchCombobox';

/** One group as `admin.groups.search` returns it (Jira's FoundGroup, name and id). */
export interface PickedGroup {
  name: string;
  groupId: string;
}

/**
 * A group picker (issue 33 item 3, D-262): an input with role=combobox that searches the site's
 * Jira groups through `admin.groups.search` (Jira's group picker API) as the admin types, and
 * hands the picked group to the form: the combobox the people picker uses (`SearchCombobox`), where
 * Down on an empty box lists the first groups and the part of a name that matched is bold.
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
  const exclude = props.exclude ?? [];
  return (
    <SearchCombobox<PickedGroup>
      id={props.id}
      testId={props.testId ?? 'group-picker'}
      chosen={props.value}
      search={async (query) => {
        const r = await call<{ groups: PickedGroup[]; total: number }>('admin.groups.search', { query });
        return { items: r.groups.filter((g) => !exclude.includes(g.name)), total: r.total };
      }}
      minChars={1}
      browse
      keyOf={(g) => g.groupId || g.name}
      textOf={(g) => g.name}
      dataOf={(g) => ({ group: g.name })}
      renderOption={(g, searched) => <span>{bold(g.name, searched)}</span>}
      onPick={props.onChange}
      words={{ one: 'group', many: 'groups', noMatch: (q) => `No group matches “${q}”.`, noItems: 'No groups to add.', list: 'Jira groups', searching: 'Searching groups' }}
      placeholder={props.placeholder ?? 'Type part of a group name'}
      className="people-picker group-picker"
      rootData={{ group: props.value ?? '' }}
      describedBy={props.describedBy}
      invalid={props.invalid}
    />
  );
}

/** The part of `name` that matched the search, in bold. */
function bold(name: string, searched: string) {
  const q = searched.trim();
  const at = q ? name.toLowerCase().indexOf(q.toLowerCase()) : -1;
  if (at < 0) return name;
  return (
    <>
      {name.slice(0, at)}
      <strong>{name.slice(at, at + q.length)}</strong>
      {name.slice(at + q.length)}
    </>
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
