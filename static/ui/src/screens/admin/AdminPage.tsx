import type { ForgeContext } from '../../types';

/** jira:adminPage placeholder; the admin screens (src/screens/admin/*) ship in the next release. */
export function AdminPage(_props: { context: ForgeContext }) {
  return (
    <main className="page" data-testid="admin-page">
      <h1 className="page-title">AI Clearance settings</h1>
      <p>The admin screens ship in the next release.</p>
    </main>
  );
}
