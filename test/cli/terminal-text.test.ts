// Text from runners and results folders reaches the terminal without its control characters: an
// escape sequence in a benchmark name or an error message must not recolour or move the terminal,
// and a line break must not split a one-line entry.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { taskLine } from '../../cli/lib/progress';
import { forTerminal } from '../../cli/lib/terminal';
import type { TaskView } from '../../lambdas/shared/contract';
import { runCli } from '../helpers/cli';

const ESC = '\u001b';

it('turns line breaks into " / " and other control characters into "?", keeping the rest', () => {
  expect(forTerminal(`red ${ESC}[31mtext${ESC}[0m\r\nnext\tline\u0007 \u009b é ✓`)).toBe(
    'red ?[31mtext?[0m / next line? ? é ✓',
  );
});

it("keeps a runner's escape sequences out of the progress lines", () => {
  const task = {
    id: 7,
    instance_type: 'c7g.large',
    run: 1,
    status: 'running',
    heartbeat_status: 'running',
    current_benchmark: `fib${ESC}]0;owned${ESC}\\\n`,
    progress_pct: 50,
    heartbeat_at: new Date(0).toISOString(),
    claimed_at: new Date(0).toISOString(),
  } as unknown as TaskView;
  const line = taskLine(task, new Date(1000));
  expect(line).not.toMatch(/\p{Cc}/u);
  expect(line).toContain('fib?]0;owned?\\ / ');
});

it("keeps a results folder name's escape sequences out of `site`'s warnings", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bf-term-'));
  try {
    const results = join(dir, '42');
    mkdirSync(join(results, `bad${ESC}[2Jname`), { recursive: true });
    writeFileSync(join(results, 'manifest.json'), '{ not json');
    const out = await runCli(['site', results]);
    expect(out.stderr).toContain('problem(s) with the results');
    expect(out.stderr).toContain('bad?[2Jname');
    expect(out.stderr).not.toContain(ESC);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
