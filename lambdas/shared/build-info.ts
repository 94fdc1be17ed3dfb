// The version of this build, as the runner writes it into every meta.json and the API sends it in
// every answer (VERSION_HEADER): the package version and the commit the bundle was built from,
// which the bundlers write in place of BENCHFLEET_BUILD_COMMIT (scripts/source-commit.cjs:
// `0.1.0+1a2b3c4d5e6f`, with `-dirty` for a checkout with changes). Run unbundled (local mode, from
// the checkout), it has no commit. The CLI compares it with its checkout's (cli/lib/version-skew.ts).
import { version } from '../../package.json';

const commit = process.env.BENCHFLEET_BUILD_COMMIT;

export const BUILD_VERSION: string = commit ? `${version}+${commit}` : version;

/** The answer header that carries the API's BUILD_VERSION. */
export const VERSION_HEADER = 'x-benchfleet-version';
