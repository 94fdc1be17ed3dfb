// Chooses between a task's output.json and output.txt and merges what only the text knows.
import type { ParsedOutput } from './model';
import { parseOutputJson } from './parse-json';
import { parseOutputTxt } from './parse-table';

export interface OutputFiles {
  json?: string | undefined;
  txt?: string | undefined;
  /** Prefix for warnings, e.g. `c7a.large-1/`. */
  where?: string;
}

/**
 * output.json when it is readable (per-iteration data), else output.txt. Failed benchmarks only
 * show in the text (`N/A` rows; the JSON leaves them out), so the text adds those either way.
 */
export function parseOutputFiles(files: OutputFiles): ParsedOutput {
  const where = files.where ?? '';
  const txt = files.txt === undefined ? null : parseOutputTxt(files.txt, `${where}output.txt`);
  if (files.json !== undefined) {
    const json = parseOutputJson(files.json, `${where}output.json`);
    if (json.ok) {
      const out = json.output;
      if (txt) {
        const have = new Set(out.samples.map((s) => `${s.exe}\u0000${s.bench}`));
        out.failed.push(...txt.failed.filter((f) => !have.has(`${f.exe}\u0000${f.bench}`)));
        out.executables = { ...txt.executables, ...out.executables };
      }
      return out;
    }
    if (!txt) return { source: 'none', executables: {}, samples: [], failed: [], warnings: [json.reason] };
    txt.warnings.unshift(`${json.reason}; used output.txt instead`);
    return txt;
  }
  if (txt) return txt;
  return {
    source: 'none',
    executables: {},
    samples: [],
    failed: [],
    warnings: [`${where ? where.replace(/\/$/, '') : 'the task'} has neither output.json nor output.txt`],
  };
}
