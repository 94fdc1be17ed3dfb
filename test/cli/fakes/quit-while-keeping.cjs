// Unpacks an archive (argv: the .tar.gz file, the results folder) over results it must keep, and
// quits (SIGTERM) the moment those old results have been moved aside, before the new copy is
// renamed into place: the unpacker's quit guard must put the old results back.
'use strict';
process.env.TSX_TSCONFIG_PATH ??= require('node:path').join(__dirname, '..', '..', '..', 'tsconfig.json');
require('tsx/cjs');
const fsp = require('node:fs/promises');
const { createReadStream } = require('node:fs');

const [archive, dir] = process.argv.slice(2);
const rename = fsp.rename;
fsp.rename = async function renameThenQuit(from, to) {
  await rename.call(this, from, to);
  if (String(to).includes('.replaced-')) {
    process.stderr.write('quit-while-keeping: the old results are aside; quitting\n');
    process.kill(process.pid, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 30_000)); // the quit ends the process first
  }
};
require('../../../cli/lib/archive')
  .unpackArchive(createReadStream(archive), dir)
  .then(() => process.stdout.write('unpacked: the quit came too late\n'));
