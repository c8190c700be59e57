/** Quantile q of xs, linear between the two nearest ranks. */
export function quantile(xs, q) {
  const s = [...xs].sort((x, y) => x - y);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
}

export const median = (xs) => quantile(xs, 0.5);

/** A copy of `a` in random order (Fisher–Yates): each round runs the variants in a fresh order. */
export function shuffle(a) {
  const b = [...a];
  for (let i = b.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [b[i], b[j]] = [b[j], b[i]];
  }
  return b;
}
