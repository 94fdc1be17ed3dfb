import { RunConfig, splitTaskId, taskIdOf } from '../lambdas/shared/contract';

describe('contract basics', () => {
  it('round-trips task ids through run id and index', () => {
    expect(splitTaskId(taskIdOf(1733945123, 41))).toEqual({ runId: 1733945123, index: 41 });
  });
  it('rejects an unknown key and names it', () => {
    const r = RunConfig.safeParse({
      ruby_version: '3.4.7',
      runs_per_instance_type: 1,
      local: ['a'],
      colour: 'x',
    });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('colour');
  });
});
