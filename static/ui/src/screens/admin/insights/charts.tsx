/**
 * Small SVG charts for Insights (no chart dependency). Every chart has an aria-label and a data
 * table as its text alternative; every mark carries data-label / data-value for tests.
 */

export interface Datum {
  label: string;
  value: number;
  /** Optional title (e.g. the full account id behind a short label). */
  title?: string;
}

export const PALETTE = [
  'var(--ds-chart-categorical-1, #2898bd)',
  'var(--ds-chart-categorical-2, #5e4db2)',
  'var(--ds-chart-categorical-3, #e06c00)',
  'var(--ds-chart-categorical-4, #943d73)',
  'var(--ds-chart-categorical-5, #09326c)',
  'var(--ds-chart-categorical-6, #8f7ee7)',
  'var(--ds-chart-categorical-7, #50253f)',
  'var(--ds-chart-categorical-8, #a54800)',
];

function DataTable(props: { caption: string; head: string[]; rows: (string | number)[][]; testId: string }) {
  return (
    <details className="chart-data">
      <summary>Show as table</summary>
      <table className="table chart-table" data-testid={props.testId}>
        <caption className="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            {props.head.map((h) => (
              <th key={h}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function summary(data: Datum[]) {
  return data.map((d) => `${d.label}: ${d.value}`).join(', ');
}

/** Horizontal bars, biggest first as given. */
export function BarChart(props: { name: string; title: string; data: Datum[]; empty?: string; color?: string }) {
  const { data } = props;
  const max = Math.max(1, ...data.map((d) => d.value));
  const rowH = 26;
  const labelW = 190;
  const barW = 260;
  const h = data.length * rowH + 4;
  return (
    <figure className="chart" data-testid={`insights-chart-${props.name}`} data-count={data.length}>
      <figcaption className="chart-title">{props.title}</figcaption>
      {data.length === 0 ? (
        <p className="empty">{props.empty ?? 'No data yet.'}</p>
      ) : (
        <>
          <svg role="img" aria-label={`${props.title}: ${summary(data)}`} viewBox={`0 0 ${labelW + barW + 50} ${h}`} width="100%" style={{ maxWidth: labelW + barW + 50 }}>
            {data.map((d, i) => {
              const w = Math.max(d.value > 0 ? 2 : 0, (d.value / max) * barW);
              const y = i * rowH + 2;
              return (
                <g key={d.title ?? d.label} data-testid="chart-bar" data-label={d.label} data-id={d.title ?? d.label} data-value={d.value}>
                  <title>{`${d.title ?? d.label}: ${d.value}`}</title>
                  <text x={labelW - 8} y={y + 16} textAnchor="end" className="chart-label">
                    {d.label.length > 28 ? `${d.label.slice(0, 27)}…` : d.label}
                  </text>
                  <rect x={labelW} y={y + 3} width={w} height={rowH - 8} rx={2} fill={props.color ?? PALETTE[0]} />
                  <text x={labelW + w + 6} y={y + 16} className="chart-value">
                    {d.value}
                  </text>
                </g>
              );
            })}
          </svg>
          <DataTable caption={props.title} head={['', 'Count']} rows={data.map((d) => [d.title ?? d.label, d.value])} testId={`insights-table-${props.name}`} />
        </>
      )}
    </figure>
  );
}

/** A donut of parts with a legend (the legend doubles as the text alternative). */
export function DonutChart(props: { name: string; title: string; data: Datum[]; colors?: Record<string, string>; empty?: string; centre?: string }) {
  const data = props.data.filter((d) => d.value > 0);
  const total = data.reduce((n, d) => n + d.value, 0);
  const r = 52;
  const c = 2 * Math.PI * r;
  let offset = 0;
  const color = (d: Datum, i: number) => props.colors?.[d.label] ?? PALETTE[i % PALETTE.length];
  return (
    <figure className="chart chart-donut" data-testid={`insights-chart-${props.name}`} data-total={total}>
      <figcaption className="chart-title">{props.title}</figcaption>
      {total === 0 ? (
        <p className="empty">{props.empty ?? 'No data yet.'}</p>
      ) : (
        <div className="donut-row">
          <svg role="img" aria-label={`${props.title}: ${summary(data)} (total ${total})`} viewBox="0 0 140 140" width="140" height="140">
            <circle cx="70" cy="70" r={r} fill="none" stroke="var(--ds-background-neutral, #091e420f)" strokeWidth="20" />
            {data.map((d, i) => {
              const len = (d.value / total) * c;
              const seg = (
                <circle
                  key={d.label}
                  data-testid="chart-slice"
                  data-label={d.label}
                  data-value={d.value}
                  cx="70"
                  cy="70"
                  r={r}
                  fill="none"
                  stroke={color(d, i)}
                  strokeWidth="20"
                  strokeDasharray={`${len} ${c - len}`}
                  strokeDashoffset={-offset}
                  transform="rotate(-90 70 70)"
                >
                  <title>{`${d.label}: ${d.value}`}</title>
                </circle>
              );
              offset += len;
              return seg;
            })}
            <text x="70" y="68" textAnchor="middle" className="donut-total">
              {total}
            </text>
            <text x="70" y="86" textAnchor="middle" className="chart-label">
              {props.centre ?? 'total'}
            </text>
          </svg>
          <ul className="legend" aria-label={`${props.title} legend`}>
            {data.map((d, i) => (
              <li key={d.label} data-testid="legend-item" data-label={d.label} data-value={d.value}>
                <span className="swatch" style={{ background: color(d, i) }} aria-hidden="true" />
                {d.label} <strong>{d.value}</strong> <span className="hint">({Math.round((d.value / total) * 100)}%)</span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </figure>
  );
}

export interface Series {
  key: string;
  label: string;
  color: string;
}

/** Grouped columns: one group per month, one column per series. */
export function ColumnChart(props: { name: string; title: string; groups: { label: string; values: Record<string, number> }[]; series: Series[]; empty?: string }) {
  const { groups, series } = props;
  const max = Math.max(1, ...groups.flatMap((g) => series.map((s) => g.values[s.key] ?? 0)));
  const plotH = 140;
  const colW = groups.length > 12 ? 6 : groups.length > 6 ? 10 : 16;
  const gap = groups.length > 12 ? 8 : 20;
  const groupW = series.length * colW + gap;
  const left = 30;
  // Drawn at its natural size (no scaling): a few months stay small, many months scroll.
  const w = Math.max(320, left + Math.max(1, groups.length) * groupW + 10);
  const h = plotH + 34;
  const ticks = [0, Math.round(max / 2), max].filter((v, i, a) => a.indexOf(v) === i);
  const label = groups.map((g) => `${g.label}: ${series.map((s) => `${s.label} ${g.values[s.key] ?? 0}`).join(', ')}`).join('; ');
  return (
    <figure className="chart chart-wide" data-testid={`insights-chart-${props.name}`} data-count={groups.length}>
      <figcaption className="chart-title">{props.title}</figcaption>
      {groups.length === 0 ? (
        <p className="empty">{props.empty ?? 'No months rolled up yet.'}</p>
      ) : (
        <>
          <ul className="legend legend-inline">
            {series.map((s) => (
              <li key={s.key}>
                <span className="swatch" style={{ background: s.color }} aria-hidden="true" />
                {s.label}
              </li>
            ))}
          </ul>
          <div className="chart-scroll">
          <svg role="img" aria-label={`${props.title}: ${label}`} viewBox={`0 0 ${w} ${h}`} width={w} height={h}>
            {ticks.map((t) => {
              const y = 8 + plotH - (t / max) * plotH;
              return (
                <g key={t}>
                  <line x1={left - 4} x2={w} y1={y} y2={y} stroke="var(--ds-border, #091e4224)" />
                  <text x={left - 8} y={y + 4} textAnchor="end" className="chart-label">
                    {t}
                  </text>
                </g>
              );
            })}
            {groups.map((g, gi) => (
              <g key={g.label} data-testid="chart-group" data-label={g.label}>
                {series.map((s, si) => {
                  const v = g.values[s.key] ?? 0;
                  const bh = (v / max) * plotH;
                  const x = left + gi * groupW + gap / 2 + si * colW;
                  return (
                    <rect key={s.key} data-testid="chart-bar" data-label={`${g.label}:${s.key}`} data-value={v} x={x} y={8 + plotH - bh} width={colW - 2} height={bh} fill={s.color} rx={1}>
                      <title>{`${g.label} · ${s.label}: ${v}`}</title>
                    </rect>
                  );
                })}
                <text x={left + gi * groupW + groupW / 2} y={plotH + 26} textAnchor="middle" className="chart-label">
                  {g.label}
                </text>
              </g>
            ))}
          </svg>
          </div>
          <DataTable
            caption={props.title}
            head={['Month', ...series.map((s) => s.label)]}
            rows={groups.map((g) => [g.label, ...series.map((s) => g.values[s.key] ?? 0)])}
            testId={`insights-table-${props.name}`}
          />
        </>
      )}
    </figure>
  );
}
