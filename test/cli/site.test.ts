// `benchfleet site` options the CLI checks itself (the site builder's own cases are in test/site/).
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { register } from '../../cli/commands/site';
import { tempDir } from '../helpers/temp-dir';

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
  // a code left by another suite of this worker must not be read as this command's
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'benchfleet', 'site', ...args]);
    return { code: Number(process.exitCode ?? 0), out: out.join(''), err: err.join('') };
  } finally {
    for (const spy of spies) spy.mockRestore();
    process.exitCode = undefined;
  }
}

const resultsFolder = (): string => tempDir('bf-site-cli-');

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
  writeFileSync(join(dir, 'manifest.json'), '{}');
  const prices = join(dir, 'prices.json');
  writeFileSync(prices, '{"a": 0.1}\n');
  expect((await site([dir, '--prices', prices, '--json'])).code).toBe(0);
  expect((await site([dir, '--json'])).code).toBe(0);
});

it('refuses a folder that holds no results, and points at the run folders inside it', async () => {
  const root = resultsFolder();
  const empty = await site([root]);
  expect(empty.code).toBe(1);
  expect(empty.err).toBe(
    `benchfleet site: ${root} holds no results: no manifest.json and no <instance_type>-<run>/ folder; point it at results/<run-id>\n`,
  );
  expect(existsSync(join(root, 'site'))).toBe(false);
  mkdirSync(join(root, '1700000001'));
  mkdirSync(join(root, '1700000002'));
  const parent = await site([root]);
  expect(parent.code).toBe(1);
  expect(parent.err).toContain(`it holds run folders: try \`benchfleet site ${join(root, '1700000002')}\``);
  // a run whose tasks all failed still has its manifest: built, with the builder's warning
  writeFileSync(join(root, 'manifest.json'), '{}');
  expect((await site([root])).code).toBe(0);
});

it('takes task folders that are symlinks to folders, as the builder reads them', async () => {
  const root = resultsFolder();
  const elsewhere = resultsFolder();
  mkdirSync(join(elsewhere, 'c7g.large-1'));
  symlinkSync(join(elsewhere, 'c7g.large-1'), join(root, 'c7g.large-1'));
  const built = await site([root, '--json']);
  expect(built.err).toBe('');
  expect(built.code).toBe(0);
  expect(existsSync(join(root, 'site', 'index.html'))).toBe(true);
});
