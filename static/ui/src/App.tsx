import { useEffect, useState, type ReactNode } from 'react';
import { view } from './bridge';
import type { ForgeContext } from './types';
import { GlobalPage } from './screens/global/GlobalPage';
import { PortalPanel } from './screens/portal/PortalPanel';
import { IssuePanel } from './screens/issue/IssuePanel';
import { ResultDialog } from './screens/result/ResultDialog';
import { AdminPage } from './screens/admin/AdminPage';

/** Module keys of manifest.yml → screens. One bundle serves every module. */
export const MODULE_SCREENS: Record<string, (ctx: ForgeContext) => ReactNode> = {
  'ai-clearance': (ctx) => <GlobalPage context={ctx} />,
  'ai-clearance-panel': (ctx) => <PortalPanel context={ctx} />,
  'ai-clearance-issue-panel': (ctx) => <IssuePanel context={ctx} />,
  'ai-clearance-admin': (ctx) => <AdminPage context={ctx} />,
};

/** Modal screens, picked by `extension.modal.screen` (whatever module opened the modal). */
export const MODAL_SCREENS: Record<string, (ctx: ForgeContext, modal: Record<string, any>) => ReactNode> = {
  'prompt-result': (ctx, modal) => <ResultDialog context={ctx} modal={modal} />,
};

export function pickScreen(ctx: ForgeContext): ReactNode {
  const modal = ctx.extension?.modal as Record<string, any> | undefined;
  if (modal) {
    const screen = MODAL_SCREENS[String(modal.screen ?? '')];
    return screen ? screen(ctx, modal) : <p className="empty">Unknown dialog.</p>;
  }
  const screen = MODULE_SCREENS[ctx.moduleKey ?? ''];
  return screen ? screen(ctx) : <p className="empty">AI Clearance: nothing to show for module {ctx.moduleKey ?? '(none)'}.</p>;
}

export function App() {
  const [ctx, setCtx] = useState<ForgeContext | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    view
      .getContext()
      .then((c) => live && setCtx(c as unknown as ForgeContext))
      .catch((e: unknown) => live && setFailed(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, []);
  if (failed) {
    return (
      <div className="error-message" role="alert">
        AI Clearance could not read its context from Jira. Reload the page. <code className="error-code">({failed})</code>
      </div>
    );
  }
  if (!ctx) return null;
  return <>{pickScreen(ctx)}</>;
}
