import {
  archiveState,
  archiveUnlockable,
  barSegments,
  describeCounts,
  failedNote,
  formatAge,
  formatDuration,
  isStale,
  runElapsed,
  safeHttpUrl,
  staleAfterWords,
  staleNote,
} from '../../dashboard/src/format';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString();

describe('dashboard formatting', () => {
  it('formats durations at the scale that matters', () => {
    expect(formatDuration(12_400)).toBe('12s');
    expect(formatDuration(245_000)).toBe('4m 05s');
    expect(formatDuration(3_725_000)).toBe('1h 02m');
    expect(formatDuration(-5)).toBe('0s');
  });

  it('reads a heartbeat from a clock slightly ahead as just now, never a negative age', () => {
    expect(formatAge(ago(-3), NOW)).toBe('just now');
    expect(formatAge(ago(75), NOW)).toBe('1m 15s ago');
    expect(formatAge(null, NOW)).toBe('');
  });

  it('calls an active task stale after 60 s without a heartbeat, falling back to its claim time', () => {
    expect(isStale({ status: 'running', heartbeat_at: ago(61), claimed_at: ago(300) }, NOW)).toBe(true);
    expect(isStale({ status: 'running', heartbeat_at: ago(30), claimed_at: ago(300) }, NOW)).toBe(false);
    expect(isStale({ status: 'claimed', heartbeat_at: null, claimed_at: ago(90) }, NOW)).toBe(true);
    expect(isStale({ status: 'completed', heartbeat_at: ago(600), claimed_at: ago(900) }, NOW)).toBe(false);
    expect(isStale({ status: 'pending', heartbeat_at: null, claimed_at: null }, NOW)).toBe(false);
  });

  it('measures elapsed time to the end of a finished run, else to now', () => {
    expect(runElapsed({ created_at: ago(600), finished_at: ago(60), completed_at: null }, NOW)).toBe(
      '9m 00s',
    );
    expect(runElapsed({ created_at: ago(90), finished_at: null, completed_at: null }, NOW)).toBe('1m 30s');
  });

  it('splits a bar into status segments that add up to the whole', () => {
    const c = { total: 8, pending: 2, claimed: 1, running: 1, completed: 3, failed: 1, cancelled: 0 };
    const segs = barSegments(c);
    expect(segs.map((s) => s.status)).toEqual(['completed', 'failed', 'running', 'claimed', 'pending']);
    expect(segs.reduce((n, s) => n + s.pct, 0)).toBeCloseTo(100);
    expect(describeCounts(c)).toBe('4 of 8 finished: 3 completed, 1 failed, 1 running, 1 claimed, 2 pending');
    expect(barSegments({ ...c, total: 0 })).toEqual([]);
  });

  it('never turns a non-http download URL into a link', () => {
    expect(safeHttpUrl('javascript:alert(1)')).toBeUndefined();
    expect(safeHttpUrl('not a url')).toBeUndefined();
    expect(safeHttpUrl('https://bucket.s3.amazonaws.com/r.tar.gz?X-Amz=1')).toContain('https://');
  });

  it('tells a locked archive from one the saved key was refused for', () => {
    const run = {
      status: 'complete' as const,
      gzip_url: null,
      archive_key: 'runs/1/results.tar.gz',
      assembly_error: null,
    };
    expect(archiveState(run, false)).toEqual({ kind: 'locked' });
    expect(archiveState(run, true)).toEqual({ kind: 'key_rejected' });
    expect(archiveState({ ...run, gzip_url: 'http://127.0.0.1:9/x.tar.gz' }, true)).toEqual({
      kind: 'link',
      url: 'http://127.0.0.1:9/x.tar.gz',
    });
    expect(archiveState({ ...run, status: 'running', archive_key: null }, false)).toEqual({ kind: 'none' });
    expect(archiveState({ ...run, status: 'assembly_failed', assembly_error: 'S3 said no' }, true)).toEqual({
      kind: 'failed',
      reason: 'S3 said no',
    });
  });

  it('knows when a GET /run with a valid key carries the download link', () => {
    const run = { status: 'complete' as const, archive_key: 'runs/1/results.tar.gz' };
    expect(archiveUnlockable(run)).toBe(true);
    expect(archiveUnlockable({ ...run, status: 'cancelled' })).toBe(true);
    expect(archiveUnlockable({ ...run, status: 'assembling' })).toBe(false);
    expect(archiveUnlockable({ ...run, archive_key: null })).toBe(false);
  });

  it('says when a note covers only the page of tasks on screen, with the run count beside it', () => {
    const whole = { first: 1, last: 12, whole: true };
    const page2 = { first: 101, last: 200, whole: false };
    expect([staleAfterWords(), staleAfterWords(90_000), staleAfterWords(120_000)]).toEqual([
      'a minute',
      '90 s',
      '2 minutes',
    ]);
    expect(staleNote(2, 95_000, whole)).toBe('2 tasks without a heartbeat for over a minute (oldest 1m 35s)');
    expect(staleNote(1, 61_000, page2)).toBe(
      'On this page: 1 task without a heartbeat for over a minute (oldest 1m 01s). Other pages are checked only when shown.',
    );
    expect(failedNote(3, 3, whole)).toBe('');
    expect(failedNote(3, 3, page2)).toBe('');
    expect(failedNote(3, 41, page2)).toBe(
      '3 of 41 failed tasks shown: those on this page of the task table (tasks 101–200). Turn its pages to see the others.',
    );
    expect(failedNote(0, 41, page2)).toBe(
      '41 failed tasks in this run, none on this page of the task table (tasks 101–200). Turn its pages to see them.',
    );
  });
});
