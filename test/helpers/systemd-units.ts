// Unit files checked by systemd's own parser where this machine has one (`systemd-analyze verify`
// reads unit files without a running systemd), as `terraform fmt` is where terraform exists: a
// typo in a directive is silently ignored by systemd at boot, so the timer would never fire.
import { spawnSync } from 'node:child_process';

export const hasSystemdAnalyze =
  spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

/** What `systemd-analyze verify` says of the files (empty: nothing), or undefined without it. */
export function verifyUnits(files: string[]): { status: number | null; output: string } | undefined {
  if (!hasSystemdAnalyze) return undefined;
  const r = spawnSync('systemd-analyze', ['verify', ...files], {
    encoding: 'utf8',
    // no pager, no colours; a unit's dependencies outside the given files are not its problem here
    env: { ...process.env, SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** A systemd time span in seconds as systemd parses it (`300 min` -> 18000), or undefined without it. */
export function timespanSeconds(value: string): number | undefined {
  if (!hasSystemdAnalyze) return undefined;
  const r = spawnSync('systemd-analyze', ['timespan', value], { encoding: 'utf8' });
  const us = /μs: (\d+)/.exec(r.stdout)?.[1];
  if (r.status !== 0 || us === undefined)
    throw new Error(`systemd cannot parse the time span ${value}: ${r.stderr}`);
  return Number(us) / 1e6;
}
