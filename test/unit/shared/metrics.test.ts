// countMetric publishes each count at once as its own EMF line, with only its own dimensions.
describe('countMetric', () => {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  afterEach(() => {
    process.env.POWERTOOLS_METRICS_DISABLED = saved;
    jest.restoreAllMocks();
  });

  function published(calls: () => void): Array<Record<string, unknown>> {
    const lines: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    calls();
    jest.restoreAllMocks();
    return lines
      .join('')
      .split('\n')
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it('gives each call its own line and dimensions', () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    jest.isolateModules(() => {
      const { countMetric } =
        require('../../../lambdas/shared/metrics') as typeof import('../../../lambdas/shared/metrics');
      const lines = published(() => {
        countMetric('TaskFailed', 1, { error_type: 'benchmark_failed' });
        countMetric('TaskCompleted');
        countMetric('TaskFailed', 2, { error_type: 'upload_failed' });
      });
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatchObject({
        TaskFailed: 1,
        error_type: 'benchmark_failed',
        service: 'benchfleet',
      });
      expect(lines[1]).toMatchObject({ TaskCompleted: 1, service: 'benchfleet' });
      expect(lines[1]).not.toHaveProperty('error_type');
      expect(lines[2]).toMatchObject({ TaskFailed: 2, error_type: 'upload_failed' });
      const aws = lines[2]?._aws as {
        CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][] }>;
      };
      expect(aws.CloudWatchMetrics[0]?.Namespace).toBe('Benchfleet');
      expect(aws.CloudWatchMetrics[0]?.Dimensions[0]).toEqual(
        expect.arrayContaining(['service', 'error_type']),
      );
    });
  });

  it('publishes nothing when switched off, as the local mode does', () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    jest.isolateModules(() => {
      const { countMetric } =
        require('../../../lambdas/shared/metrics') as typeof import('../../../lambdas/shared/metrics');
      expect(published(() => countMetric('TaskCompleted'))).toEqual([]);
    });
  });
});
