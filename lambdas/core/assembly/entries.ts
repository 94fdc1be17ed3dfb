// Which entries of a runner's tarball go into the archive, under which name. Everything here is
// about not trusting the tarball: only regular files at a short list of names are kept, and a name
// is rebuilt from checked segments, so nothing can land outside the task's folder. A name is short
// enough for any disk, and none clashes with another kept from the same tarball (KeptNames).

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

/**
 * The most path segments a kept name may have under its task's folder. A runner's names have one
 * (`output.txt`, `meta.json`) or two (`logs/stderr.log`); older runners' logs a third
 * (`logs/bench/fib.log`). Without a cap, 500 names of 10,000 segments each (a 300 KB upload) were
 * all kept: ~100 MB of names in the assembly, all of it repeated in manifest.json, for one task.
 */
export const MAX_NAME_SEGMENTS = 8;
/**
 * The most bytes a kept name may have under its task's folder (names are ASCII, so bytes are
 * characters). With the folder (`<instance_type>-<run>/error/`, under 80) and a results root, the
 * whole path stays far below macOS's 1024-byte PATH_MAX and every segment below NAME_MAX (255).
 */
export const MAX_NAME_BYTES = 200;
/**
 * A name longer than this as written (before `./` and empty segments are dropped) is refused
 * before it is split: tar-stream takes pax names up to 4 MB, and no real one is even close.
 */
const MAX_RAW_NAME = 1024;
const OUTPUT = /^output\.(txt|json|csv)$/;
// ruby-bench's own names, for runners that do not rename them (the Rails-era runners).
const RAW_OUTPUT = /^output_\d{1,6}\.(txt|json|csv)$/;
const RAW_SET = /^output_(\d{1,6})\.(?:txt|json|csv)$/;

/** tar-stream header types: only `file` (and its old `contiguous-file` spelling) is a regular file. */
const REGULAR = new Set(['file', 'contiguous-file']);

/** The path segments of an entry name, or a reason it is unsafe. `./` prefixes are dropped. */
export function safeSegments(rawName: string): { segments: string[] } | { problem: string } {
  if (rawName.length > MAX_RAW_NAME) return { problem: `name too long (${rawName.length} characters)` };
  if (rawName.includes('\0') || rawName.includes('\\')) return { problem: 'unsafe name' };
  if (rawName.startsWith('/')) return { problem: 'absolute path' };
  const segments = rawName.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { problem: 'path escapes its folder' };
  if (segments.some((s) => !SEGMENT.test(s))) return { problem: 'unsafe name' };
  if (segments.length > MAX_NAME_SEGMENTS) {
    return { problem: `name too deep (${segments.length} levels, at most ${MAX_NAME_SEGMENTS})` };
  }
  const bytes = segments.join('/').length;
  if (bytes > MAX_NAME_BYTES) {
    return { problem: `name too long (${bytes} characters, at most ${MAX_NAME_BYTES})` };
  }
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
    return { keep: false, problem: `${type} refused: ${printable(name)}` };
  }
  if (!kind) return { keep: false };
  const cap = kind === 'log' ? limits.maxLogFileBytes : limits.maxFileBytes;
  if (size > cap && kind === 'log') return { keep: true, name, kind, tail: cap };
  if (size > cap) {
    return { keep: false, problem: `over the ${cap}-byte cap: ${printable(name)} (${size} bytes)` };
  }
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

/**
 * A name as problems quote it: control characters as `?`, and at most 120 characters, so a
 * hostile name (up to 4 MB) never repeats into the manifest or the logs. Clipped first: the
 * replace then never walks a long string.
 */
function printable(name: string): string {
  const short = name.length > 120 ? `${name.slice(0, 117)}...` : name;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we strip
  return short.replace(/[\u0000-\u001f\u007f]/g, '?');
}

/**
 * The names kept from one tarball, checked against each other as a disk sees them. A name cannot
 * be a file and a folder at once (`logs/a` and `logs/a/b`), and a case-insensitive disk (macOS's,
 * Windows') holds `logs/Run.log` and `logs/run.log` as one file, and `logs/A` as the folder of
 * `logs/a/b`: an archive with both fails to unpack there, or loses a file without a word. The
 * first name wins; a later one that clashes with it is left out. The same name again is no clash
 * (a later entry replaces an earlier one, as tar does).
 */
export class KeptNames {
  /** lower-cased name -> the name as kept */
  private readonly files = new Map<string, string>();
  /** lower-cased folder -> one kept name under it */
  private readonly folders = new Map<string, string>();

  /** Why `name` cannot be kept beside the names kept so far (a problem to report), if it cannot. */
  clash(name: string): string | undefined {
    const key = name.toLowerCase();
    const same = this.files.get(key);
    if (same === name) return undefined;
    const shown = printable(name);
    if (same !== undefined) {
      return `${shown} left out: it differs from ${printable(same)} only in case, and a disk that ignores case (macOS, Windows) holds both as one file`;
    }
    const under = this.folders.get(key);
    if (under !== undefined) {
      return `${shown} left out: ${printable(under)} needs a folder of that name${caseNote(name, under)}, and a name cannot be both a file and a folder`;
    }
    for (let i = key.indexOf('/'); i !== -1; i = key.indexOf('/', i + 1)) {
      const file = this.files.get(key.slice(0, i));
      if (file !== undefined) {
        return `${shown} left out: ${printable(file)} is a file${caseNote(name, file)}, and a name cannot be both a file and a folder`;
      }
    }
    return undefined;
  }

  /** Records a kept name (one `clash` found nothing against). */
  add(name: string): void {
    const key = name.toLowerCase();
    this.files.set(key, name);
    for (let i = key.indexOf('/'); i !== -1; i = key.indexOf('/', i + 1)) {
      const folder = key.slice(0, i);
      if (!this.folders.has(folder)) this.folders.set(folder, name);
    }
  }
}

/** When two clashing names meet only once case is ignored, says so. */
function caseNote(name: string, kept: string): string {
  const n = Math.min(name.length, kept.length);
  return name.slice(0, n) === kept.slice(0, n)
    ? ''
    : ' (once case is ignored, as macOS and Windows disks do)';
}
