// The two dialogs: "End run early" (confirm, then POST /run/stop with the key) and the key entry
// that unlocks the archive's download link. Native <dialog>: focus trap and Escape come for free.
import type { RunView } from '../../lambdas/shared/contract';
import { type ApiClient, ApiError } from './api';
import { byId, focusFirst, setText, show, toggleClass } from './dom';
import { RUN_STATUS_LABEL } from './format';
import { forgetKey, getKey, type KeyStatus, keyStatus, refuseKey, saveKey } from './key';

export interface DialogHooks {
  api: ApiClient;
  /** Called after the key changed or the run was stopped, to refresh at once. */
  changed(flash?: string): void;
}

function errorWords(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return `Cannot reach the API at the moment (${err instanceof Error ? err.message : String(err)}). Try again.`;
}

/** On a dialog's `close`: when focus did not make it back onto the page, put it on `candidates`. */
function keepFocusOnClose(dialog: HTMLDialogElement, candidates: () => Array<HTMLElement | null>): void {
  dialog.addEventListener('close', () => {
    // when the control to return to is hidden, chromium leaves focus on the closed dialog's button
    // at this point, and moves it to <body> a moment later
    const a = document.activeElement;
    if (a === null || a === document.body || dialog.contains(a) || a.getClientRects().length === 0) {
      focusFirst(...candidates());
    }
  });
}

/** What the header says about the key, and what its button offers. */
const KEY_WORDS: Record<KeyStatus, { state: string; button: string }> = {
  none: { state: 'No operator key', button: 'Enter key' },
  unchecked: { state: 'Operator key saved for this tab, not checked yet', button: 'Change key' },
  accepted: { state: 'Operator key saved for this tab and accepted', button: 'Change key' },
  refused: { state: 'The saved operator key was refused', button: 'Re-enter key' },
};

/** Said when a key is saved: no API route checks a key without doing something with it. */
export const KEY_SAVED_WORDS =
  'Operator key saved for this tab, not checked yet: the API checks it when it is first used ' +
  "(to end the run early, or to unlock the archive's download link).";

export function renderKeyState(): void {
  const status = keyStatus();
  setText(byId('key-state'), KEY_WORDS[status].state);
  toggleClass(byId('key-state'), 'key-refused', status === 'refused');
  setText(byId('key-button'), KEY_WORDS[status].button);
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
    hooks.changed(KEY_SAVED_WORDS);
  });
  byId('key-cancel').addEventListener('click', () => dialog.close());
  byId('key-forget').addEventListener('click', () => {
    forgetKey();
    dialog.close();
    renderKeyState();
    hooks.changed('The operator key was forgotten.');
  });
  byId('key-button').addEventListener('click', open);
  // opened from the archive box, whose button a refresh may have replaced while the dialog was open
  keepFocusOnClose(dialog, () => [
    byId('archive').querySelector<HTMLElement>('#download-link, [data-action="enter-key"]'),
    byId('key-button'),
  ]);
  // the archive box's "Enter the operator key" button is re-created on each state change: delegate
  byId('archive').addEventListener('click', (e) => {
    if ((e.target as Element).closest('[data-action="enter-key"]')) open();
  });
  renderKeyState();
  return open;
}

/**
 * Sets up the "End run early" dialog. Returns `sync(run)`, to call on every render: when the run the
 * open dialog is about has ended by itself meanwhile, the dialog says so instead of offering a stop.
 */
