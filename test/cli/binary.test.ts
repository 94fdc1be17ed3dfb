// The real `benchfleet` binary (tsx, CommonJS), not the in-process harness: catches what jest's
// transform hides, such as a lazy load that only resolves under swc.
import { execFile } from 'node:child_process';
import { readdirSync, statSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/temp-dir';

const run = promisify(execFile);
const BIN = resolve(__dirname, '..', '..', 'bin', 'benchfleet.js');

it('loads the lazily required flows of nuke and start from the real binary', async () => {
  const dir = tempDir('bf-bin-');
  const env = { ...process.env, BENCHFLEET_STATE_DIR: join(dir, '.benchfleet') };
  const nuke = await run(process.execPath, [BIN, 'nuke', '--dry-run', '--no-aws', '--no-azure', '--json'], {
    env,
    cwd: dir,
  });
  expect(JSON.parse(nuke.stdout)).toMatchObject({ dry_run: true, found: [], left: [] });
  // Fails inside the flow (the config does not exist), which proves the flow module loaded.
  const start = await run(process.execPath, [BIN, 'start', '--config', join(dir, 'none.json')], {
    env,
    cwd: dir,
  }).catch((err: { code: number; stderr: string }) => err);
  expect(start).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('cannot read the config (no such file)'),
  });
});

it('runs under any name it is linked as (npm link, npx and global installs make a `benchfleet` symlink)', async () => {
  const dir = tempDir('bf-bin-');
  const linked = join(dir, 'benchfleet');
  symlinkSync(BIN, linked);
  const version = await run(linked, ['--version'], { cwd: dir });
  expect(version.stdout.trim()).toBe(require('../../package.json').version);
  const bad = await run(linked, ['local', '--bogus'], { cwd: dir }).catch(
    (err: { code: number; stderr: string }) => err,
  );
  expect(bad).toMatchObject({ code: 1, stderr: expect.stringContaining("unknown option '--bogus'") });
});

it("ends --help, --version and a usage error without cutting short tsx's compile cache", async () => {
  // tsx writes its cache (in TMPDIR) as the process winds down: a process.exit there left 0-byte
  // files that every later start compiled again, for all the CLI's modules
  for (const args of [['--help'], ['--version'], ['status', '--bogus']]) {
    const tmp = tempDir('bf-bin-tmp-');
    const r = await run(process.execPath, [BIN, ...args], { env: { ...process.env, TMPDIR: tmp } }).catch(
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect('code' in r ? r.code : 0).toBe(args[0] === 'status' ? 1 : 0);
    const files = readdirSync(tmp, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.length).toBeGreaterThan(50); // the CLI's modules, compiled once
    expect(files.filter((e) => statSync(join(e.parentPath, e.name)).size === 0).map((e) => e.name)).toEqual(
      [],
    );
  }
});
