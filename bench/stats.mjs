/** Quantile q of xs, linear between the two nearest ranks. */
export function quantile(xs, q) {
  const s = [...xs].sort((x, y) => x - y);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
}

export const median = (xs) => quantile(xs, 0.5);
