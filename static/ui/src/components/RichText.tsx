import { splitCitations } from '../lib/prompt';

/** Text with `[Field: value]` citations rendered inline as chips (AP-904). */
export function CitedText(props: { text: string }) {
  return (
    <>
      {splitCitations(props.text).map((p, i) =>
        'field' in p ? (
          <span key={i} className="citation-chip" data-testid="citation-chip" data-field={p.field} title={p.raw}>
            <span className="citation-field">{p.field}</span>
            <span className="citation-value">{p.value}</span>
          </span>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </>
  );
}

/** A section body: `- ` bullet lines as a list, other lines as paragraphs; citations as chips. */
export function SectionBody(props: { body: string }) {
  const lines = props.body.split('\n');
  const blocks: { list: boolean; lines: string[] }[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (!line) continue;
    const list = line.startsWith('- ');
    const text = list ? line.slice(2) : line;
    const last = blocks[blocks.length - 1];
    if (last && last.list === list) last.lines.push(text);
    else blocks.push({ list, lines: [text] });
  }
  return (
    <div className="section-body">
      {blocks.map((b, i) =>
        b.list ? (
          <ul key={i}>
            {b.lines.map((l, j) => (
              <li key={j}>
                <CitedText text={l} />
              </li>
            ))}
          </ul>
        ) : (
          b.lines.map((l, j) => (
            <p key={`${i}-${j}`}>
              <CitedText text={l} />
            </p>
          ))
        ),
      )}
    </div>
  );
}
