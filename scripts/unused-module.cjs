// Stands in for a module a bundle leaves out (UNUSED_MODULES in lib/bundling.ts for the Lambdas,
// UNUSED in scripts/build-runner.mjs for the runner): loading it succeeds, any use throws, so a
// wrong guess fails loudly instead of silently.
const fail = () => {
  throw new Error(
    'this module is left out of the bundle (UNUSED_MODULES in lib/bundling.ts, UNUSED in scripts/build-runner.mjs)',
  );
};
const stub = new Proxy(function unused() {}, {
  get: (_t, p) => (p === '__esModule' ? false : stub),
  apply: fail,
  construct: fail,
});
module.exports = stub;
