// The runner's version, recorded in every meta.json. The bundle has no commit baked in: the
// package version is esbuild's to inline (a named import of a JSON key keeps only that key).
import { version } from '../package.json';

export const RUNNER_VERSION: string = version;
