import { mean, ratioInterval, sampleStddev, tQuantile975 } from '../../site/stats';

describe('statistics of the ranking', () => {
  it('uses the 97.5 % t quantile, rounding degrees of freedom down', () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(2)).toBe(4.303);
    expect(tQuantile975(2.9)).toBe(4.303);
    expect(tQuantile975(11)).toBe(2.228); // between rows: the wider interval of df 10
    expect(tQuantile975(5000)).toBe(1.96);
  });

  it('does not let rounding drop the degrees of freedom to the row below', () => {
    // Per-run log means of a real two-run comparison (each second run 3 % slower on both sides):
    // Welch's df is 2 in theory but computes as 1.9999999999999998, which used to select t for
    // df 1 (12.706) instead of 4.303 and triple the interval.
    const a = [5.127868423664942, 5.157427225906487];
    const b = [5.446322154783477, 5.475880957025021];
    const half = 4.303 * Math.sqrt((2 * (a[1]! - a[0]!) ** 2) / 2 / 2);
    const point = Math.exp(b[0]! - a[0]!); // 1.375: both sides moved alike
    const ci = ratioInterval(a, b);
    expect(ci?.low).toBeCloseTo(point * Math.exp(-half), 9);
    expect(ci?.high).toBeCloseTo(point * Math.exp(half), 9);
  });

  it('has no interval with a single run on either side', () => {
    expect(ratioInterval([0], [0, 0.1])).toBeNull();
    expect(sampleStddev([5])).toBeNull();
  });

  it('collapses to the point when no run differs', () => {
    expect(ratioInterval([1, 1, 1], [3, 3])).toEqual({ low: Math.exp(2), high: Math.exp(2) });
  });

  it('centres the interval on exp(mean(b) - mean(a)) of the very values it measures', () => {
    const a = [0.1, 0.3, 0.2];
    const b = [1.0, 1.4];
    const ci = ratioInterval(a, b)!;
    expect(Math.sqrt(ci.low * ci.high)).toBeCloseTo(Math.exp(mean(b) - mean(a)), 12); // e^1.0
  });
});
