// The parts of `terraform fmt`'s layout a reviewer notices, checked without terraform: CI's fresh
// Debian machine has no terraform package, so this stands in there (and runs beside the real
// `terraform fmt -check` wherever the binary exists). It knows HCL's strings and `${}` nesting,
// not heredocs (the module has none).

/**
 * Net brackets opened by each line, ignoring strings (balanced `${}` included) and comments, and
 * where code (not strings) has two spaces in a row after the indentation.
 */
function scanLines(lines: string[]): Array<{ net: number; doubleSpaces: number[] }> {
  // Contexts: 'code' at top level or inside ${...}, 'str' inside a quoted string.
  const stack: Array<'code' | 'str'> = ['code'];
  return lines.map((line) => {
    let net = 0;
    const doubleSpaces: number[] = [];
    const indent = line.length - line.trimStart().length;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (stack.at(-1) === 'str') {
        if (c === '\\') i++;
        else if (c === '"') stack.pop();
        else if (c === '$' && line[i + 1] === '{') {
          stack.push('code');
          i++;
        }
        continue;
      }
      if (c === '#' || (c === '/' && line[i + 1] === '/')) break;
      if (c === ' ' && line[i + 1] === ' ' && i >= indent) doubleSpaces.push(i);
      if (c === '"') stack.push('str');
      else if (c === '}' && stack.length > 1) stack.pop();
      else if (stack.length === 1 && (c === '{' || c === '[' || c === '(')) net++;
      else if (stack.length === 1 && (c === '}' || c === ']' || c === ')')) net--;
    }
    return { net, doubleSpaces };
  });
}

/**
 * hclwrite's indent rule: a line that opens brackets indents the following lines one level, however
 * many it opens; a closing line is indented after popping the levels it closes.
 */
function indentLevels(lines: string[]): Array<{ level: number; net: number; doubleSpaces: number[] }> {
  const indents: number[] = [];
  return scanLines(lines).map(({ net, doubleSpaces }, i) => {
    if ((lines[i] ?? '').trim() === '') return { level: indents.length, net, doubleSpaces };
    if (net > 0) {
      const level = indents.length;
      indents.push(net);
      return { level, net, doubleSpaces };
    }
    let closed = -net;
    while (closed > 0 && indents.length > 0) {
      const top = indents.at(-1) ?? 0;
      if (closed >= top) {
        closed -= top;
        indents.pop();
      } else {
        indents[indents.length - 1] = top - closed;
        closed = 0;
      }
    }
    return { level: indents.length, net, doubleSpaces };
  });
}

const ATTRIBUTE = /^(\s*)("[^"]*"|[A-Za-z_][A-Za-z0-9_-]*)(\s*)=(?!=)/;

/** Problems `terraform fmt` would rewrite; empty when the text is laid out as it writes it. */
export function formatProblems(text: string): string[] {
  const problems: string[] = [];
  if (text.includes('\r')) problems.push('has carriage returns');
  if (!text.endsWith('\n') || text.endsWith('\n\n')) problems.push('must end with exactly one newline');
  const lines = text.replace(/\n$/, '').split('\n');
  const d = indentLevels(lines);
  // A group of consecutive one-line attributes at one depth shares one "=" column: the widest key + 1.
  let run: Array<{ line: number; keyEnd: number; column: number }> = [];
  const closeRun = (): void => {
    const want = Math.max(...run.map((r) => r.keyEnd)) + 1;
    const bad = run.find((r) => r.column !== want);
    if (bad) problems.push(`line ${bad.line + 1}: "=" at column ${bad.column}, expected ${want}`);
    run = [];
  };
  lines.forEach((line, i) => {
    const n = i + 1;
    if (line.includes('\t')) problems.push(`line ${n}: tab`);
    if (/\s$/.test(line)) problems.push(`line ${n}: trailing whitespace`);
    const info = d[i];
    if (!info || line.trim() === '') {
      closeRun();
      return;
    }
    const want = 2 * info.level;
    const have = line.length - line.trimStart().length;
    if (have !== want) problems.push(`line ${n}: indented ${have}, expected ${want}`);
    const m = ATTRIBUTE.exec(line);
    // Padding is allowed only to align "=" (and before a trailing comment, which fmt also aligns).
    const padEnd = m ? m[0].length - 1 : 0;
    const stray = info.doubleSpaces.find((col) => col >= padEnd && !/^ +#/.test(line.slice(col)));
    if (stray !== undefined) problems.push(`line ${n}: two spaces at column ${stray + 1}`);
    if (!m) {
      closeRun();
      return;
    }
    if (run.length > 0 && d[run[0]?.line ?? 0]?.level !== info.level) closeRun();
    const keyEnd = `${m[1]}${m[2]}`.length;
    run.push({ line: i, keyEnd, column: keyEnd + (m[3] ?? '').length });
    if (!/^=( |$)/.test(line.slice(m[0].length - 1))) problems.push(`line ${n}: one space after "="`);
    if (info.net !== 0) closeRun(); // a multi-line value ends the aligned group
  });
  closeRun();
  return problems;
}
