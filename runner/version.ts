// The runner's version, recorded in every meta.json: the package version (a named import of a JSON
// key keeps only that key in the bundle), and the commit the bundle was built from, which
// scripts/build-runner.mjs writes in place of BENCHFLEET_RUNNER_COMMIT (`0.1.0+1a2b3c4d5e6f`, with
// `-dirty` for a checkout with changes). Run unbundled (local mode, from the checkout), it has none.
import { version } from '../package.json';

const commit = process.env.BENCHFLEET_RUNNER_COMMIT;

export const RUNNER_VERSION: string = commit ? `${version}+${commit}` : version;
