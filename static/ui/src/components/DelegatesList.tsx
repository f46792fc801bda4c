import { useState } from 'react';
import { PeopleList } from './PeopleList';
import { PeoplePicker, type PickedPerson } from './PeoplePicker';

/**
 * Delegates as people (issue 33 item 1, D-260): one row per approver — their name, then the
 * people who decide on their behalf as chips with a people picker to add the next — and a
 * picker that adds the next approver. Everyone is picked and shown by name; the form keeps the
 * `{approver account id: [delegate account ids]}` map the settings store (ids only in a chip's
 * tooltip). An approver left without delegates is dropped when saved (it delegates nothing).
 */
export function DelegatesList(props: {
  id: string;
  value: Record<string, string[]>;
  names: Record<string, string>;
  onChange: (v: Record<string, string[]>) => void;
  onNamed: (p: PickedPerson) => void;
  testId: string;
  describedBy?: string;
}) {
  const [added, setAdded] = useState(0);
  const name = (a: string) => props.names[a] ?? 'Unknown person';
  const rows = Object.entries(props.value);
  const set = (boss: string, ds: string[]) => props.onChange({ ...props.value, [boss]: ds });
  const remove = (boss: string) => {
    const { [boss]: _, ...rest } = props.value;
    props.onChange(rest);
  };
  return (
    <div className="delegates" data-testid={props.testId}>
      {rows.length > 0 && (
        <ul className="delegate-rows">
          {rows.map(([boss, ds], i) => (
            <li key={boss} className="delegate-row" data-testid={`${props.testId}-row`} data-account-id={boss}>
              <div className="delegate-approver">
                <span className="people-chip" title={boss} data-testid={`${props.testId}-approver`}>
                  {name(boss)}
                </span>{' '}
                <span className="hint">is represented by</span>{' '}
                <button type="button" className="link-button" aria-label={`Remove ${name(boss)}'s delegates`} data-testid={`${props.testId}-remove-row`} onClick={() => remove(boss)}>
                  Remove
                </button>
              </div>
              <label className="visually-hidden" htmlFor={`${props.id}-${i}`}>
                Delegates of {name(boss)}
              </label>
              <PeopleList
                id={`${props.id}-${i}`}
                testId={`${props.testId}-delegates`}
                ids={ds}
                names={props.names}
                onNamed={props.onNamed}
                onChange={(next) => set(boss, next.filter((d) => d !== boss))}
              />
              {ds.length === 0 && <span className="hint">Pick at least one person who decides for {name(boss)}.</span>}
            </li>
          ))}
        </ul>
      )}
      <div className="delegate-add">
        <label htmlFor={props.id}>Add an approver who delegates</label>
        <PeoplePicker
          key={added}
          id={props.id}
          testId={`${props.testId}-add`}
          value={null}
          describedBy={props.describedBy}
          placeholder="Type the approver's name"
          onChange={(p) => {
            if (!p) return;
            props.onNamed(p);
            if (!(p.accountId in props.value)) props.onChange({ ...props.value, [p.accountId]: [] });
            setAdded((n) => n + 1);
          }}
        />
      </div>
    </div>
  );
}

/** The map as the settings save it: approvers without delegates left out. */
export function delegatesToSave(v: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(v).filter(([, ds]) => ds.length > 0));
}
