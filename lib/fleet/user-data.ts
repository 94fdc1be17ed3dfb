// The boot script of an AWS runner VM (Amazon Linux 2023): install Docker and Node.js, fetch the
// runner bundle and the runner key with the instance role, start the runner under systemd.
// The key is read from Secrets Manager at boot rather than written into user data: user data is
// readable by anyone with ec2:DescribeInstanceAttribute and from inside the VM at any time.
import { imageFor } from '../../lambdas/shared/contract';
import type { FleetPlanFile } from './fleet-plan-file';

export interface RunnerBootOptions {
  readonly fleet: Pick<
    FleetPlanFile,
    'runId' | 'apiUrl' | 'runnerKeySecretArn' | 'artifactBucket' | 'artifactKey' | 'rubyVersion'
  >;
  readonly instanceType: string;
}

export const RUNNER_DIR = '/opt/benchfleet';
export const RUNNER_ENV_FILE = '/etc/benchfleet/runner.env';
export const RUNNER_UNIT = 'benchfleet-runner.service';

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

/** Shell lines, run as root by cloud-init (values are validated by FleetPlanFile). */
export function runnerBootScript(o: RunnerBootOptions): string[] {
  const { fleet } = o;
  // The meta stack's region: the secret's ARN names it, and the artifact bucket lives beside it.
  const region = fleet.runnerKeySecretArn.split(':')[3];
  const image = imageFor({ ruby_version: fleet.rubyVersion });
  return [
    'set -euo pipefail',
    'exec > >(tee -a /var/log/benchfleet-boot.log) 2>&1',
    // A VM that cannot even start its runner must not bill forever: power off (= terminate) in 10
    // minutes, time enough to look at /var/log/benchfleet-boot.log through Session Manager.
    `trap 'echo "benchfleet: boot failed, terminating in 10 minutes"; shutdown -h +10' ERR`,
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
    '[Install]',
    'WantedBy=multi-user.target',
    'UNIT',
    'systemctl daemon-reload',
    `systemctl enable --now ${RUNNER_UNIT}`,
  ];
}
