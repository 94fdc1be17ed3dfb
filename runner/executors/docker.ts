// Runs ruby-bench in a container through the Docker Engine API: the image is pulled only when
// absent (during `provision`), one container per slot pinned to the slot's CPU with cpuset, so
// ruby-bench itself gets --no-pinning. stdout/stderr go to files; the output folder is a bind mount.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { errorText, type Logger } from '../log';
import { findOutputs } from '../package';
import {
  ENGINE_CALL_TIMEOUT_MS,
  ENGINE_PING_MS,
  engineVersion,
  killedFromOutside,
  watchEngine,
  within,
} from './docker-engine';
import { ImagePuller } from './docker-pull';
import { clip, openLogFiles, printableLines } from './log-files';
import { type ExecContext, ExecError, type ExecResult, type Executor } from './types';

/** ruby/ruby-bench at the commit the fixtures were recorded with; a run config may pin another. */
export const DEFAULT_RUBY_BENCH_REF = '09b76c8';
const RUBY_BENCH_REPO = 'https://github.com/ruby/ruby-bench.git';

export interface DockerOptions {
  /** `unix:///path.sock` or `tcp://host:port`; DOCKER_HOST or the default socket when absent. */
  dockerHost?: string;
  /** Overrides the task's image (offline base images, mirrors). */
  image?: string;
  rubyBenchRef?: string;
  /** A local ruby-bench checkout mounted read-only instead of cloning (offline use). */
  rubyBenchDir?: string;
  /** Where the container clones ruby-bench from (a mirror); RUBY_BENCH_REPO otherwise. */
  rubyBenchRepo?: string;
  /** Labels this runner's containers (`benchfleet.host`), so its start-up sweep spares other runners'. */
  hostId?: string;
  /** How long each engine call may take; ENGINE_CALL_TIMEOUT_MS otherwise. */
  callTimeoutMs?: number;
  /** How often the engine is checked while a container runs; ENGINE_PING_MS otherwise. */
  pingIntervalMs?: number;
}

/** Every task container carries this label (the task id): the start-up sweep looks for it. */
export const TASK_LABEL = 'benchfleet.task';
const HOST_LABEL = 'benchfleet.host';

export function dockerClient(host?: string): Docker {
  // Loaded on first use: dockerode brings ssh2, grpc and protobufjs (about 180 modules, a third of
  // the CLI's start-up), which a run of the synthetic or command workload never needs.
  const Docker = require('dockerode') as typeof import('dockerode');
  if (!host) return new Docker();
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const u = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: u.hostname, port: Number(u.port || 2375) });
}

/**
 * The script's exit status when ruby-bench cannot be fetched (no network, GitHub down, no git in
 * the image): the host's trouble, not the benchmark's, so the task fails as provision_failed,
 * which is retried, rather than benchmark_failed, which is not.
 */
const FETCH_FAILED = 97;

/** The script's stderr line naming the commit its clone checked out (a branch moves between clones). */
const COMMIT_MARK = 'benchfleet: ruby-bench commit ';
const COMMIT_LINE = new RegExp(`^${COMMIT_MARK}([0-9a-f]{40})$`, 'm');

// Clone at the pinned ref unless a checkout is mounted; `./run_benchmarks.rb` honours its shebang.
const SCRIPT = `set -e
if [ -f /ruby-bench/run_benchmarks.rb ]; then cd /ruby-bench
else
  git clone -q "$BENCHFLEET_RUBY_BENCH_REPO" /tmp/ruby-bench || exit ${FETCH_FAILED}
  cd /tmp/ruby-bench
  git checkout -q "$BENCHFLEET_RUBY_BENCH_REF" || exit ${FETCH_FAILED}
  echo "${COMMIT_MARK}$(git rev-parse HEAD 2>/dev/null || true)" >&2
fi
exec ./run_benchmarks.rb --no-sudo --no-pinning --out_path=/results "$@"`;

/**
 * What git said of a failed clone or checkout: its first `fatal:` or `error:` line (the cause; the
 * lines after it are advice), else its last line; undefined when it said nothing.
 */
export function gitSaid(stderr: string): string | undefined {
  const lines = printableLines(stderr).filter((l) => !l.startsWith(COMMIT_MARK));
  const line = lines.find((l) => /^(fatal|error):/.test(l)) ?? lines.at(-1);
  return line === undefined ? undefined : clip(line, 200);
}

