// Reading terraform-azure/ without terraform: the HCL as @cdktf/hcl2json parses it, the cloud-init
// template rendered the way templatefile() would, and (from test/helpers/fake-bin.ts) a fake bin
// directory to run its scripts in.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

export const MODULE_DIR = join(__dirname, '..', '..', '..', 'terraform-azure');
export const TEMPLATE = join(MODULE_DIR, 'cloud-init.yaml.tftpl');

// biome-ignore lint/suspicious/noExplicitAny: hcl2json answers untyped JSON; tests narrow it by asserting.
export type Block = Record<string, any>;

export interface Module {
  files: Record<string, string>;
  resources: Record<string, Record<string, Block>>;
  variables: Record<string, Block>;
  outputs: Record<string, Block>;
  locals: Block;
}

/** Every .tf file of the module, merged: resource type -> name -> its (single) block. */
export async function loadModule(): Promise<Module> {
  const mod: Module = { files: {}, resources: {}, variables: {}, outputs: {}, locals: {} };
  for (const file of readdirSync(MODULE_DIR).filter((f) => f.endsWith('.tf'))) {
    const text = readFileSync(join(MODULE_DIR, file), 'utf8');
    mod.files[file] = text;
    const json = await parse(file, text);
    for (const [type, byName] of Object.entries<Record<string, Block[]>>(json.resource ?? {})) {
      for (const [name, blocks] of Object.entries(byName)) {
        mod.resources[type] ??= {};
        mod.resources[type][name] = blocks[0] as Block;
      }
    }
    for (const [name, blocks] of Object.entries<Block[]>(json.variable ?? {}))
      mod.variables[name] = blocks[0] ?? {};
    for (const [name, blocks] of Object.entries<Block[]>(json.output ?? {}))
      mod.outputs[name] = blocks[0] ?? {};
    for (const locals of (json.locals ?? []) as Block[]) Object.assign(mod.locals, locals);
  }
  return mod;
}

/** `'x'`, with each `'` written `'\''`: what runners.tf does to every template input. */
export const shq = (value: string): string => `'${value.replaceAll("'", "'\\''")}'`;

/**
 * templatefile() for the subset the template may use: `${name}` of a given variable, and `$${` /
 * `%%{` escapes. Anything else (a function call, a `%{` directive, an unknown name) throws, so the
 * template cannot grow past what this test renders faithfully.
 */
export function renderTemplate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$\{|%%\{|\$\{([^}]*)\}|%\{/g, (match, expr: string | undefined) => {
    if (match === '$${') return '${';
    if (match === '%%{') return '%{';
    if (expr === undefined) throw new Error(`template directive ${match} is not supported`);
    if (!/^[a-z_][a-z0-9_]*$/.test(expr))
      throw new Error(`template expression \${${expr}} is not a plain name`);
    const value = vars[expr];
    if (value === undefined) throw new Error(`template variable ${expr} is not given`);
    return value;
  });
}

/** The names the template interpolates. */
export function templateNames(text: string): string[] {
  return [...new Set([...text.matchAll(/(?<!\$)\$\{([a-z_][a-z0-9_]*)\}/g)].map((m) => m[1] ?? ''))].sort();
}

/** cloud-init `write_files`: path -> content of its `content: |` block scalar. */
export function writeFiles(yaml: string): Record<string, string> {
  const files: Record<string, string> = {};
  const lines = yaml.split('\n');
  let path: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const p = /^ {2}- path: (\S+)$/.exec(line);
    if (p) path = p[1];
    if (path && line === '    content: |') {
      const body: string[] = [];
      while (i + 1 < lines.length && /^( {6}|$)/.test(lines[i + 1] ?? ''))
        body.push((lines[++i] ?? '').slice(6));
      while (body.at(-1) === '') body.pop();
      files[path] = `${body.join('\n')}\n`;
      path = undefined;
    }
  }
  return files;
}

// The fake-command helpers live in test/helpers/fake-bin.ts, free of hcl2json, whose mere import
// keeps a jest worker from exiting: the AWS fleet's tests run its boot lines with them too.
export { fakeBin, RECORD_ARGS, recordedCalls, runScript } from '../../helpers/fake-bin';
