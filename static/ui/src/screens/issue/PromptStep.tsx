import { Lozenge, Spinner } from '../../components/ui';
import { SectionBody } from '../../components/RichText';
import { confidenceText, lozengeAppearance, lozengeText } from '../../lib/prompt';
import { router, view } from '../../bridge';
import type { ApprovalStep, Guidance } from '../../types';

/** A settings-type failure also names the exact admin screen and says who else can act. */
type SettingsGuidance = Guidance & { screen?: string; others?: string };

const SETTINGS_SCREEN = 'Jira settings → Apps → AI Clearance → Settings → AI → General';

/** The app's admin page (`jira:adminPage`, `/jira/settings/apps/<app id>/<environment id>`), from the frame's context. */
async function openSettings() {
  let url = '/jira/settings/apps';
  try {
    const ctx = (await view.getContext()) as { localId?: string };
    const m = /extension\/([^/]+)\/([^/]+)\//.exec(ctx.localId ?? '');
    if (m) url = `/jira/settings/apps/${m[1]}/${m[2]}`;
  } catch {
    // No context (a test page): the app list, one click from the screen the sentence names.
  }
  await router.navigate(url).catch(() => undefined);
}

/**
 * What to do about a settings-type failure (issue 33 item 6): a link that opens the admin page the
 * sentence names (Jira shows it to admins only), and for everyone else who can fix it.
 */
export function SettingsAction(props: { guidance: Guidance }) {
  const g = props.guidance as SettingsGuidance;
  const screen = g.screen ?? SETTINGS_SCREEN;
  return (
    <div className="hint" data-testid="failure-settings" data-screen={screen}>
      <button type="button" className="link-button" data-testid="failure-open-settings" onClick={() => void openSettings()}>
        Open {screen} ›
      </button>
      <div data-testid="failure-others">{g.others ?? `Only a Jira administrator can fix this: ask one to open ${screen}.`}</div>
    </div>
  );
}

export const CTA_TEXT = 'Click to view full analysis ›';

export function Teaser(props: { step: ApprovalStep; onOpen: () => void }) {
  const parsed = props.step.teaserCard ?? { lozenge: null, confidence: null, teaser: '', analysisPerformed: false };
  return (
    <div className="prompt-teaser" data-testid="prompt-teaser">
      <div className="chips">
        {parsed.lozenge && (
          <Lozenge appearance={lozengeAppearance(parsed.lozenge)} bold testId="teaser-lozenge" extra={{ 'data-kind': parsed.lozenge.kind, 'data-value': parsed.lozenge.value }}>
            {lozengeText(parsed.lozenge)}
          </Lozenge>
        )}
        {parsed.confidence && (
          <span className="confidence-chip" data-testid="teaser-confidence" data-value={parsed.confidence.kind === 'score' ? String(parsed.confidence.value) : 'N/A'}>
            {confidenceText(parsed.confidence)}
          </span>
        )}
      </div>
      {parsed.teaser ? <SectionBody body={parsed.teaser} /> : <p className="hint">The analysis finished without a summary.</p>}
      <button type="button" className="link-button teaser-cta" data-testid="teaser-cta" onClick={props.onOpen}>
        {CTA_TEXT}
      </button>
    </div>
  );
}

/** Shown when the server sends no guidance (an older backend): still an actionable sentence. */
const FALLBACK_GUIDANCE: Guidance = { category: 'other', message: 'The AI analysis failed; open it to see why and re-run.', action: 'rerun' };

export function FailurePanel(props: { step: ApprovalStep; onOpen: () => void }) {
  const { step } = props;
  const guidance = step.guidance ?? FALLBACK_GUIDANCE;
  return (
    <div className="prompt-failure" role="alert" data-testid="prompt-failure" data-category={guidance.category}>
      <strong>The AI analysis failed.</strong> <span data-testid="failure-guidance">{guidance.message}</span>
      {step.errorCode && <code className="error-code"> ({step.errorCode})</code>}
      {guidance.action === 'settings' && <SettingsAction guidance={guidance} />}
      {guidance.action === 'rerun' && (
        <div>
          <button type="button" className="link-button" data-testid="failure-open" onClick={props.onOpen}>
            Open the analysis to re-run it ›
          </button>
        </div>
      )}
    </div>
  );
}

export function Analyzing() {
  return (
    <div className="prompt-analyzing" data-testid="prompt-analyzing" role="status">
      <Spinner size={14} label="Analyzing" /> Analyzing…
    </div>
  );
}
