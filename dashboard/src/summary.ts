// The top of the page: run facts, status counts, one bar per instance type and the archive.
import type { RunView, TaskCounts } from '../../lambdas/shared/contract';
import { byId, el, focusFirst, KeyedList, setAttr, setText, show } from './dom';
import {
  archiveState,
  barSegments,
  describeCounts,
  formatClock,
  RUN_STATUS_LABEL,
  runElapsed,
  STATUS_ORDER,
} from './format';

type TypeRow = RunView['instance_types'][number];
type Tile = { status: string; count: number };

/** Fills a `.bar` with one span per status; the bar itself is aria-hidden, the text beside it speaks. */
function renderBar(bar: HTMLElement, counts: TaskCounts): void {
  const segs = barSegments(counts);
  const spans = Array.from(bar.children) as HTMLElement[];
  segs.forEach((s, i) => {
    let span = spans[i];
    if (!span) {
      span = el('span');
      bar.append(span);
    }
    setAttr(span, 'class', `seg seg-${s.status}`);
    const width = `${s.pct.toFixed(2)}%`;
    if (span.style.width !== width) span.style.width = width;
  });
  for (const extra of spans.slice(segs.length)) extra.remove();
}

export class Summary {
  private readonly counts = new KeyedList<Tile, HTMLLIElement>(
    byId('counts'),
    (t) => t.status,
    (t) =>
      el(
        'li',
        { class: `count count-${t.status}` },
        el('span', { class: 'count-n' }),
        el('span', { class: 'count-label' }, t.status),
      ),
    (node, t) => setText(node.firstElementChild!, String(t.count)),
  );

  private readonly types = new KeyedList<TypeRow, HTMLLIElement>(
    byId('types'),
    (t) => `${t.provider}/${t.instance_type}`,
    (t) =>
      el(
        'li',
        {},
        el(
          'div',
          { class: 'type-head' },
          el(
            'span',
            { class: 'type-name' },
            el('span', { class: 'provider' }, t.provider),
            ` ${t.instance_type}`,
          ),
          el('span', { class: 'type-text' }),
        ),
        el('div', { class: 'bar', 'aria-hidden': 'true' }),
      ),
    (node, t) => {
      setText(node.querySelector('.type-text')!, describeCounts(t.counts));
      renderBar(node.querySelector<HTMLElement>('.bar')!, t.counts);
    },
  );

  /** `keyRefused`: the saved key was refused, so a ready archive says so rather than just "locked". */
  render(run: RunView, now: number, keyRefused: boolean): void {
    setText(byId('run-id'), String(run.run_id));
    const badge = byId('run-status');
    setText(badge, RUN_STATUS_LABEL[run.status] ?? run.status);
    setAttr(badge, 'class', `badge run-${run.status}`);
    show(byId('stop-button'), run.status === 'running');

    setText(byId('fact-ruby'), run.ruby_version);
    setText(byId('fact-started'), formatClock(run.created_at, now));
    setText(byId('fact-elapsed'), runElapsed(run, now));
    setText(byId('fact-finished'), formatClock(run.finished_at ?? run.completed_at, now) || '—');
    setText(byId('fact-runs'), String(run.runs_per_instance_type));
    setText(byId('fact-attempts'), String(run.max_attempts));

    renderBar(byId('overall-bar'), run.tasks);
    setText(byId('overall-text'), describeCounts(run.tasks));
    this.counts.render([
      { status: 'total', count: run.tasks.total },
      ...STATUS_ORDER.map((s) => ({ status: s, count: run.tasks[s] })),
    ]);
    this.types.render(run.instance_types);
    this.renderArchive(run, keyRefused);
  }

  private renderArchive(run: RunView, keyRefused: boolean): void {
    const box = byId('archive');
    const state = archiveState(run, keyRefused);
    // Rebuilt only when what it says changes, not when the link does: `gzip_url` is presigned
    // afresh on every request, so the href is updated in place and a focused link keeps its focus
    // (and the live region is not announced again on every poll).
    const sig = JSON.stringify(state.kind === 'link' ? { kind: state.kind } : state);
    if (box.dataset.sig === sig) {
      const link = box.querySelector('#download-link');
      if (state.kind === 'link' && link) setAttr(link, 'href', state.url);
      return;
    }
    box.dataset.sig = sig;
    // a keyboard user on the box's button (just back from the key dialog it opened, say) keeps the
    // focus in the box: on the new link or button, not on <body> at the top of the page
    const hadFocus = box.contains(document.activeElement);
    box.replaceChildren(...archiveContent(state));
    setAttr(box, 'class', `archive archive-${state.kind}`);
    if (hadFocus) {
      focusFirst(
        box.querySelector<HTMLElement>('#download-link, [data-action="enter-key"]'),
        byId('run-heading'),
      );
    }
  }
}

function archiveContent(state: ReturnType<typeof archiveState>): Array<Node | string> {
  const unlock = (): HTMLButtonElement =>
    el('button', { type: 'button', class: 'link', 'data-action': 'enter-key' }, 'Enter the operator key');
  switch (state.kind) {
    case 'none':
      return [];
    case 'assembling':
      return ['Building the results archive…'];
    case 'failed':
      return [`The results archive could not be built: ${state.reason}`];
    case 'link':
      return [
        el(
          'a',
          { href: state.url, id: 'download-link', class: 'download', rel: 'noopener' },
          'Download results.tar.gz',
        ),
        ' (the link is fresh for a limited time; it renews on every refresh)',
      ];
    case 'locked':
      return ['The results archive is ready. ', unlock(), ' to unlock its download link.'];
    case 'key_rejected':
      return ['The results archive is ready, but the saved key did not unlock its link. ', unlock(), '.'];
  }
}
