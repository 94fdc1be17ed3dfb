// A benchmark that floods its output keeps its result: each log file holds its first and last
// halves of LOG_CAP_BYTES with a line saying how much was cut, so the tarball stays small enough to
// pack and upload (it was the whole output, read into memory three times over, before).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { storageKeys } from '../../lambdas/shared/contract';
import { startRunner } from '../../runner/agent';
import { LOG_CAP_BYTES, openLogFiles } from '../../runner/executors/log-files';
import { createLogger } from '../../runner/log';
import { tempDir } from '../helpers/temp-dir';
import { FakeApi, untar } from './fake-api';
import { testRunner } from './helpers';

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

it('keeps the head and the tail of a log past its cap, and says how much was cut', async () => {
  const dir = tempDir('bf-log-cap-');
  const logs = openLogFiles(dir, createLogger({ json: false, write: () => undefined }), 10);
  for (const c of ['abc', 'defgh', 'ijklmnop', 'qrst', Buffer.from('uvwxyz')]) logs.out(c);
  logs.err('short');
  await logs.close();
  expect(readFileSync(join(dir, 'stdout.log'), 'utf8')).toBe(
    'abcde\n[benchfleet: 16 bytes of stdout.log cut here; it keeps the first 5 and the last 5 of 26 bytes]\nvwxyz',
  );
  expect(readFileSync(join(dir, 'stderr.log'), 'utf8')).toBe('short');
});

it('completes a task whose command writes more than the cap, with its logs capped', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  const half = 20_000_000; // whole lines (5 bytes), and each part alone is more than the cap
  const command = [
    `yes head | head -c ${half}`,
    `yes tail | head -c ${half}`,
    'echo END',
    'echo "fib 1.0" > "$BENCHFLEET_OUT_PATH/output_001.txt"',
  ].join('; ');
  const res = await startRunner(testRunner(api.url, { executor: 'command', command, slots: 1 }).input);
  expect(res.tasksCompleted).toBe(1);
  const t = api.tasks[0];
  const files = await untar(
    api.objects.get(storageKeys.result(t?.task.run_id ?? 0, t?.task.id ?? 0)) as Buffer,
  );
  const log = files.get('logs/stdout.log') ?? '';
  expect(files.get('output.txt')).toBe('fib 1.0\n');
  expect(log.length).toBeLessThan(LOG_CAP_BYTES + 200);
  expect(log.startsWith('head\nhead\n')).toBe(true);
  expect(log.endsWith('tail\ntail\nEND\n')).toBe(true);
  const cut = 2 * half + 4 - LOG_CAP_BYTES;
  expect(log).toContain(`\n[benchfleet: ${cut} bytes of stdout.log cut here;`);
}, 60_000);
