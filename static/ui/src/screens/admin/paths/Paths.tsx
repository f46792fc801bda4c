import { useCallback, useEffect, useState } from 'react';
import { asResolverError, call, type ResolverError } from '../../../api';
import { Empty, ErrorMessage, Skeleton, Spinner } from '../../../components/ui';
import { TabList, panelId, tabId } from '../../../components/Tabs';
import type { SectionProps } from '../sections';
import { DefinitionEditor } from './DefinitionEditor';
import { Messages } from './Messages';
import { EVENT_LABEL, type DefinitionSummary } from './model';
import '../ai/ai.css';
import './paths.css';

const EVENTS = Object.keys(EVENT_LABEL);

/**
 * Approval paths & messages: the definitions (phases, parallel groups, every step type including
 * the AI Prompt step, AP-906) and the tenant-wide email message templates (Settings → Messages).
 * Anchors: `messages` opens the templates; a definition id opens its editor.
 */
export default function Paths(props: SectionProps) {
  const [tab, setTab] = useState<'definitions' | 'messages'>(props.anchor === 'messages' ? 'messages' : 'definitions');
  const [editing, setEditing] = useState<string | null | undefined>(
    props.anchor && props.anchor !== 'messages' && props.anchor !== 'definitions' ? props.anchor : undefined,
  );
  const [list, setList] = useState<DefinitionSummary[] | null>(null);
  const [loadError, setLoadError] = useState<ResolverError | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [rowError, setRowError] = useState<{ id: string; error: ResolverError } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const r = await call<{ definitions: DefinitionSummary[] }>('admin.definitions.list');
      setList([...r.definitions].sort((a, b) => a.name.localeCompare(b.name)));
      setLoadError(null);
    } catch (e) {
      setLoadError(asResolverError(e));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const remove = async (id: string) => {
    setConfirmDelete(null);
    setBusy(id);
    setRowError(null);
    setNotice(null);
    try {
      await call('admin.definitions.delete', { id });
      setNotice('Approval path deleted. Approvals already started on it keep running.');
      await load();
    } catch (e) {
      setRowError({ id, error: asResolverError(e) });
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="paths" data-testid="paths">
      <TabList
        label="Approval paths & messages"
        idPrefix="paths-"
        tabs={[
          { id: 'definitions' as const, label: 'Approval paths', testId: 'paths-tab-definitions' },
          { id: 'messages' as const, label: 'Messages', testId: 'paths-tab-messages' },
        ]}
        selected={tab}
        onSelect={setTab}
      />
      <div role="tabpanel" id={panelId('paths-', tab)} aria-labelledby={tabId('paths-', tab)}>

      {tab === 'messages' && <Messages />}

      {tab === 'definitions' && editing !== undefined && (
        <DefinitionEditor
          key={editing ?? 'new'}
          id={editing}
          events={EVENTS}
          go={props.go}
          onClose={() => {
            setEditing(undefined);
            void load();
          }}
        />
      )}

      {tab === 'definitions' && editing === undefined && (
        <>
          <div className="button-group">
            <button type="button" className="button button-primary" data-testid="def-new" onClick={() => setEditing(null)}>
              New approval path
            </button>
          </div>
          {notice && (
            <div className="action-result" role="status" data-testid="def-notice">
              {notice}
            </div>
          )}
          {!list && loadError && <ErrorMessage error={loadError} testId="def-list-error" />}
          {!list && !loadError && <Skeleton />}
          {list && list.length === 0 && <Empty>No approval paths yet.</Empty>}
          {list && list.length > 0 && (
            <table className="table paths-table" data-testid="def-table">
              <thead>
                <tr>
                  <th>Approval path</th>
                  <th className="num">Steps</th>
                  <th className="num">Version</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((d) => (
                  <tr key={d.id} data-testid="def-row" data-definition-id={d.id}>
                    <td>
                      <strong>{d.name}</strong> <span className="mono">{d.id}</span>
                      {d.description && <div className="hint">{d.description}</div>}
                      {rowError?.id === d.id && <ErrorMessage error={rowError.error} testId="def-row-error" />}
                      {confirmDelete === d.id && (
                        <div className="confirm" role="alertdialog" data-testid="def-confirm-delete">
                          <p>
                            <strong>Delete “{d.name}”?</strong> Governance routes that name it stop finding it.
                          </p>
                          <button type="button" className="button button-danger" data-testid="def-delete-yes" onClick={() => void remove(d.id)}>
                            Delete
                          </button>
                          <button type="button" className="button" onClick={() => setConfirmDelete(null)}>
                            Cancel
                          </button>
                        </div>
                      )}
                    </td>
                    <td className="num">{d.steps}</td>
                    <td className="num">{d.version}</td>
                    <td className="ai-template-actions">
                      <div className="button-group">
                        <button type="button" className="button" data-testid="def-edit" onClick={() => setEditing(d.id)}>
                          Edit
                        </button>
                        <button type="button" className="button button-subtle" data-testid="def-delete" disabled={busy !== null} onClick={() => setConfirmDelete(d.id)}>
                          Delete
                        </button>
                        {busy === d.id && <Spinner />}
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      </div>
    </div>
  );
}
