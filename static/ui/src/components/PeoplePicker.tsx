import { call } from '../api';
import { SearchCombobox } from './SearchCombobox';

/** One person as `admin.people.search` returns them. */
export interface PickedPerson {
  accountId: string;
  displayName: string;
  avatarUrl?: string;
}

const MIN_CHARS = 2;

/**
 * A people picker (issue 33, D-183): an input with role=combobox that searches Jira's people
 * through `admin.people.search` as the admin types (debounced), lists display names in a listbox,
 * and hands the picked account id to the form (the combobox itself is `SearchCombobox`, shared
 * with the group picker). The id never shows: the input reads the picked person's name.
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
  return (
    <SearchCombobox<PickedPerson>
      id={props.id}
      testId={props.testId ?? 'people-picker'}
      chosen={props.value?.displayName ?? null}
      search={async (query) => ({ items: (await call<{ people: PickedPerson[] }>('admin.people.search', { query })).people })}
      minChars={MIN_CHARS}
      keyOf={(p) => p.accountId}
      textOf={(p) => p.displayName}
      dataOf={(p) => ({ 'account-id': p.accountId })}
      renderOption={(p) => (
        <>
          {p.avatarUrl && <img src={p.avatarUrl} alt="" width={16} height={16} className="people-picker-avatar" />}
          {p.displayName}
        </>
      )}
      onPick={props.onChange}
      words={{ one: 'person', many: 'people', noMatch: (q) => `No one matches “${q}”.`, noItems: 'No one to add.', list: 'People', searching: 'Searching people' }}
      placeholder={props.placeholder ?? 'Type part of a name or email'}
      className="people-picker"
      rootData={{ 'account-id': props.value?.accountId ?? '' }}
      describedBy={props.describedBy}
      invalid={props.invalid}
    />
  );
}
