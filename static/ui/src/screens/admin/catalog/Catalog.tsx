import type { SectionProps } from '../sections';

/** Placeholder: this section is being built. */
export default function Catalog(_props: SectionProps) {
  return <p className="empty" data-testid="section-placeholder">This section is not built yet.</p>;
}
