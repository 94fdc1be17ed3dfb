// The two dialogs: "End run early" (confirm, then POST /run/stop with the key) and the key entry
// that unlocks the archive's download link. Native <dialog>: focus trap and Escape come for free.
import type { RunView } from '../../lambdas/shared/contract';
import { type ApiClient, ApiError } from './api';
import { byId, setText, show } from './dom';
import { forgetKey, getKey, saveKey } from './key';

export interface DialogHooks {
  api: ApiClient;
  /** Called after the key changed or the run was stopped, to refresh at once. */
  changed(flash?: string): void;
}

function errorWords(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return `Cannot reach the API at the moment (${err instanceof Error ? err.message : String(err)}). Try again.`;
}

export function renderKeyState(): void {
  const has = getKey() !== undefined;
  setText(byId('key-state'), has ? 'Operator key saved for this tab' : 'No operator key');
  setText(byId('key-button'), has ? 'Change key' : 'Enter key');
}

export function setupKeyDialog(hooks: DialogHooks): () => void {
  const dialog = byId<HTMLDialogElement>('key-dialog');
  const input = byId<HTMLInputElement>('key-input');
  const open = (): void => {
    input.value = '';
    show(byId('key-forget'), getKey() !== undefined);
    dialog.showModal();
    input.focus();
  };
  byId('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (!input.value.trim()) return;
    saveKey(input.value);
    input.value = '';
    dialog.close();
    renderKeyState();
    hooks.changed();
  });
  byId('key-cancel').addEventListener('click', () => dialog.close());
  byId('key-forget').addEventListener('click', () => {
    forgetKey();
    dialog.close();
    renderKeyState();
    hooks.changed('The operator key was forgotten.');
  });
  byId('key-button').addEventListener('click', open);
  // the archive box's "Enter the operator key" button is re-created on each state change: delegate
  byId('archive').addEventListener('click', (e) => {
    if ((e.target as Element).closest('[data-action="enter-key"]')) open();
  });
  renderKeyState();
  return open;
}

export function setupStopDialog(hooks: DialogHooks, currentRun: () => RunView | undefined): void {
  const dialog = byId<HTMLDialogElement>('stop-dialog');
  const input = byId<HTMLInputElement>('stop-key');
  const error = byId('stop-error');
  const confirm = byId<HTMLButtonElement>('stop-confirm');
  /** The run the dialog was opened for: the one it stops, even if another run started meanwhile. */
  let runId: number | undefined;

  const askForKey = (ask: boolean): void => {
    show(byId('stop-key-label'), ask);
    show(byId('stop-key-saved'), !ask);
  };
  const fail = (words: string): void => {
    setText(error, words);
    show(error, true);
  };

  byId('stop-button').addEventListener('click', () => {
    const run = currentRun();
    if (!run) return;
    runId = run.run_id;
    const t = run.tasks;
    setText(
      byId('stop-text'),
      `Run ${run.run_id} has ${t.pending} pending and ${t.claimed + t.running} active tasks; they will be ` +
        `cancelled and their runners told to stop. The archive is built from the ${t.completed} completed ` +
        `task${t.completed === 1 ? '' : 's'}. This cannot be undone.`,
    );
    input.value = '';
    show(error, false);
    confirm.disabled = false;
    askForKey(getKey() === undefined);
    dialog.showModal();
    // the safe choice has the focus unless a key must be typed first
    (getKey() === undefined ? input : byId('stop-cancel')).focus();
  });
  byId('stop-cancel').addEventListener('click', () => dialog.close());
  byId('stop-key-change').addEventListener('click', () => {
    askForKey(true);
    input.focus();
  });

  byId('stop-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const typed = !byId('stop-key-label').hidden;
    const key = typed ? input.value.trim() : getKey();
    if (!key) {
      fail('Enter the operator key to end the run.');
      input.focus();
      return;
    }
    if (runId === undefined) return;
    confirm.disabled = true;
    show(error, false);
    try {
      const res = await hooks.api.stopRun(key, runId);
      saveKey(key);
      renderKeyState();
      dialog.close();
      // the button that opened the dialog disappears with the run: keep focus on the page
      byId('run-heading').focus();
      hooks.changed(res.message || 'The run was ended early.');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        // a rejected key is not worth keeping: ask for it again
        if (!typed) forgetKey();
        renderKeyState();
        askForKey(true);
        input.select();
        input.focus();
      }
      const code = err instanceof ApiError ? ` (HTTP ${err.status})` : '';
      fail(`The run was not stopped: ${errorWords(err)}${code}`);
      // not_found: the run ended or another one started since the dialog opened; the API's words
      // say which, and the page behind the dialog catches up
      if (err instanceof ApiError && err.status === 404) hooks.changed();
    } finally {
      confirm.disabled = false;
    }
  });
}
