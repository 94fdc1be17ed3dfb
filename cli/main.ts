// Placeholder until the CLI lands: keeps `bin/benchfleet.js` loadable.
console.error('benchfleet: the CLI is being built; see README.md');
process.exit(1);
