// Stands in for a module a Lambda bundle leaves out (lib/bundling.ts: UNUSED_MODULES): loading it
// succeeds, any use throws, so a wrong guess fails loudly instead of silently.
const fail = () => {
  throw new Error('this module is left out of the Lambda bundles (lib/bundling.ts: UNUSED_MODULES)');
};
const stub = new Proxy(function unused() {}, {
  get: (_t, p) => (p === '__esModule' ? false : stub),
  apply: fail,
  construct: fail,
});
module.exports = stub;