/** A mounted checkout's commit, marked as local (it may hold changes); without git, just that. */
async function checkoutRef(dir: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('git', ['-C', dir, 'rev-parse', '--short=7', 'HEAD'], {
      timeout: 5000,
    });
    return `${stdout.trim()} (local checkout)`;
  } catch {
    return 'local checkout';
  }
}

export class DockerExecutor implements Executor {
  readonly name = 'docker';
  // The official ruby images (3.2+) have YJIT, so ruby-bench runs every benchmark twice (interp,
  // yjit); a Ruby without YJIT only stops the percent at 50 before the task completes.
  readonly expectedPasses = 2;
  private readonly docker: Docker;
  private readonly callMs: number;
  /** Where the engine's address came from, for messages: DOCKER_HOST is read when the client is made. */
  private readonly hostFrom: string;
  /** Pulls an absent image, one pull shared by the slots that need it at once. */
  private readonly images: ImagePuller;
  constructor(private readonly opts: DockerOptions) {
    this.docker = dockerClient(opts.dockerHost);
    this.callMs = opts.callTimeoutMs ?? ENGINE_CALL_TIMEOUT_MS;
    this.images = new ImagePuller(this.docker, this.callMs);
    this.hostFrom = opts.dockerHost
      ? 'given by --docker-host'
      : process.env.DOCKER_HOST
        ? 'from DOCKER_HOST'
        : 'the default socket: neither --docker-host nor DOCKER_HOST is set';
  }

  /** The engine this client calls: `unix:///var/run/docker.sock`, or the host given. */
  private async engineAddress(): Promise<string> {
    if (this.opts.dockerHost) return this.opts.dockerHost;
    if (process.env.DOCKER_HOST && !process.env.DOCKER_HOST.startsWith('unix://'))
      return process.env.DOCKER_HOST;
    // dockerode picks the default socket itself (~/.docker/run/docker.sock when there is one)
    const modem = this.docker.modem as unknown as { getSocketPath?: () => Promise<string> | undefined };
    const socket = await Promise.resolve(modem.getSocketPath?.()).catch(() => undefined);
    return socket ? `unix://${socket}` : (process.env.DOCKER_HOST ?? 'the default socket');
  }

  /** A task's (or the start-up sweep's) engine call failed: which engine, what it said, what to do. */
  private async noEngine(err: unknown): Promise<string> {
    const at = `${await this.engineAddress()} (${this.hostFrom})`;
    const code = (err as { code?: unknown } | null)?.code;
    const fix =
      code === 'EACCES' || code === 'EPERM'
        ? "the runner's user may not use that socket: run the runner as root or add its user to the docker group"
        : /did not answer within/.test(errorText(err))
          ? 'dockerd is there but stuck: check `systemctl status docker` and restart it'
          : 'start dockerd (`systemctl start docker`), or point --docker-host (or BENCHFLEET_DOCKER_HOST) at its socket: unix:///path/to/docker.sock or tcp://host:port';
    return `the Docker engine does not answer at ${at}: ${errorText(err)}; ${fix}`;
  }