export function setupStopDialog(
  hooks: DialogHooks,
  currentRun: () => RunView | undefined,
): (run: RunView | undefined) => void {
  const dialog = byId<HTMLDialogElement>('stop-dialog');
  const input = byId<HTMLInputElement>('stop-key');
  const error = byId('stop-error');
  const confirm = byId<HTMLButtonElement>('stop-confirm');
  const cancel = byId<HTMLButtonElement>('stop-cancel');
  /** The run the dialog was opened for: the one it stops, even if another run started meanwhile. */
  let runId: number | undefined;
  /** A POST /run/stop is on its way: the dialog stays open and nothing can send a second one. */
  let sending = false;
  /** The dialog's run ended by itself while the dialog was open: nothing is left to stop. */
  let ended = false;

  const askForKey = (ask: boolean): void => {
    show(byId('stop-key-label'), ask);
    show(byId('stop-key-saved'), !ask);
  };
  const fail = (words: string): void => {
    setText(error, words);
    show(error, true);
  };
  const setSending = (on: boolean): void => {
    sending = on;
    confirm.disabled = on;
    // not `disabled`: a disabled button drops the focus; aria-disabled keeps it and says why
    cancel.setAttribute('aria-disabled', String(on));
    // a disabled "End run" loses the focus: keep it inside the dialog
    const a = document.activeElement;
    if (on && (a === confirm || a === null || a === document.body)) cancel.focus();
  };

  byId('stop-button').addEventListener('click', () => {
    if (sending) {
      // the dialog was closed anyway (a browser lets a repeated Escape through): show it again,
      // as it was, still waiting for the answer
      if (!dialog.open) dialog.showModal();
      cancel.focus();
      return;
    }
    const run = currentRun();
    if (!run) return;
    runId = run.run_id;
    ended = false;
    const t = run.tasks;
    setText(
      byId('stop-text'),
      `Run ${run.run_id} has ${t.pending} pending and ${t.claimed + t.running} active tasks; they will be ` +
        `cancelled and their runners told to stop. The archive is built from the ${t.completed} completed ` +
        `task${t.completed === 1 ? '' : 's'}. This cannot be undone.`,
    );
    input.value = '';
    show(error, false);
    show(confirm, true);
    setText(cancel, 'Keep running');
    confirm.disabled = false;
    askForKey(getKey() === undefined);
    dialog.showModal();
    // the safe choice has the focus unless a key must be typed first
    (getKey() === undefined ? input : cancel).focus();
  });
  cancel.addEventListener('click', () => {
    if (!sending) dialog.close();
  });
  // Escape: ignored while the stop is on its way, so closing cannot look like cancelling it
  dialog.addEventListener('cancel', (e) => {
    if (sending) e.preventDefault();
  });
  // "End run early" is hidden once the run is over: focus goes to the run's heading instead
  keepFocusOnClose(dialog, () => [byId('run-heading'), byId('key-button')]);
  byId('stop-key-change').addEventListener('click', () => {
    askForKey(true);
    input.focus();
  });

  byId('stop-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (sending || ended) return;
    const typed = !byId('stop-key-label').hidden;
    const key = typed ? input.value.trim() : getKey();
    if (!key) {
      fail('Enter the operator key to end the run.');
      input.focus();
      return;
    }
    if (runId === undefined) return;
    setSending(true);
    show(error, false);
    try {
      const res = await hooks.api.stopRun(key, runId);
      saveKey(key, 'accepted');
      renderKeyState();
      const wasOpen = dialog.open;
      dialog.close();
      // the button that opened the dialog disappears with the run: keep focus on the page
      if (wasOpen) byId('run-heading').focus();
      hooks.changed(res.message || 'The run was ended early.');
    } catch (err) {
      const refused = err instanceof ApiError && err.status === 401;
      // a refused key is not worth keeping (refuseKey forgets it when it is the saved one): ask again
      const savedRefused = refused && refuseKey(key);
      if (refused) {
        renderKeyState();
        askForKey(true);
        input.select();
        input.focus();
      }
      const code = err instanceof ApiError ? ` (HTTP ${err.status})` : '';
      const words = savedRefused
        ? `The run was not stopped: the saved operator key was refused (${errorWords(err).replace(/\.$/, '')}, HTTP 401). Enter the right key.`
        : `The run was not stopped: ${errorWords(err)}${code}`;
      fail(words);
      // not_found: the run ended or another one started since the dialog opened; the API's words
      // say which, and the page behind the dialog catches up (with the words, if the dialog is shut)
      if (!dialog.open) hooks.changed(words);
      // the page behind says so too, in place of an earlier "saved, not checked yet"
      else if (savedRefused) hooks.changed('The saved operator key was refused; it has been forgotten.');
      else if (err instanceof ApiError && err.status === 404) hooks.changed();
    } finally {
      setSending(false);
    }
  });

  return (run) => {
    if (!dialog.open || sending || ended || run === undefined || run.run_id !== runId) return;
    if (run.status === 'running') return;
    // the run ended by itself (or was stopped elsewhere) while the dialog was open
    ended = true;
    show(confirm, false);
    show(byId('stop-key-label'), false);
    show(byId('stop-key-saved'), false);
    setText(cancel, 'Close');
    fail(
      `Run ${run.run_id} has already ended (${RUN_STATUS_LABEL[run.status] ?? run.status}): there is nothing left to stop.`,
    );
    // the focus may have been on the input or the confirm button, now pointless or hidden
    cancel.focus();
  };
}
