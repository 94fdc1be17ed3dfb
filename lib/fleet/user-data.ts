// The boot script of an AWS runner VM (Amazon Linux 2023): install Docker and Node.js, fetch the
// runner bundle and the runner key with the instance role, start the runner under systemd.
// The key is read from Secrets Manager at boot rather than written into user data: user data is
// readable by anyone with ec2:DescribeInstanceAttribute and from inside the VM at any time.
import { imageFor } from '../../lambdas/shared/contract';
import { FALLBACK_MAX_VM_HOURS, maxVmMinutes } from '../../lambdas/shared/vm-life';
import type { FleetPlanFile } from './fleet-plan-file';

export interface RunnerBootOptions {
  readonly fleet: Pick<
    FleetPlanFile,
    | 'runId'
    | 'apiUrl'
    | 'runnerKeySecretArn'
    | 'artifactBucket'
    | 'artifactKey'
    | 'rubyVersion'
    | 'maxVmHours'
  >;
  readonly instanceType: string;
}

export const RUNNER_DIR = '/opt/benchfleet';
export const RUNNER_ENV_FILE = '/etc/benchfleet/runner.env';
export const RUNNER_UNIT = 'benchfleet-runner.service';
export const BOOT_LOG = '/var/log/benchfleet-boot.log';
export const MAX_LIFE_SCRIPT = '/usr/local/bin/benchfleet-max-life';
export const MAX_LIFE_TIMER = 'benchfleet-max-life.timer';

/** The runner's command line; the key comes from BENCHFLEET_API_KEY in the env file. */
export function runnerArgs(o: Pick<RunnerBootOptions, 'fleet' | 'instanceType'>): string[] {
  return [
    '--api',
    o.fleet.apiUrl,
    '--provider',
    'aws',
    '--instance-type',
    o.instanceType,
    '--run-id',
    String(o.fleet.runId),
    '--slots',
    'auto',
    '--shutdown-on-done',
  ];
}

/**
 * The VM's maximum life (--max-vm-hours, lambdas/shared/vm-life.ts): a systemd timer that powers
 * the VM off, so EC2 terminates it, that long after boot whatever the runner is doing (hung in a
 * Docker call, a claim loop that never ends), saying why in the journal, on the serial console
 * (EC2's "Get system log") and in the boot log. Armed before anything that could hang or fail.
 */