  async run(ctx: ExecContext): Promise<ExecResult> {
    const image = this.opts.image ?? ctx.task.image;
    const cloneRef = ctx.task.ruby_bench_ref ?? this.opts.rubyBenchRef ?? DEFAULT_RUBY_BENCH_REF;
    // a mounted checkout runs instead of the clone (SCRIPT): record what it is, not a ref never used
    const mounted = this.opts.rubyBenchDir;
    const ref =
      mounted && existsSync(join(mounted, 'run_benchmarks.rb')) ? await checkoutRef(mounted) : cloneRef;
    if (ref !== cloneRef && ctx.task.ruby_bench_ref)
      ctx.log.warn(
        `the run asks for ruby-bench ${ctx.task.ruby_bench_ref}, but the checkout in --ruby-bench-dir ${mounted} is what runs (${ref})`,
      );
    let version: string;
    try {
      version = (await within(this.callMs, (abortSignal) => engineVersion(this.docker, abortSignal))).Version;
    } catch (err) {
      throw new ExecError('docker_error', await this.noEngine(err));
    }
    ctx.onStatus('provision', `docker ${version}; checking image ${image}`);
    await this.images.ensure(image, ctx);
    if (ctx.signal.aborted) throw new ExecError('cancelled', 'stopped during provision');

    const repo = this.opts.rubyBenchRepo ?? RUBY_BENCH_REPO;
    const env = [`BENCHFLEET_RUBY_BENCH_REF=${cloneRef}`, `BENCHFLEET_RUBY_BENCH_REPO=${repo}`];
    for (const [k, v] of Object.entries(ctx.task.ruby_bench_env ?? {})) env.push(`${k}=${v}`);
    const binds = [`${ctx.outDir}:/results`];
    if (this.opts.rubyBenchDir) binds.push(`${this.opts.rubyBenchDir}:/ruby-bench:ro`);
    let container: Docker.Container;
    try {
      const networkMode = await this.networkMode();
      container = await within(this.callMs, (abortSignal) =>
        this.docker.createContainer({
          abortSignal,
          Image: image,
          Cmd: ['sh', '-c', SCRIPT, 'sh', ...(ctx.task.benchmarks ?? [])],
          Env: env,
          Labels: {
            [TASK_LABEL]: String(ctx.task.id),
            'benchfleet.slot': String(ctx.slot.index),
            ...(this.opts.hostId ? { [HOST_LABEL]: this.opts.hostId } : {}),
          },
          HostConfig: {
            CpusetCpus: String(ctx.slot.cpu),
            Binds: binds,
            NetworkMode: networkMode,
          },
        }),
      );
    } catch (err) {
      throw new ExecError('docker_error', `cannot create the container: ${errorText(err)}`);
    }
    const logs = openLogFiles(ctx.logsDir, ctx.log);
    const outTap = new PassThrough();
    const errTap = new PassThrough();
    outTap.on('data', (b: Buffer) => {
      logs.out(b);
      ctx.onStdout(b.toString('utf8'));
    });
    // the commit line comes first, before ruby-bench writes anything: only the start is searched
    let stderrStart = '';
    errTap.on('data', (b: Buffer) => {
      logs.err(b);
      if (stderrStart.length < 4096) stderrStart += b.toString('utf8');
    });
    const kill = (): void => {
      container.kill().catch(() => undefined); // already gone is fine
    };
    let watch: ReturnType<typeof watchEngine> | undefined;
    try {
      const stream = await within(this.callMs, (abortSignal) =>
        container.attach({ stream: true, stdout: true, stderr: true, abortSignal }),
      );
      this.docker.modem.demuxStream(stream, outTap, errTap);
      const ended = new Promise((r) => stream.on('end', r));
      ctx.signal.addEventListener('abort', kill, { once: true });
      await within(this.callMs, (abortSignal) => container.start({ abortSignal }));
      watch = watchEngine(this.docker, this.opts.pingIntervalMs ?? ENGINE_PING_MS, this.callMs);
      ctx.onStatus('running', `ruby-bench ${ref} in ${image} on cpu ${ctx.slot.cpu}`);
      if (ctx.signal.aborted) kill();
      // a wait on an engine that stopped answering never settles: the watch ends it
      const { StatusCode } = (await Promise.race([container.wait(), watch.dead])) as { StatusCode: number };
      watch.stop();
      // Let the last log bytes drain before the files are closed.
      let drainTimer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise((r) => (drainTimer = setTimeout(r, 2000)))]);
      clearTimeout(drainTimer);
      if (ctx.signal.aborted) throw new ExecError('cancelled', 'container stopped', StatusCode);
      const killed = await killedFromOutside(container, StatusCode, this.callMs);
      if (killed && !killed.whole && (await findOutputs(ctx.outDir)).txt) {
        // one benchmark ran out of memory; the others' numbers are in output.txt (its row N/A):
        // kept, as for any exit 1 with output, with the reason in stderr.log
        logs.err(Buffer.from(`benchfleet: ${killed.why}; the other benchmarks' results are kept\n`));
        ctx.log.warn(`${killed.why}; the task completes with the other benchmarks' results`);
      } else if (killed) throw new ExecError('docker_error', killed.why, StatusCode);
      if (StatusCode === FETCH_FAILED) {
        // git's own words say which trouble it was: the network, the ref, or the host's disk
        const said = gitSaid(stderrStart);
        await logs.close(); // every write has landed or failed: `problems` is complete
        const unlogged = logs.problems.length
          ? `; this host also could not write the task's logs (${logs.problems.join('; ')}): free disk space on it`
          : '';
        throw new ExecError(
          'provision_failed',
          `cannot fetch ruby-bench ${cloneRef} from ${repo} in the container (git clone or checkout failed${said ? `: ${JSON.stringify(said)}` : ''}; see logs/stderr.log)${unlogged}`,
          StatusCode,
        );
      }
      return {
        exitCode: StatusCode,
        image,
        imageDigest: await this.imageDigest(image),
        dockerVersion: version,
        rubyBenchRef: ref,
        rubyBenchCommit: COMMIT_LINE.exec(stderrStart)?.[1] ?? null,
      };
    } catch (err) {
      if (err instanceof ExecError) throw err;
      throw new ExecError('docker_error', `container failed: ${errorText(err)}`);
    } finally {
      watch?.stop();
      ctx.signal.removeEventListener('abort', kill);
      await within(this.callMs, (abortSignal) => container.remove({ force: true, abortSignal })).catch(
        () => undefined,
      );
      await logs.close();
    }
  }

  /**
   * Before the first claim: force-removes task containers an earlier run of this runner left behind
   * (a crash, a power loss, a kill -9 skips the executor's cleanup). They would still be running
   * ruby-bench pinned to the CPUs the slots are about to use, skewing every new result. Containers
   * labelled with another host id belong to another runner on the same engine (local mode) and
   * are left alone. An engine that does not answer is only logged: each task then fails on its own.
   */
  async prepare(log: Logger): Promise<void> {
    let found: Docker.ContainerInfo[];
    try {
      found = await within(this.callMs, (abortSignal) =>
        this.docker.listContainers({ all: true, filters: { label: [TASK_LABEL] }, abortSignal }),
      );
    } catch (err) {
      log.warn(`cannot look for containers left by an earlier runner: ${await this.noEngine(err)}`);
      return;
    }
    const mine = found.filter((c) => {
      const host = c.Labels?.[HOST_LABEL];
      return host === undefined || host === this.opts.hostId;
    });
    if (mine.length === 0) return;
    const removed: string[] = [];
    for (const c of mine) {
      try {
        await within(this.callMs, (abortSignal) =>
          this.docker.getContainer(c.Id).remove({ force: true, abortSignal }),
        );
        removed.push(`${c.Id.slice(0, 12)} (task ${c.Labels?.[TASK_LABEL]}, ${c.State})`);
      } catch (err) {
        log.warn(`cannot remove the orphaned container ${c.Id.slice(0, 12)}: ${errorText(err)}`, {
          task: c.Labels?.[TASK_LABEL],
        });
      }
    }
    if (removed.length === 0) return;
    log.warn(
      `removed ${removed.length} orphaned task container(s) labelled ${TASK_LABEL}, left by an earlier runner on this host that did not clean up (crash, kill or power loss); they would have kept CPUs busy under the new tasks: ${removed.join(', ')}`,
    );
  }

  /**
   * The image's digest as its registry knows it (RepoDigests, the same for every platform of a
   * multi-platform tag), so two hosts that pulled one tag at different times can be told apart.
   * null for an image built locally (no registry digest) or an engine that does not say.
   */
  private async imageDigest(image: string): Promise<string | null> {
    try {
      const info = await within(this.callMs, () => this.docker.getImage(image).inspect());
      const digests = (info.RepoDigests ?? []).map((d) => d.slice(d.indexOf('@') + 1));
      return digests.find((d) => d.startsWith('sha256:')) ?? null;
    } catch {
      return null;
    }
  }

  /** The default bridge when the engine has one; engines started with --bridge=none have not. */
  /**
   * `bridge` where the engine has one; `none` only where it has none (a 404, as on an engine started
   * with --bridge=none). Any other failure (a slow engine timing out) is the engine's problem, not
   * a reason to run the benchmark without the network its ruby-bench clone needs.
   */
  private async networkMode(): Promise<string> {
    try {
      await within(this.callMs, () => this.docker.getNetwork('bridge').inspect());
      return 'bridge';
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return 'none';
      throw err;
    }
  }
}
