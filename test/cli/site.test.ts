// `benchfleet site` options the CLI checks itself (the site builder's own cases are in test/site/).
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { register } from '../../cli/commands/site';

async function site(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const program = new Command().exitOverride();
  register(program);
  const out: string[] = [];
  const err: string[] = [];
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation((s) => out.push(String(s)) > 0),
    jest.spyOn(console, 'log').mockImplementation((s) => out.push(`${s}\n`)),
    jest.spyOn(console, 'warn').mockImplementation((s) => err.push(`${s}\n`)),
    jest.spyOn(console, 'error').mockImplementation((s) => err.push(`${s}\n`)),
  ];
  try {
    await program.parseAsync(['node', 'benchfleet', 'site', ...args]);
    return { code: Number(process.exitCode ?? 0), out: out.join(''), err: err.join('') };
  } finally {
    for (const spy of spies) spy.mockRestore();
    process.exitCode = undefined;
  }
}

const resultsFolder = (): string => mkdtempSync(join(tmpdir(), 'bf-site-cli-'));

it('fails, naming the file, when the --prices file cannot be read, and builds nothing', async () => {
  const dir = resultsFolder();
  const missing = join(dir, 'no-such-prices.json');
  const res = await site([dir, '--prices', missing]);
  expect(res.code).toBe(1);
  expect(res.err).toMatch(/^benchfleet site: cannot read the price file .*no-such-prices\.json \(ENOENT/);
  expect(res.out).toBe('');
  expect(existsSync(join(dir, 'site'))).toBe(false);
});

it('reads a --prices file that exists, and needs none by default', async () => {
  const dir = resultsFolder();
  const prices = join(dir, 'prices.json');
  writeFileSync(prices, '{"a": 0.1}\n');
  expect((await site([dir, '--prices', prices, '--json'])).code).toBe(0);
  expect((await site([dir, '--json'])).code).toBe(0);
});
