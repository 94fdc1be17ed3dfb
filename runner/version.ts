// The runner's version, recorded in every meta.json: lambdas/shared/build-info.ts (the package
// version, and the commit scripts/build-runner.mjs built the bundle from; none unbundled).
export { BUILD_VERSION as RUNNER_VERSION } from '../lambdas/shared/build-info';
