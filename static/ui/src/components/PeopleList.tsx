import { PeoplePicker, type PickedPerson } from './PeoplePicker';

/**
 * A list of people entered by name (issue 33 item 1): each person a chip with their display
 * name and a Remove button, and a people picker that adds the next one. The form keeps account
 * ids; a person reads names (an id the site no longer knows reads "Unknown person").
 */
export function PeopleList(props: {
  id: string;
  ids: string[];
  names: Record<string, string>;
  onChange: (ids: string[]) => void;
  onNamed: (p: PickedPerson) => void;
  testId: string;
  describedBy?: string;
}) {
  const name = (a: string) => props.names[a] ?? 'Unknown person';
  return (
    <>
      {props.ids.length > 0 && (
        <ul className="people-chips" data-testid={props.testId}>
          {props.ids.map((a) => (
            <li key={a} className="people-chip" data-testid={`${props.testId}-chip`} data-account-id={a} title={a}>
              {name(a)}{' '}
              <button type="button" className="link-button" aria-label={`Remove ${name(a)}`} data-testid={`${props.testId}-remove`} onClick={() => props.onChange(props.ids.filter((x) => x !== a))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {/* Remounted after each addition, so the box is empty for the next person. */}
      <PeoplePicker
        key={props.ids.length}
        id={props.id}
        testId={`${props.testId}-picker`}
        value={null}
        describedBy={props.describedBy}
        placeholder="Type a name to add a person"
        onChange={(p) => {
          if (!p) return;
          props.onNamed(p);
          if (!props.ids.includes(p.accountId)) props.onChange([...props.ids, p.accountId]);
        }}
      />
    </>
  );
}
