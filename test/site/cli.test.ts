import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { register } from '../../cli/commands/site';
import { standardRun, tempDir } from './helpers/run-folder';

async function runCli(args: string[]): Promise<{ out: string; err: string; code: number | undefined }> {
  const program = new Command().exitOverride();
  register(program);
  const out: string[] = [];
  const err: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((s) => out.push(String(s)) > 0);
  const log = jest.spyOn(console, 'log').mockImplementation((s) => out.push(`${s}\n`));
  const warn = jest.spyOn(console, 'warn').mockImplementation((s) => err.push(`${s}\n`));
  const error = jest.spyOn(console, 'error').mockImplementation((s) => err.push(`${s}\n`));
  // a code left by another suite of this worker must not be read as this command's
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'benchfleet', 'site', ...args]);
    return { out: out.join(''), err: err.join(''), code: process.exitCode as number | undefined };
  } finally {
    for (const spy of [write, log, warn, error]) spy.mockRestore();
    process.exitCode = undefined;
  }
}

describe('benchfleet site', () => {
  it('builds the site and prints {outDir, indexHtml, warnings} with --json', async () => {
    const dir = standardRun();
    const out = join(tempDir(), 'www');
    const res = await runCli([dir, '--out', out, '--baseline', 'c7a.large', '--json']);
    expect(JSON.parse(res.out)).toEqual({
      outDir: out,
      indexHtml: join(out, 'index.html'),
      warnings: [expect.stringMatching(/^ruby: every type is ranked on 3 of the 4 benchmarks/)],
    });
    expect(existsSync(join(out, 'index.html'))).toBe(true);
    expect(res.code).toBeUndefined();
  });

  it('says where the site is and lists the problems it found', async () => {
    const dir = standardRun();
    const res = await runCli([dir, '--baseline', 'nope']);
    expect(res.out).toBe(`site written to ${join(dir, 'site', 'index.html')}\n`);
    expect(res.err).toBe(
      '2 problem(s) with the results, also listed on the page:\n' +
        '  - ruby: every type is ranked on 3 of the 4 benchmarks, because c8g.large lacks binarytrees (failed or not run there); without c8g.large the others would be compared on all 4\n' +
        '  - ruby: the baseline nope has no results; used the slowest type, m5.large\n',
    );
  });

  it('exits 1 with a message when the folder does not exist', async () => {
    const res = await runCli([join(tempDir(), 'missing')]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^benchfleet site: cannot read the results folder .*missing: ENOENT/);
  });
});
