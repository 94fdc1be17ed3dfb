// The Docker engine failing under a task: calls that never answer (dockerd stuck, or killed with
// the connection left open), an engine that stops answering while a container runs (container.wait()
// then never settles), and containers killed from outside the runner. Each is this host's trouble:
// docker_error, retried elsewhere and counted toward the host's back-off, rather than a task that
// runs to --task-timeout-s or a benchmark_failed that is never retried.
import type Docker from 'dockerode';
import { errorText } from '../log';
import { ExecError } from './types';

/** What one engine call (version, inspect, create, start, remove, ping) may take. */
export const ENGINE_CALL_TIMEOUT_MS = 30_000;
/** How often the engine is checked while a container runs. */
export const ENGINE_PING_MS = 30_000;
/** Checks in a row that must fail before the task is given up. */
export const ENGINE_PING_FAILURES = 3;

/**
 * The call, given up after `ms`. A call made with the signal it is handed is also cut off then:
 * otherwise its request, and its socket, would wait on a hung engine for as long as the runner lives.
 */
export function within<T>(ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const giveUp = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`the Docker engine did not answer within ${ms / 1000} s`);
      reject(err);
      giveUp.abort(err);
    }, ms);
  });
  return Promise.race([call(giveUp.signal), late]).finally(() => clearTimeout(timer));
}

/**
 * ping and version with the abort signal dockerode passes on for them (@types/dockerode lists no
 * options there). Image and network inspects pass none on: they cannot be cut off.
 */
export const pingEngine = (docker: Docker, abortSignal: AbortSignal): Promise<unknown> =>
  (docker.ping as (o: { abortSignal: AbortSignal }) => Promise<unknown>).call(docker, { abortSignal });
export const engineVersion = (docker: Docker, abortSignal: AbortSignal): Promise<Docker.DockerVersion> =>
  (docker.version as (o: { abortSignal: AbortSignal }) => Promise<Docker.DockerVersion>).call(docker, {
    abortSignal,
  });

export interface EngineWatch {
  /** Rejects with a docker_error once ENGINE_PING_FAILURES checks in a row have failed. */
  dead: Promise<never>;
  stop(): void;
}

/** Pings the engine every `intervalMs` (each ping within `callMs`) until stopped. */
export function watchEngine(docker: Docker, intervalMs: number, callMs: number): EngineWatch {
  let failures = 0;
  let inFlight = false;
  let fail: (err: ExecError) => void = () => undefined;
  const dead = new Promise<never>((_, reject) => {
    fail = reject;
  });
  dead.catch(() => undefined); // raced by the caller; never an unhandled rejection
  const timer = setInterval(() => {
    if (inFlight) return;
    inFlight = true;
    within(callMs, (abortSignal) => pingEngine(docker, abortSignal))
      .then(
        () => {
          failures = 0;
        },
        (err: unknown) => {
          failures++;
          if (failures < ENGINE_PING_FAILURES) return;
          clearInterval(timer);
          fail(
            new ExecError(
              'docker_error',
              `the Docker engine stopped answering while the container ran: ${failures} checks ${intervalMs / 1000} s apart failed (last: ${errorText(err)}); the container may still be running`,
            ),
          );
        },
      )
      .finally(() => {
        inFlight = false;
      });
  }, intervalMs);
  return { dead, stop: () => clearInterval(timer) };
}

/**
 * Why a container that ended on its own (not aborted by the runner) was killed from outside, or
 * undefined when it exited by itself: the OOM killer, or SIGKILL/SIGTERM (`docker kill`, `docker
 * stop`, a Docker engine restart or shutdown). `whole`: false when only a process inside it was
 * (Docker flags OOMKilled when the OOM killer ends any of its processes): ruby-bench then marks
 * that benchmark failed, runs the others and exits by itself.
 */
export async function killedFromOutside(
  container: Docker.Container,
  statusCode: number,
  callMs: number,
): Promise<{ why: string; whole: boolean } | undefined> {
  if (statusCode === 0) return undefined;
  const state = await within(callMs, (abortSignal) => container.inspect({ abortSignal }))
    .then((i) => i.State as { OOMKilled?: boolean } | undefined)
    .catch(() => undefined);
  const signal = statusCode === 137 ? 'SIGKILL' : statusCode === 143 ? 'SIGTERM' : undefined;
  if (state?.OOMKilled) {
    return signal
      ? {
          why: `the container was killed by the kernel's OOM killer (out of memory; exit status ${statusCode})`,
          whole: true,
        }
      : {
          why: `a process in the container was killed by the kernel's OOM killer (out of memory), and ruby-bench exited with status ${statusCode}`,
          whole: false,
        };
  }
  if (!signal) return undefined;
  return {
    why: `the container was killed by ${signal} from outside the runner (exit status ${statusCode}: docker kill or stop, the OOM killer, or a Docker engine restart)`,
    whole: true,
  };
}
