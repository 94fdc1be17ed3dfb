// Types are checked by `tsc --noEmit` in `npm test`; jest only transpiles (swc) so the suite stays fast.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j|mj)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // middy and a few other packages ship ESM only; let swc turn them into CommonJS for jest.
  transformIgnorePatterns: ['/node_modules/(?!(@middy|aws-local-stepfunctions)/)'],
  // tsconfig `paths`: the Lambda code's one SDK module (a layer when deployed, this file here)
  moduleNameMapper: { '^@benchfleet/aws-sdk$': '<rootDir>/lambdas/shared/aws-sdk.ts' },
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  // one fresh TMPDIR per jest run, removed at its end with a line naming anything tests left in it
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
  // recycle a worker that holds on to memory (dynalite tables, browsers) before the next suite
  workerIdleMemoryLimit: '1GB',
};
