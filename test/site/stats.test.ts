import { ratioInterval, sampleStddev, tQuantile975 } from '../../site/stats';

describe('statistics of the ranking', () => {
  it('uses the 97.5 % t quantile, rounding degrees of freedom down', () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(2)).toBe(4.303);
    expect(tQuantile975(2.9)).toBe(4.303);
    expect(tQuantile975(11)).toBe(2.228); // between rows: the wider interval of df 10
    expect(tQuantile975(5000)).toBe(1.96);
  });

  it('gives the same interval to the same spread whatever the level of the logs', () => {
    // Two runs each, the second 3 % slower on both sides: df is exactly 2 in theory, and
    // floating-point noise must not push it down to 1 (t = 12.7 instead of 4.3).
    const half = 4.303 * Math.sqrt(2 * (Math.log(1.03) ** 2 / 2 / 2));
    for (const [a, b] of [
      [Math.log(91.17), Math.log(125.36)],
      [Math.log(901.45), Math.log(1239.49)],
      [0.1, 7.3],
    ] as const) {
      const ci = ratioInterval(1.375, [a, a + Math.log(1.03)], [b, b + Math.log(1.03)]);
      expect(ci?.low).toBeCloseTo(1.375 * Math.exp(-half), 12);
      expect(ci?.high).toBeCloseTo(1.375 * Math.exp(half), 12);
    }
  });

  it('has no interval with a single run on either side', () => {
    expect(ratioInterval(2, [0], [0, 0.1])).toBeNull();
    expect(sampleStddev([5])).toBeNull();
  });

  it('collapses to the point when no run differs', () => {
    expect(ratioInterval(2, [1, 1, 1], [3, 3])).toEqual({ low: 2, high: 2 });
  });
});
