// The AWS runner VMs' maximum life (--max-vm-hours): the fleet stack's user data arms a systemd
// timer before anything that could hang, and its lines, run in bash with fake systemctl/shutdown,
// write units that systemd itself accepts and a script that says why, then powers the VM off.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { FALLBACK_MAX_VM_HOURS } from '../../../lambdas/shared/vm-life';
import { parseFleetPlan } from '../../../lib/fleet/fleet-plan-file';
import { maxLifeLines, runnerBootScript } from '../../../lib/fleet/user-data';
import { FleetStack } from '../../../lib/fleet-stack';
import { fakeBin, RECORD_ARGS, recordedCalls, runScript } from '../../helpers/fake-bin';
import { expectDeadlineAfterBoot, timespanSeconds, verifyUnits } from '../../helpers/systemd-units';
import { FLEET_FIXTURE, resourcesOf, testApp } from './helpers';

const fleet = { ...FLEET_FIXTURE, maxVmHours: 7.5 };

/** The boot script of each instance, by instance type, as the synthesized template holds it. */
function userData(template: Template): Record<string, string> {
  return Object.fromEntries(
    Object.values(resourcesOf(template, 'AWS::EC2::Instance')).map((i) => {
      const body = (i.Properties?.UserData as { 'Fn::Base64'?: unknown } | undefined)?.['Fn::Base64'];
      const text =
        typeof body === 'string'
          ? body
          : ((body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1] ?? [])
              .map((p) => (typeof p === 'string' ? p : JSON.stringify(p)))
              .join('');
      return [String(i.Properties?.InstanceType), text];
    }),
  );
}

describe('the fleet stack', () => {
  it("arms each VM's timer from the plan file, first thing, naming its own type in the message", () => {
    const scripts = userData(Template.fromStack(new FleetStack(testApp(), 'BenchfleetFleet', { fleet })));
    expect(Object.keys(scripts).sort()).toEqual(['c7a.large', 'c7g.large']);
    for (const [type, script] of Object.entries(scripts)) {
      const lines = script.split('\n');
      expect(lines).toContain('OnBootSec=450min');
      expect(lines).toContain('OnCalendar=$deadline');
      const armed = lines.indexOf('systemctl enable --now benchfleet-max-life.timer');
      // before the package installs and downloads a boot could hang in, and before the runner
      expect(armed).toBeGreaterThan(0);
      expect(armed).toBeLessThan(lines.indexOf('dnf install -y docker'));
      expect(script).toContain(
        `benchfleet: this VM reached its maximum life of 7.5 h (run ${fleet.runId}, ${type}; set by benchfleet start --max-vm-hours)`,
      );
    }
  });

  it('falls back to a day for a plan file written before --max-vm-hours existed', () => {
    expect(FALLBACK_MAX_VM_HOURS).toBe(24);
    const script = runnerBootScript({ fleet: FLEET_FIXTURE, instanceType: 'c7g.large' });
    expect(script).toContain('OnBootSec=1440min');
    expect(parseFleetPlan(FLEET_FIXTURE).maxVmHours).toBeUndefined();
  });

  it('takes only the bounds of --max-vm-hours from the plan file', () => {
    for (const good of [1, 2.5, 168])
      expect(parseFleetPlan({ ...fleet, maxVmHours: good }).maxVmHours).toBe(good);
    for (const bad of [0, 0.5, -3, 169, '5', null]) {
      expect(() => parseFleetPlan({ ...fleet, maxVmHours: bad })).toThrow(/maxVmHours/);
    }
  });
});

describe('the timer lines, run in bash', () => {
  /** maxLifeLines() with the system paths moved into a scratch folder, then run under set -e. */
  function arm(hours: number, shutdown = RECORD_ARGS) {
    const { dir, env } = fakeBin({
      systemctl: `${RECORD_ARGS}\n[ "$1" = is-active ] && echo active; exit 0`,
      shutdown,
    });
    const swap = (text: string): string =>
      text
        .replaceAll('/etc/systemd/system', join(dir, 'units'))
        .replaceAll('/usr/local/bin/benchfleet-max-life', join(dir, 'benchfleet-max-life'))
        .replaceAll('/var/log/benchfleet-boot.log', join(dir, 'boot.log'));
    const lines = maxLifeLines({ fleet: { ...fleet, maxVmHours: hours }, instanceType: 'c7g.large' });
    const run = runScript(
      dir,
      env,
      ['set -euo pipefail', `mkdir -p ${dir}/units`, ...lines.map(swap)].join('\n'),
    );
    return { dir, env, run, unit: (name: string) => readFileSync(join(dir, 'units', name), 'utf8') };
  }

  it('writes a timer and a service that systemd accepts, and enables the timer', () => {
    const { dir, run, unit } = arm(7.5);
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(recordedCalls(dir).map((c) => c.join(' '))).toEqual([
      'systemctl daemon-reload',
      'systemctl enable --now benchfleet-max-life.timer',
    ]);
    const timer = unit('benchfleet-max-life.timer').split('\n');
    expect(timer).toContain('OnBootSec=450min');
    // a reboot restarts OnBootSec's count; the deadline from the first boot holds across it
    expectDeadlineAfterBoot(timer, 450);
    expect(timer).toContain('WantedBy=timers.target');
    const service = unit('benchfleet-max-life.service').split('\n');
    for (const line of [
      'Type=oneshot',
      `ExecStart=${join(dir, 'benchfleet-max-life')}`,
      'StandardOutput=journal+console',
      'StandardError=journal+console',
    ])
      expect(service).toContain(line);
    // Where systemd is installed, its parser has the last word: an unknown directive or a bad time
    // span would be ignored at boot, and the timer would never fire.
    const verified = verifyUnits([
      join(dir, 'units', 'benchfleet-max-life.timer'),
      join(dir, 'units', 'benchfleet-max-life.service'),
    ]);
    if (verified) expect(verified).toEqual({ status: 0, output: '' });
    const delay = timespanSeconds('450min');
    if (delay !== undefined) expect(delay).toBe(7.5 * 3600);
  });

  it('says why in the journal, on the console and in the boot log, then powers the VM off', () => {
    const { dir, env, run } = arm(5);
    expect(run.status).toBe(0);
    const fired = runScript(dir, env, readFileSync(join(dir, 'benchfleet-max-life'), 'utf8'));
    const line = `benchfleet: this VM reached its maximum life of 5 h (run ${fleet.runId}, c7g.large; set by benchfleet start --max-vm-hours) and is still up (benchfleet-runner.service: active): powering off now, so EC2 terminates it\n`;
    // stdout is the journal and the serial console (StandardOutput=journal+console)
    expect(fired).toMatchObject({ status: 0, stdout: line, stderr: '' });
    expect(readFileSync(join(dir, 'boot.log'), 'utf8')).toBe(line);
    expect(
      recordedCalls(dir)
        .slice(2)
        .map((c) => c.join(' ')),
    ).toEqual(['systemctl is-active benchfleet-runner.service', 'shutdown -h now']);
  });

  it('forces the power-off when shutdown will not take it', () => {
    const { dir, env } = arm(5, `${RECORD_ARGS}\nexit 1`);
    runScript(dir, env, readFileSync(join(dir, 'benchfleet-max-life'), 'utf8'));
    expect(
      recordedCalls(dir)
        .slice(-2)
        .map((c) => c.join(' ')),
    ).toEqual(['shutdown -h now', 'systemctl poweroff --force']);
  });
});
