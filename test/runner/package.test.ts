import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunnerMeta } from '../../lambdas/shared/contract';
import { findOutputs, packError, packResult } from '../../runner/package';
import { tempDir } from '../helpers/temp-dir';
import { untar } from './fake-api';

const meta = { runner_id: 'h-0', task_id: 1 } as unknown as RunnerMeta;

function dirWith(files: Record<string, string>): string {
  const d = tempDir('bf-pkg-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(d, name, '..'), { recursive: true });
    writeFileSync(join(d, name), text);
  }
  return d;
}

describe('packaging', () => {
  it("picks ruby-bench's newest output_NNN set, or output.* from --out-name", async () => {
    const d = dirWith({
      'output_001.txt': 'a',
      'output_002.txt': 'b',
      'output_002.json': '{}',
      'other.txt': '',
    });
    expect(await findOutputs(d)).toEqual({
      txt: join(d, 'output_002.txt'),
      json: join(d, 'output_002.json'),
    });
    const n = dirWith({ 'output.txt': 'a', 'output.csv': 'c' });
    expect(await findOutputs(n)).toEqual({ txt: join(n, 'output.txt'), csv: join(n, 'output.csv') });
    expect(await findOutputs(join(n, 'missing'))).toEqual({});
  });

  it('renames the outputs and adds meta.json and logs/, empty logs included', async () => {
    const d = dirWith({
      'out/output_003.txt': 'table',
      'out/output_003.csv': 'csv',
      'logs/stdout.log': 'so',
      'logs/stderr.log': '',
    });
    const dest = join(d, 'result.tar.gz');
    await packResult(await findOutputs(join(d, 'out')), meta, join(d, 'logs'), dest);
    const files = await untar(readFileSync(dest));
    expect(Object.fromEntries(files)).toEqual({
      'output.txt': 'table',
      'output.csv': 'csv',
      'meta.json': `${JSON.stringify(meta, null, 2)}\n`,
      'logs/stderr.log': '',
      'logs/stdout.log': 'so',
    });
  });

  it('puts only meta.json and logs/ in error.tar.gz', async () => {
    const d = dirWith({ 'logs/stdout.log': 'so' });
    await packError(meta, join(d, 'logs'), join(d, 'error.tar.gz'));
    expect([...(await untar(readFileSync(join(d, 'error.tar.gz')))).keys()]).toEqual([
      'meta.json',
      'logs/stdout.log',
    ]);
  });

  it('rejects with the disk error when the tarball cannot be written', async () => {
    const d = dirWith({ 'logs/stdout.log': 'x'.repeat(100_000) });
    await expect(packError(meta, join(d, 'logs'), '/dev/full')).rejects.toMatchObject({ code: 'ENOSPC' });
  });
});
