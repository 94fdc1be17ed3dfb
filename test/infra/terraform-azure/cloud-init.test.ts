// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these are HCL and templatefile expressions, not JS templates
// The runner VMs' cloud-init, rendered as runners.tf renders it, and its scripts run in bash with
// fake node/curl/systemctl: the runner starts with exactly the agreed flags, every value survives
// shell quoting, benchfleet-deallocate calls ARM for the VM's own id, and the VM's maximum life
// (benchfleet-max-life.timer) is armed first and ends the VM through benchfleet-deallocate.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectDeadlineAfterBoot, timespanSeconds, verifyUnits } from '../../helpers/systemd-units';
import {
  type Block,
  fakeBin,
  loadModule,
  RECORD_ARGS,
  recordedCalls,
  renderTemplate,
  runScript,
  shq,
  TEMPLATE,
  templateNames,
  writeFiles,
} from './module';

const template = readFileSync(TEMPLATE, 'utf8');

// Values chosen to break naive quoting: quotes, spaces, $, backticks, &, ; and a backslash.
const SAMPLE = {
  api_url: 'https://api.example.test/prod',
  api_key: `it's a key "with" $HOME \`id\` ; & \\ end`,
  run_id: '1732400000',
  runner_artifact_url: "https://bucket.s3.amazonaws.com/runner.js?X-Amz-Signature=ab'cd&X-Amz-Expires=3600",
  node_version: '22.12.0',
  slots: 'auto',
  max_vm_hours: '5',
  max_vm_minutes: '300',
  instance_type: 'Standard_D2pls_v6',
};

// The same transformation runners.tf applies to every template input.
const render = (values: Record<string, string> = SAMPLE): string =>
  renderTemplate(template, Object.fromEntries(Object.entries(values).map(([k, v]) => [k, shq(v)])));

let runnerVm: Block;
let runnerValues: Block;
beforeAll(async () => {
  const mod = await loadModule();
  runnerVm = mod.resources.azurerm_linux_virtual_machine?.runner ?? {};
  runnerValues = mod.locals.runner_values;
});

describe('cloud-init template inputs', () => {
  it('is rendered by runners.tf with every input shell-quoted', () => {
    expect(runnerVm.custom_data).toBe(
      '${base64encode(templatefile("${path.module}/cloud-init.yaml.tftpl", {\n' +
        `    for k, v in merge(local.runner_values, { instance_type = each.value }) : k => "'\${replace(v, "'", "'\\\\''")}'"\n` +
        '  }))}',
    );
    // The HCL escape "'\\''" is the four characters '\'' that shq() inserts.
    expect(shq("a'b")).toBe(`'a'\\''b'`);
  });

  it('interpolates exactly the inputs runners.tf gives it, as plain names', () => {
    expect(templateNames(template)).toEqual([...Object.keys(runnerValues), 'instance_type'].sort());
    expect(Object.keys(SAMPLE).sort()).toEqual(templateNames(template));
    expect(runnerValues.api_key).toBe('${var.api_key}');
    expect(runnerValues.run_id).toBe('${tostring(var.run_id)}');
    expect(runnerValues.max_vm_hours).toBe('${tostring(var.max_vm_hours)}');
    // whole minutes, rounded as the AWS fleet's maxVmMinutes() rounds (Math.round)
    expect(runnerValues.max_vm_minutes).toBe('${tostring(floor(var.max_vm_hours * 60 + 0.5))}');
    expect(() => render()).not.toThrow();
  });

  it('puts each value on exactly one line, so the YAML around it stays intact', () => {
    const rendered = render();
    expect(rendered.split('\n')).toHaveLength(template.split('\n').length);
    expect(rendered.startsWith('#cloud-config\n')).toBe(true);
    expect(Object.keys(writeFiles(rendered)).sort()).toEqual([
      '/etc/systemd/system/benchfleet-deallocate.service',
      '/etc/systemd/system/benchfleet-max-life.service',
      '/etc/systemd/system/benchfleet-runner.service',
      '/opt/benchfleet/install.sh',
      '/opt/benchfleet/max-life-timer.sh',
      '/opt/benchfleet/start-runner.sh',
      '/usr/local/bin/benchfleet-deallocate',
      '/usr/local/bin/benchfleet-max-life',
    ]);
  });
});

