import { Suspense, useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../api';
import { ErrorMessage, Skeleton } from '../../components/ui';
import type { ForgeContext } from '../../types';
import { SECTIONS, type SectionId } from './sections';

/**
 * jira:adminPage "AI Clearance" (Jira settings → Apps): a left nav of sections, each loaded on
 * first open. Jira shows the page to Jira admins only; the resolvers check again, and a refusal
 * is shown instead of the screens.
 */
export function AdminPage(props: { context: ForgeContext }) {
  const [at, setAt] = useState<{ id: SectionId; anchor?: string }>({ id: 'overview' });
  const [denied, setDenied] = useState<ResolverError | null>(null);
  const [checked, setChecked] = useState(false);
  useEffect(() => {
    // One cheap admin-only call decides whether to show the screens at all.
    call('admin.intake.get')
      .then(() => setChecked(true))
      .catch((e) => {
        setDenied(asResolverError(e));
        setChecked(true);
      });
  }, []);
  // The screens render at once (their own calls run in parallel with this check); a refusal
  // replaces them when it arrives.
  if (checked && denied) {
    return (
      <main className="page" data-testid="admin-page">
        <h1 className="page-title">AI Clearance settings</h1>
        <ErrorMessage error={denied} testId="admin-denied" />
      </main>
    );
  }
  const section = SECTIONS.find((s) => s.id === at.id) ?? SECTIONS[0];
  const Current = section.component;
  const go = (id: SectionId, anchor?: string) => setAt({ id, anchor });
  return (
    <main className="page admin" data-testid="admin-page">
      <h1 className="page-title">AI Clearance settings</h1>
      <div className="admin-layout">
        <nav className="admin-nav" aria-label="AI Clearance settings">
          {SECTIONS.map((s) => (
            <button
              key={s.id}
              type="button"
              className={`admin-nav-item${s.id === section.id ? ' active' : ''}`}
              aria-current={s.id === section.id ? 'page' : undefined}
              data-testid={`admin-nav-${s.id}`}
              onClick={() => go(s.id)}
            >
              {s.title}
            </button>
          ))}
        </nav>
        <section className="admin-section" data-testid={`admin-section-${section.id}`} key={`${section.id}:${at.anchor ?? ''}`}>
          <h2 className="section-title">{section.title}</h2>
          <Suspense fallback={<Skeleton />}>
            <Current context={props.context} go={go} anchor={at.anchor} />
          </Suspense>
        </section>
      </div>
    </main>
  );
}