export function maxLifeLines(o: Pick<RunnerBootOptions, 'fleet' | 'instanceType'>): string[] {
  const hours = o.fleet.maxVmHours ?? FALLBACK_MAX_VM_HOURS;
  const why = `benchfleet: this VM reached its maximum life of ${hours} h (run ${o.fleet.runId}, ${o.instanceType}; set by benchfleet start --max-vm-hours) and is still up (${RUNNER_UNIT}: $runner)`;
  return [
    // Quoted delimiters: nothing is expanded as they are written (the values, checked by
    // FleetPlanFile, are already in); the script reads the runner's state when it runs. (The
    // timer's, below, expands only $deadline.)
    `cat > ${MAX_LIFE_SCRIPT} <<'SCRIPT'`,
    '#!/bin/bash',
    `# Started by ${MAX_LIFE_TIMER}: the runner has not powered this VM off in time, whatever it is doing.`,
    `runner=$(systemctl is-active ${RUNNER_UNIT})`,
    `echo "${why}: powering off now, so EC2 terminates it" | tee -a ${BOOT_LOG}`,
    // the runner's own end-of-life action; should systemd not take the job, without the niceties
    'shutdown -h now || systemctl poweroff --force',
    'SCRIPT',
    `chmod 755 ${MAX_LIFE_SCRIPT}`,
    "cat > /etc/systemd/system/benchfleet-max-life.service <<'UNIT'",
    '[Unit]',
    'Description=Benchfleet: power this VM off, past its maximum life',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${MAX_LIFE_SCRIPT}`,
    // the journal and the serial console: whoever looks at either learns why the VM went away
    'StandardOutput=journal+console',
    'StandardError=journal+console',
    'SyslogIdentifier=benchfleet-max-life',
    'UNIT',
    // The deadline in wall-clock time, from this first boot: user data runs once, and a reboot
    // (a kernel panic, EC2 maintenance) restarts OnBootSec's count, so alone it would grant a VM
    // that reboots a fresh maximum life each time. OnBootSec stays as the bound for a clock that
    // was wrong at first boot, and for a VM booted again after its deadline.
    `deadline=$(date -u -d "@$(( $(date +%s) - $(cut -d. -f1 /proc/uptime) + ${maxVmMinutes(hours) * 60} ))" '+%Y-%m-%d %H:%M:%S UTC')`,
    `cat > /etc/systemd/system/${MAX_LIFE_TIMER} <<UNIT`,
    '[Unit]',
    `Description=Benchfleet: power this VM off ${hours} h after its first boot, whatever its runner is doing`,
    '[Timer]',
    // from boot, not from now: the time the boot script took counts too
    `OnBootSec=${maxVmMinutes(hours)}min`,
    'OnCalendar=$deadline',
    '[Install]',
    'WantedBy=timers.target',
    'UNIT',
    'systemctl daemon-reload',
    `systemctl enable --now ${MAX_LIFE_TIMER}`,
  ];
}

/** Shell lines, run as root by cloud-init (values are validated by FleetPlanFile). */
export function runnerBootScript(o: RunnerBootOptions): string[] {
  const { fleet } = o;
  // The meta stack's region: the secret's ARN names it, and the artifact bucket lives beside it.
  const region = fleet.runnerKeySecretArn.split(':')[3];
  const image = imageFor({ ruby_version: fleet.rubyVersion });
  return [
    'set -euo pipefail',
    `exec > >(tee -a ${BOOT_LOG}) 2>&1`,
    // A VM that cannot even start its runner must not bill forever: power off (= terminate) in 10
    // minutes, time enough to look at /var/log/benchfleet-boot.log through Session Manager.
    `trap 'echo "benchfleet: boot failed, terminating in 10 minutes"; shutdown -h +10' ERR`,
    // First, so that a boot that hangs (a package mirror, S3) is bounded too.
    ...maxLifeLines(o),
    'dnf install -y docker',
    // Newest Node.js the distribution packages; AL2023 installs them side by side as node-NN.
    'for v in 24 22 20; do dnf install -y "nodejs$v" && break; done',
    'NODE_BIN="$(command -v node-24 || command -v node-22 || command -v node-20 || command -v node)"',
    'systemctl enable --now docker',
    `(docker pull ${image} || true) &`,
    `mkdir -p ${RUNNER_DIR} /etc/benchfleet`,
    `aws s3 cp "s3://${fleet.artifactBucket}/${fleet.artifactKey}" ${RUNNER_DIR}/runner.js --region ${region}`,
    'umask 077',
    `API_KEY="$(aws secretsmanager get-secret-value --secret-id '${fleet.runnerKeySecretArn}' --query SecretString --output text --region ${region})"`,
    `printf 'BENCHFLEET_API_KEY=%s\\n' "$API_KEY" > ${RUNNER_ENV_FILE}`,
    'unset API_KEY',
    'umask 022',
    `cat > /etc/systemd/system/${RUNNER_UNIT} <<UNIT`,
    '[Unit]',
    'Description=Benchfleet runner',
    'Wants=network-online.target',
    'After=network-online.target docker.service',
    'Requires=docker.service',
    // Crash-looping runners give up after 5 starts; the host then powers off instead of idling.
    // Counted over a day, so a runner crashing every hour stops too (over 900 s it never would).
    'StartLimitIntervalSec=1d',
    'StartLimitBurst=5',
    'OnFailure=poweroff.target',
    '[Service]',
    'Type=simple',
    `EnvironmentFile=${RUNNER_ENV_FILE}`,
    `WorkingDirectory=${RUNNER_DIR}`,
    `ExecStart=\${NODE_BIN} ${RUNNER_DIR}/runner.js ${runnerArgs(o).join(' ')}`,
    'Restart=on-failure',
    'RestartSec=15',
    // The runner exits 143 on SIGTERM (130 on SIGINT) once its tasks are failed as interrupted.
    // Counted as a failure, an operator's `systemctl restart`, or docker's restart passed on by
    // Requires= (a package upgrade), would fire OnFailure= and power the host off mid-run.
    'SuccessExitStatus=130 143',
    // SIGTERM, then SIGKILL after this (systemd's default, said outright): the runner's stop
    // deadline (STOP_TOTAL_S, 45 s) stays well under it, so its fail reports get out first.
    'TimeoutStopSec=90',
    // When the host runs out of memory the kernel should end a benchmark (its container's
    // processes), which ruby-bench reports, not the runner, whose tasks would be lost.
    'OOMScoreAdjust=-500',
    '[Install]',
    'WantedBy=multi-user.target',
    'UNIT',
    'systemctl daemon-reload',
    `systemctl enable --now ${RUNNER_UNIT}`,
  ];
}