describe('the runner service', () => {
  const files = (): Record<string, string> => writeFiles(render());

  it('starts the runner with exactly the agreed flags and environment', () => {
    const { dir, env } = fakeBin({
      node: `printf '%s\\0' "$@" > "$FAKE_OUT/args"; env -0 > "$FAKE_OUT/env"`,
    });
    const run = runScript(dir, env, files()['/opt/benchfleet/start-runner.sh'] ?? '');
    expect(run).toMatchObject({ status: 0, stderr: '' });
    const args = readFileSync(`${dir}/args`, 'utf8').split('\0').slice(0, -1);
    expect(args).toEqual([
      '/opt/benchfleet/runner.js',
      '--provider',
      'azure',
      '--instance-type',
      'Standard_D2pls_v6',
      '--slots',
      'auto',
      '--shutdown-on-done',
      '--shutdown-command',
      '/usr/local/bin/benchfleet-deallocate',
    ]);
    const vars = Object.fromEntries(
      readFileSync(`${dir}/env`, 'utf8')
        .split('\0')
        .filter((kv) => kv.startsWith('BENCHFLEET_'))
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    expect(vars).toEqual({
      BENCHFLEET_API_URL: SAMPLE.api_url,
      BENCHFLEET_API_KEY: SAMPLE.api_key,
      BENCHFLEET_RUN_ID: SAMPLE.run_id,
    });
  });

  it('deallocates the VM once the runner has crash-looped past its start limit', () => {
    const unit = (files()['/etc/systemd/system/benchfleet-runner.service'] ?? '').split('\n');
    // ... and only then: its exit after a SIGTERM (143) or SIGINT (130) is a clean stop
    for (const line of [
      'StartLimitIntervalSec=1d',
      'StartLimitBurst=5',
      'Restart=on-failure',
      'SuccessExitStatus=130 143',
      // the OOM killer picks a benchmark's process before the runner's
      'OOMScoreAdjust=-500',
    ]) {
      expect(unit).toContain(line);
    }
    // OnFailure= belongs to [Unit]: under [Service] systemd would ignore it.
    const unitSection = unit.slice(0, unit.indexOf('[Service]'));
    expect(unitSection).toContain('OnFailure=benchfleet-deallocate.service');
    const onFailure = (files()['/etc/systemd/system/benchfleet-deallocate.service'] ?? '').split('\n');
    const service = onFailure.slice(onFailure.indexOf('[Service]'));
    expect(service).toContain('Type=oneshot');
    expect(service).toContain('ExecStart=/usr/local/bin/benchfleet-deallocate');
    // Not enabled at boot: only the runner's failure starts it.
    expect(onFailure.join('\n')).not.toContain('[Install]');
    expect(render()).not.toMatch(/enable[^\n]*benchfleet-deallocate\.service/);
  });

  it("passes the plan's slot mode when it is cores", () => {
    const script = writeFiles(render({ ...SAMPLE, slots: 'cores' }))['/opt/benchfleet/start-runner.sh'] ?? '';
    expect(script).toContain(" --slots 'cores' --shutdown-on-done ");
  });

  it('runs as a systemd unit that logs to the journal and is enabled at boot', () => {
    const unit = files()['/etc/systemd/system/benchfleet-runner.service'] ?? '';
    for (const line of [
      'ExecStart=/opt/benchfleet/start-runner.sh',
      'StandardOutput=journal',
      'StandardError=journal',
      'Requires=docker.service',
      'WantedBy=multi-user.target',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
    // SIGKILL 90 s after SIGTERM, well after the runner's stop deadline (STOP_TOTAL_S)
    const service = unit.split('\n').slice(unit.split('\n').indexOf('[Service]'));
    expect(service).toContain('TimeoutStopSec=90');
  });

  // The runcmd line that enables docker and the runner, run in sh with a fake systemctl (and the
  // deallocate script at a fake path): docker.io missing must not leave a VM billing, idle.
  const enableLine = (): string => {
    const line = render()
      .split('\n')
      .find((l) => l.includes('enable --now docker.service benchfleet-runner.service'));
    const command = /^ {2}- \[sh, -c, "(.*)"\]$/.exec(line ?? '')?.[1];
    if (!command) throw new Error(`no sh -c runcmd enables the runner: ${line}`);
    return command;
  };
  const runEnable = (systemctl: string) => {
    const { dir, env } = fakeBin({ systemctl, deallocate: RECORD_ARGS });
    const script = enableLine().replaceAll('/usr/local/bin/benchfleet-deallocate', `${dir}/bin/deallocate`);
    return { run: spawnSync('sh', ['-c', script], { env, encoding: 'utf8' }), calls: recordedCalls(dir) };
  };

  it('enables docker and the runner at boot', () => {
    const { run, calls } = runEnable(RECORD_ARGS);
    expect(run.status).toBe(0);
    expect(calls.map((c) => c.join(' '))).toEqual([
      'systemctl enable --now docker.service benchfleet-runner.service',
    ]);
  });

  it('deallocates the VM when docker or the runner cannot be started', () => {
    const { run, calls } = runEnable(`${RECORD_ARGS}\nexit 5`);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('benchfleet: the runner could not be started');
    expect(calls.at(-1)?.[0]).toBe('deallocate');
  });

  const aptCall = (...args: string[]): string[] => [
    'timeout',
    '1200',
    'apt-get',
    '-q',
    '-o',
    'DPkg::Lock::Timeout=600',
    '-o',
    'Acquire::Retries=3',
    ...args,
  ];

  it('installs Docker and Node.js for the machine and downloads the runner from the exact artifact URL', () => {
    const { dir, env } = fakeBin({
      timeout: RECORD_ARGS,
      curl: RECORD_ARGS,
      tar: 'cat > /dev/null',
      ln: RECORD_ARGS,
      mkdir: ':',
      uname: 'echo aarch64',
    });
    const run = runScript(dir, env, files()['/opt/benchfleet/install.sh'] ?? '');
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(recordedCalls(dir)).toEqual([
      aptCall('update'),
      aptCall('install', '-y', 'docker.io', 'curl', 'xz-utils'),
      ['curl', '-fsSL', '--retry', '5', 'https://nodejs.org/dist/v22.12.0/node-v22.12.0-linux-arm64.tar.xz'],
      ['ln', '-sf', '/opt/node/bin/node', '/usr/local/bin/node'],
      ['curl', '-fsSL', '--retry', '5', '-o', '/opt/benchfleet/runner.js', SAMPLE.runner_artifact_url],
    ]);
  });

  it('stops at an apt step that fails or runs out of time (timeout exits 124), so the VM deallocates', () => {
    const { dir, env } = fakeBin({
      timeout: `${RECORD_ARGS}
case "$*" in *install*) exit 124 ;; esac`,
      curl: RECORD_ARGS,
    });
    const run = runScript(dir, env, files()['/opt/benchfleet/install.sh'] ?? '');
    expect(run.status).toBe(124);
    // nothing after it: runcmd sees the failure and runs benchfleet-deallocate
    expect(recordedCalls(dir).map((c) => c.slice(0, 3).concat(c.slice(8, 9)))).toEqual([
      ['timeout', '1200', 'apt-get', 'update'],
      ['timeout', '1200', 'apt-get', 'install'],
    ]);
  });
});

describe('benchfleet-deallocate', () => {
  const script = (): string => writeFiles(render())['/usr/local/bin/benchfleet-deallocate'] ?? '';
  // IMDS answers as Azure's does; ARM's deallocate answers 202 unless FAIL_ARM is set.
  const imdsCurl = `${RECORD_ARGS}
case "$*" in
  *oauth2/token*) printf '{"access_token":"tok-123","expires_in":"86399","token_type":"Bearer"}' ;;
  *compute/subscriptionId*) printf 'sub-1' ;;
  *compute/resourceGroupName*) printf 'benchfleet-1732400000' ;;
  *compute/name*) printf 'bf-1732400000-d2pls-v6-1' ;;
  *management.azure.com*) [ -z "$FAIL_ARM" ] || exit 22 ;;
  *) exit 7 ;;
esac`;

  it("deallocates the VM it runs on through ARM, with the managed identity's token", () => {
    const { dir, env } = fakeBin({ curl: imdsCurl, sleep: RECORD_ARGS, systemctl: RECORD_ARGS });
    const run = runScript(dir, { ...env, FAIL_ARM: '' }, script());
    expect(run.status).toBe(0);
    const calls = recordedCalls(dir);
    expect(calls[0]?.at(-1)).toBe(
      'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F',
    );
    expect(calls.at(-1)).toEqual([
      'curl',
      '-fsS',
      '-X',
      'POST',
      '-H',
      'Authorization: Bearer tok-123',
      '-H',
      'Content-Length: 0',
      'https://management.azure.com/subscriptions/sub-1/resourceGroups/benchfleet-1732400000/providers/Microsoft.Compute/virtualMachines/bf-1732400000-d2pls-v6-1/deallocate?api-version=2024-07-01',
    ]);
    expect(calls.filter((c) => c[0] !== 'curl')).toEqual([]);
    for (const c of calls.slice(0, -1)) expect(c).toContain('Metadata:true');
  });

  it('retries while the role assignment propagates, then powers off rather than idle', () => {
    const { dir, env } = fakeBin({ curl: imdsCurl, sleep: RECORD_ARGS, systemctl: RECORD_ARGS });
    const run = runScript(dir, { ...env, FAIL_ARM: 'yes' }, script());
    const calls = recordedCalls(dir);
    // Azure documents up to 10 minutes for a role assignment to take effect: about 30 minutes
    expect(calls.filter((c) => c[0] === 'curl' && c.at(-1)?.includes('/deallocate?'))).toHaveLength(60);
    expect(calls.filter((c) => c[0] === 'sleep')).toHaveLength(60);
    expect(calls.filter((c) => c[0] === 'sleep').every((c) => c[1] === '30')).toBe(true);
    expect(calls.at(-1)).toEqual(['systemctl', 'poweroff']);
    expect(run.stderr).toContain('giving up, powering off instead');
  });
});

describe("the VM's maximum life", () => {
  const files = (values: Record<string, string> = SAMPLE): Record<string, string> =>
    writeFiles(render(values));
  const runcmd = (): string[] => {
    const lines = render().split('\n');
    return lines.slice(lines.indexOf('runcmd:') + 1).filter((l) => l.startsWith('  - '));
  };
  /** The runcmd line that arms the timer, its sh -c command with the given paths swapped. */
  const armLine = (swap: Record<string, string>): string => {
    const command = /^ {2}- \[sh, -c, "(.*)"\]$/.exec(runcmd()[0] ?? '')?.[1] ?? '';
    return Object.entries(swap).reduce((c, [from, to]) => c.replaceAll(from, to), command);
  };

  it('is armed by the first runcmd step, before Docker, Node.js and the runner', () => {
    expect(runcmd()[0]).toContain('bash /opt/benchfleet/max-life-timer.sh');
    expect(runcmd().findIndex((l) => l.includes('install.sh'))).toBe(1);
    // cloud-init's package modules run before runcmd: an apt that hung there would come first
    expect(render()).not.toMatch(/^(packages|package_update|package_upgrade|apt):/m);
  });

  it('arms a timer that fires max_vm_hours after boot, as systemd reads it', () => {
    const { dir, env } = fakeBin({ systemctl: RECORD_ARGS });
    const units = join(dir, 'units');
    mkdirSync(units);
    const script = (files()['/opt/benchfleet/max-life-timer.sh'] ?? '').replaceAll(
      '/etc/systemd/system',
      units,
    );
    expect(runScript(dir, env, script)).toMatchObject({ status: 0, stderr: '' });
    expect(recordedCalls(dir).map((c) => c.join(' '))).toEqual([
      'systemctl daemon-reload',
      'systemctl enable --now benchfleet-max-life.timer',
    ]);
    const timer = readFileSync(join(units, 'benchfleet-max-life.timer'), 'utf8').split('\n');
    expect(timer).toContain('OnBootSec=300 min');
    // a reboot restarts OnBootSec's count; the deadline from the first boot holds across it
    expectDeadlineAfterBoot(timer, 300);
    expect(timer).toContain('WantedBy=timers.target');
    expect(timer).toContain(
      'Description=Benchfleet: deallocate this VM 5 h after its first boot, whatever its runner is doing',
    );
    // no Unit=: it starts the service of its own name, written by write_files
    expect(timer.filter((l) => l.startsWith('Unit='))).toEqual([]);
    const service = (files()['/etc/systemd/system/benchfleet-max-life.service'] ?? '').split('\n');
    for (const line of [
      'Type=oneshot',
      'ExecStart=/usr/local/bin/benchfleet-max-life',
      'StandardOutput=journal+console',
      'StandardError=journal+console',
    ])
      expect(service).toContain(line);
    // Where systemd is installed, its parser has the last word on both units and the delay.
    const end = join(dir, 'benchfleet-max-life');
    writeFileSync(end, '#!/bin/sh\n');
    chmodSync(end, 0o755);
    writeFileSync(
      join(units, 'benchfleet-max-life.service'),
      service.join('\n').replace('/usr/local/bin/benchfleet-max-life', end),
    );
    const verified = verifyUnits([
      join(units, 'benchfleet-max-life.timer'),
      join(units, 'benchfleet-max-life.service'),
    ]);
    if (verified) expect(verified).toEqual({ status: 0, output: '' });
    const delay = timespanSeconds('300 min');
    if (delay !== undefined) expect(delay).toBe(5 * 3600);
  });

  it('follows a fractional max_vm_hours in whole minutes', () => {
    const { dir, env } = fakeBin({ systemctl: ':' });
    mkdirSync(join(dir, 'units'));
    const script = (
      files({ ...SAMPLE, max_vm_hours: '2.5', max_vm_minutes: '150' })['/opt/benchfleet/max-life-timer.sh'] ??
      ''
    ).replaceAll('/etc/systemd/system', join(dir, 'units'));
    expect(runScript(dir, env, script).status).toBe(0);
    const timer = readFileSync(join(dir, 'units', 'benchfleet-max-life.timer'), 'utf8');
    expect(timer).toContain('OnBootSec=150 min\n');
    expectDeadlineAfterBoot(timer.split('\n'), 150);
    expect(timer).toContain('this VM 2.5 h after its first boot');
  });

  it('says why on the console and the journal, then deallocates the VM whatever the runner is doing', () => {
    const { dir, env } = fakeBin({
      systemctl: `${RECORD_ARGS}\necho active`,
      deallocate: RECORD_ARGS,
    });
    const script = (files()['/usr/local/bin/benchfleet-max-life'] ?? '').replaceAll(
      '/usr/local/bin/benchfleet-deallocate',
      `${dir}/bin/deallocate`,
    );
    const run = runScript(dir, env, script);
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(run.stdout).toBe(
      'benchfleet: this VM reached its maximum life of 5 h (run 1732400000, Standard_D2pls_v6; set by benchfleet start --max-vm-hours) and is still up (benchfleet-runner.service: active): deallocating it now\n',
    );
    // (a call without arguments is recorded with one empty one)
    expect(recordedCalls(dir).map((c) => c.join(' ').trim())).toEqual([
      'systemctl is-active benchfleet-runner.service',
      'deallocate',
    ]);
  });

  it('deallocates the VM at once when the timer cannot be armed', () => {
    const { dir, env } = fakeBin({ deallocate: RECORD_ARGS });
    writeFileSync(join(dir, 'arm.sh'), 'echo no systemd >&2; exit 1\n');
    const line = armLine({
      '/opt/benchfleet/max-life-timer.sh': join(dir, 'arm.sh'),
      '/usr/local/bin/benchfleet-deallocate': `${dir}/bin/deallocate`,
    });
    const run = spawnSync('sh', ['-c', line], { env, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('benchfleet: the maximum-life timer could not be armed');
    expect(recordedCalls(dir).map((c) => c[0])).toEqual(['deallocate']);
  });

  it('keeps going when the timer is armed', () => {
    const { dir, env } = fakeBin({ deallocate: RECORD_ARGS });
    writeFileSync(join(dir, 'arm.sh'), 'exit 0\n');
    const line = armLine({
      '/opt/benchfleet/max-life-timer.sh': join(dir, 'arm.sh'),
      '/usr/local/bin/benchfleet-deallocate': `${dir}/bin/deallocate`,
    });
    expect(spawnSync('sh', ['-c', line], { env, encoding: 'utf8' }).status).toBe(0);
    expect(recordedCalls(dir)).toEqual([]);
  });
});
