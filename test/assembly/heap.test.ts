// The archive build's heap policy (lambdas/core/assembly/heap.ts) is a V8 flag set from code, which
// V8 cannot echo back and setFlagsFromString accepts silently even when V8 no longer knows it. Node
// refuses an unknown V8 flag on its command line, so that is where this Node's V8 is asked.
import { spawnSync } from 'node:child_process';
import { ARCHIVE_V8_FLAGS } from '../../lambdas/core/assembly/heap';

it('every flag of the archive heap policy is one this Node knows', () => {
  const flags = ARCHIVE_V8_FLAGS.split(/\s+/).filter(Boolean);
  expect(flags.length).toBeGreaterThan(0);
  const r = spawnSync(process.execPath, [...flags, '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' });
  expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({
    status: 0,
    stderr: '',
    stdout: 'ok',
  });
});

it('a misspelt flag would be caught the same way', () => {
  const r = spawnSync(process.execPath, ['--heap-growing-percentt=400', '-e', '0'], { encoding: 'utf8' });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/bad option/);
});
