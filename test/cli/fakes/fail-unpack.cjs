// Preloaded (NODE_OPTIONS=--require) into a `benchfleet local` under test: the results folder passes
// its check before the run, but unpacking the archive into it fails as a full disk would.
'use strict';
const fsp = require('node:fs/promises');

const mkdir = fsp.mkdir;
fsp.mkdir = async function failingMkdir(path, options) {
  if (String(path).includes('.partial-')) {
    const err = new Error(`ENOSPC: no space left on device, mkdir '${path}'`);
    err.code = 'ENOSPC';
    throw err;
  }
  return mkdir.call(this, path, options);
};
