// Which entries of a runner's tarball go into the archive, under which name. Everything here is
// about not trusting the tarball: only regular files at a short list of names are kept, and a name
// is rebuilt from checked segments, so nothing can land outside the task's folder.

/** Size caps; every byte kept is held in memory until its task's tarball has been read in full. */
export interface EntryLimits {
  /** output.txt/json/csv and meta.json */
  maxFileBytes: number;
  /** one file under logs/ */
  maxLogFileBytes: number;
  /** everything kept from one tarball */
  maxTaskBytes: number;
  /** entries read from one tarball, kept or not (a tarball of a million empty files is hostile too) */
  maxEntries: number;
  /**
   * bytes inflated from one tarball, kept or not: a small upload can inflate to gigabytes (a gzip
   * bomb), which would hold the assembly's one Lambda to its timeout. A runner's own tarball (its
   * logs capped at 16 MB each) inflates to a few tens of MB.
   */
  maxInflatedBytes: number;
}

export const DEFAULT_LIMITS: EntryLimits = {
  maxFileBytes: 32 * 1024 * 1024,
  maxLogFileBytes: 8 * 1024 * 1024,
  maxTaskBytes: 48 * 1024 * 1024,
  maxEntries: 1000,
  maxInflatedBytes: 256 * 1024 * 1024,
};

export type EntryKind = 'output' | 'meta' | 'log';

export type EntryDecision =
  /**
   * `set`: for ruby-bench's raw `output_NNN.*`, kept under the `output.*` name, its NNN (one
   * ruby-bench run's files share it); absent for every other file
   */
  /** `tail`: a log over its cap keeps only its last `tail` bytes, where an error usually is */
  | { keep: true; name: string; kind: EntryKind; set?: number; tail?: number }
  /** `problem` set: worth an assembly_error; unset: silently ignored (directories, other files) */
  | { keep: false; problem?: string };

/** What each kind of tarball may contribute. */
export type TarballRole = 'result' | 'error';

const SEGMENT = /^[A-Za-z0-9._+-]{1,128}$/;
const OUTPUT = /^output\.(txt|json|csv)$/;
// ruby-bench's own names, for runners that do not rename them (the Rails-era runners).
const RAW_OUTPUT = /^output_\d{1,6}\.(txt|json|csv)$/;
const RAW_SET = /^output_(\d{1,6})\.(?:txt|json|csv)$/;

/** tar-stream header types: only `file` (and its old `contiguous-file` spelling) is a regular file. */
const REGULAR = new Set(['file', 'contiguous-file']);

/** The path segments of an entry name, or a reason it is unsafe. `./` prefixes are dropped. */
export function safeSegments(rawName: string): { segments: string[] } | { problem: string } {
  if (rawName.includes('\0') || rawName.includes('\\')) return { problem: 'unsafe name' };
  if (rawName.startsWith('/')) return { problem: 'absolute path' };
  const segments = rawName.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { problem: 'path escapes its folder' };
  if (segments.some((s) => !SEGMENT.test(s))) return { problem: 'unsafe name' };
  return { segments };
}

/** Decides about one tar header. `type` and `size` are tar-stream's header fields. */
export function decideEntry(
  role: TarballRole,
  rawName: string,
  type: string | null | undefined,
  size: number,
  limits: EntryLimits,
): EntryDecision {
  const safe = safeSegments(rawName);
  if ('problem' in safe) return { keep: false, problem: `${safe.problem}: ${printable(rawName)}` };
  const { segments } = safe;
  if (segments.length === 0) return { keep: false }; // `./` itself
  const name = segments.join('/');
  const kind = kindOf(role, segments);
  if (type === 'directory') return { keep: false };
  if (!REGULAR.has(type ?? 'file')) {
    // Links and devices are refused even at names we would not keep: the tarball is hostile.
    return { keep: false, problem: `${type} refused: ${name}` };
  }
  if (!kind) return { keep: false };
  const cap = kind === 'log' ? limits.maxLogFileBytes : limits.maxFileBytes;
  if (size > cap && kind === 'log') return { keep: true, name, kind, tail: cap };
  if (size > cap) return { keep: false, problem: `over the ${cap}-byte cap: ${name} (${size} bytes)` };
  const set = segments.length === 1 ? RAW_SET.exec(name)?.[1] : undefined;
  return { keep: true, name: canonicalName(segments), kind, ...(set ? { set: Number(set) } : {}) };
}

function kindOf(role: TarballRole, segments: string[]): EntryKind | undefined {
  const [first, ...rest] = segments;
  if (first === undefined) return undefined;
  if (first === 'logs' && rest.length > 0) return 'log';
  if (rest.length > 0) return undefined;
  if (first === 'meta.json') return 'meta';
  if (role === 'result' && (OUTPUT.test(first) || RAW_OUTPUT.test(first))) return 'output';
  return undefined;
}

/** `output_001.txt` is kept as `output.txt` (the name the site builder reads). */
function canonicalName(segments: string[]): string {
  const name = segments.join('/');
  if (segments.length === 1 && RAW_OUTPUT.test(name)) return name.replace(/_\d+\./, '.');
  return name;
}

/** `<instance_type>-<run>`: instance types are already [A-Za-z0-9._-], but never trust a record. */
export function taskFolder(instanceType: string, run: number): string {
  const safe = instanceType.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || '_';
  return `${safe}-${run}`;
}

function printable(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we strip
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 117)}...` : clean;
}
