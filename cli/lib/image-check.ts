// Whether the run's image exists, asked of Docker Hub before any VM is launched: a ruby_version with
// no such tag (3.4.77 for 3.4.7) would boot every VM only for each to fail every task as
// provision_failed. Only Docker Hub's images are asked (the ruby_version images, and an `image`
// named without a registry host); a registry that does not answer in time, or wants credentials,
// leaves the answer unknown: a warning, not a refusal. A HEAD of a manifest does not count toward
// Docker Hub's pull rate limit.

/** Docker Hub's registry; BENCHFLEET_REGISTRY_URL points the check elsewhere (tests). */
export const DOCKER_HUB = 'https://registry-1.docker.io';
const HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const CHECK_MS = 5_000;
const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
].join(', ');

/** An image on Docker Hub: its repository (`library/ruby`) and its tag or digest. */
export interface HubImage {
  repo: string;
  reference: string;
}

/** The Docker Hub repository and tag of an image reference, or undefined for another registry's. */
export function hubImage(image: string): HubImage | undefined {
  let name = image;
  let reference = 'latest';
  const at = name.indexOf('@');
  if (at >= 0) {
    reference = name.slice(at + 1);
    name = name.slice(0, at);
  } else {
    const colon = name.lastIndexOf(':');
    if (colon > name.lastIndexOf('/')) {
      reference = name.slice(colon + 1);
      name = name.slice(0, colon);
    }
  }
  const parts = name.split('/');
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!HUB_HOSTS.has(first)) return undefined;
    parts.shift();
  }
  if (parts.length === 0 || parts.some((p) => p === '') || reference === '') return undefined;
  return { repo: parts.length === 1 ? `library/${parts[0]}` : parts.join('/'), reference };
}

export type ImageCheck = { exists: true } | { exists: false } | { unknown: string };

/** Asks the registry for the image's manifest (HEAD), with an anonymous token if it wants one. */
export async function checkHubImage(
  image: HubImage,
  registry = process.env.BENCHFLEET_REGISTRY_URL || DOCKER_HUB,
): Promise<ImageCheck> {
  const url = `${registry.replace(/\/+$/, '')}/v2/${image.repo}/manifests/${image.reference}`;
  const head = (token?: string) =>
    fetch(url, {
      method: 'HEAD',
      headers: { accept: MANIFEST_TYPES, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: AbortSignal.timeout(CHECK_MS),
    });
  try {
    let res = await head();
    if (res.status === 401) {
      const token = await anonymousToken(res.headers.get('www-authenticate'));
      if (token === undefined) return { unknown: 'the registry wants credentials' };
      res = await head(token);
    }
    if (res.ok) return { exists: true };
    if (res.status === 404) return { exists: false };
    // 401 with a token: Docker Hub's answer for a repository that is private or does not exist
    return { unknown: `the registry answered ${res.status}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return {
      unknown: e.name === 'TimeoutError' ? `no answer in ${CHECK_MS / 1000} s` : (e.cause?.code ?? e.message),
    };
  }
}

/** The token of a Bearer challenge's realm (Docker Hub's auth.docker.io), asked without credentials. */
async function anonymousToken(challenge: string | null): Promise<string | undefined> {
  if (!challenge?.startsWith('Bearer ')) return undefined;
  const params = Object.fromEntries(
    [...challenge.slice('Bearer '.length).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
  );
  if (!params.realm) return undefined;
  const realm = new URL(params.realm);
  for (const k of ['service', 'scope']) if (params[k]) realm.searchParams.set(k, params[k] as string);
  const res = await fetch(realm, { signal: AbortSignal.timeout(CHECK_MS) });
  if (!res.ok) return undefined;
  const body = (await res.json()) as { token?: string; access_token?: string };
  return body.token ?? body.access_token;
}

/**
 * The preflight's look at the run's image: a refusal (the reason) when Docker Hub says it does not
 * exist; a warning pushed when that cannot be told; nothing when it exists or is another registry's.
 */
export async function preflightImage(
  image: string,
  field: 'ruby_version' | 'image',
  configFile: string,
  warnings: string[],
): Promise<string | undefined> {
  const hub = hubImage(image);
  if (!hub) return undefined;
  const answer = await checkHubImage(hub);
  if ('unknown' in answer) {
    warnings.push(
      `could not check that the image ${image} exists on Docker Hub (${answer.unknown}): were it not to, every task would fail as provision_failed`,
    );
    return undefined;
  }
  if (answer.exists) return undefined;
  const tags = hub.repo === 'library/ruby' ? ' (its tags: https://hub.docker.com/_/ruby/tags)' : '';
  return `the image ${image} does not exist on Docker Hub (no manifest for ${hub.repo}:${hub.reference})${tags}: check ${field} in ${configFile}. Nothing was launched.`;
}
