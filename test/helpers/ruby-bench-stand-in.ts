// A shell stand-in for ruby-bench, mounted with --ruby-bench-dir in place of the clone (no network
// here): it prints progress and its CPU set, writes ruby-bench's output files, and sleeps
// MIN_BENCH_TIME seconds per benchmark.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp-dir';

const STAND_IN = `#!/bin/sh
echo "stand-in ruby-bench: $*"
out=""; benches=""
for a in "$@"; do
  case "$a" in --out_path=*) out="\${a#--out_path=}" ;; --*) ;; *) benches="$benches $a" ;; esac
done
grep Cpus_allowed_list /proc/self/status
echo "a line on stderr" >&2
set -- $benches; i=0
for b in "$@"; do i=$((i+1)); echo "Running benchmark \\"$b\\" ($i/$#)"; sleep "\${MIN_BENCH_TIME:-0}"; done
{ echo "ruby: stand-in 0.0"; echo; echo "-----  ------------"; echo "bench  ruby (ms)"
  for b in "$@"; do echo "$b  1.0 ± 0.0%"; done; echo "-----  ------------"; } > "$out/output_001.txt"
echo '{"metadata":{"ruby":"stand-in ruby 0.0"},"raw_data":{}}' > "$out/output_001.json"
# WARMUP_ITRS doubles as the exit status, so a test can make the stand-in "fail a benchmark".
exit "\${WARMUP_ITRS:-0}"
`;

/** A fresh folder holding the stand-in as `run_benchmarks.rb`, removed after the test file. */
export function standIn(): string {
  const dir = tempDir('bf-rb-');
  writeFileSync(join(dir, 'run_benchmarks.rb'), STAND_IN);
  chmodSync(join(dir, 'run_benchmarks.rb'), 0o755);
  chmodSync(dir, 0o755);
  return dir;
}
