// Facts about the host for meta.json, and the host id that prefixes every slot's runner id.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import type { RunnerMeta } from '../lambdas/shared/contract';
import type { CpuTopology } from './topology';

export type HostFacts = Pick<
  RunnerMeta,
  'cpu_model' | 'vcpus' | 'physical_cores' | 'memory_mb' | 'kernel' | 'os' | 'arch'
>;

function osName(): string | null {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
    return m?.[1] ?? null;
  } catch {
    return null;
  }
}

export function hostFacts(topo: CpuTopology): HostFacts {
  const model = cpus()[0]?.model?.trim();
  return {
    cpu_model: model && model.length > 0 ? model : null,
    vcpus: topo.cpus.length,
    physical_cores: topo.physicalCores,
    memory_mb: Math.round(totalmem() / (1024 * 1024)),
    kernel: release(),
    os: osName(),
    arch: arch(),
  };
}

const IMDS = 'http://169.254.169.254';

async function fetchText(url: string, init: RequestInit, timeoutMs: number): Promise<string | undefined> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    const text = (await res.text()).trim();
    return text.length > 0 && text.length <= 100 ? text : undefined;
  } catch {
    return undefined;
  }
}

/** EC2 (IMDSv2) or Azure instance metadata for cloud providers, the hostname otherwise. */
export async function detectHostId(provider: string, timeoutMs = 1500): Promise<string> {
  if (provider === 'aws') {
    const token = await fetchText(
      `${IMDS}/latest/api/token`,
      { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } },
      timeoutMs,
    );
    if (token) {
      const id = await fetchText(
        `${IMDS}/latest/meta-data/instance-id`,
        { headers: { 'X-aws-ec2-metadata-token': token } },
        timeoutMs,
      );
      if (id) return id;
    }
  } else if (provider === 'azure') {
    const name = await fetchText(
      `${IMDS}/metadata/instance/compute/name?api-version=2021-02-01&format=text`,
      { headers: { Metadata: 'true' } },
      timeoutMs,
    );
    if (name) return name;
  }
  return hostname();
}

/** `ruby -v` of the first executable in ruby-bench's output.json (its metadata), for meta.json. */
export async function rubyDescription(jsonPath: string | undefined): Promise<string | null> {
  if (!jsonPath) return null;
  try {
    const doc = JSON.parse(await readFile(jsonPath, 'utf8')) as { metadata?: Record<string, unknown> };
    const first = Object.values(doc.metadata ?? {})[0];
    return typeof first === 'string' ? first : null;
  } catch {
    return null;
  }
}
