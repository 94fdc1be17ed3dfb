// A `benchfleet` CLI child that a test talks to while it runs: waits for words on stderr, sends
// signals, and sees what it left behind (files in its TMPDIR, processes naming a path).
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalStack } from '../../lambdas/adapters/local/stack';
import type { TaskListResponse } from '../../lambdas/shared/contract';
import { ROOT } from './cli';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [join(ROOT, 'bin', 'benchfleet.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN', ...env },
    });
    this.child.stdout?.on('data', (d) => {
      this.stdout += d;
    });
    this.child.stderr?.on('data', (d) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => resolve({ code, signal })),
    );
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Resolves with the match once stderr has it; rejects (with stderr) if the CLI exits first. */
  async waitFor(pattern: RegExp, ms = 120_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    let gone = false;
    void this.exited.then(() => {
      gone = true;
    });
    for (;;) {
      const m = this.stderr.match(pattern);
      if (m) return m;
      if (gone || Date.now() > deadline)
        throw new Error(
          `${gone ? 'the CLI exited' : 'timed out'} before ${pattern}; stderr:\n${this.stderr}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** Ends it for good (test cleanup): SIGKILL to this child only. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Pids of the processes whose command line contains `text` (a temp path only one test uses). */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export async function eventually<T>(what: string, probe: () => T | undefined, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * After a quit of `benchfleet local --data-dir dir`: the runners reached the API before the
 * stand-ins went, so no task is left claimed or running, and the ones in flight were reported
 * `interrupted`. Reopens the data dir's stack to look.
 */
export async function expectInFlightTasksInterrupted(dataDir: string): Promise<void> {
  const stack = await startLocalStack({ dataDir, reaperIntervalS: 3600 });
  try {
    const page = (await (await fetch(`${stack.apiUrl}/run/tasks`)).json()) as TaskListResponse;
    const statuses = page.tasks.map((t) => t.status);
    expect(statuses).not.toContain('running');
    expect(statuses).not.toContain('claimed');
    expect(page.tasks.filter((t) => t.error_type === 'interrupted').length).toBeGreaterThan(0);
  } finally {
    await stack.stop();
  }
}
