/**
 * Sorting spans by start without a comparator: V8 calls a comparator through the interpreter until
 * it optimizes the caller, boxing a number on each load from an array that ever held a fraction,
 * and a short process (one open per layer) never gets there. Packed keys below 2^31 are sorted as
 * an Int32Array: a Float64Array element loads as a boxed number there too.
 */

/**
 * The indices of the first `n` `keys` (non-negative integers) in ascending key order, equal keys by
 * index, as one native sort of key * n + index when that is exact (below 2^53); a comparator sort
 * otherwise.
 */
export function ascendingOrder(keys: readonly number[], n = keys.length): Int32Array {
  let max = 0;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (!Number.isInteger(k) || k < 0) return comparatorOrder(keys, n);
    if (k > max) max = k;
  }
  if ((max + 1) * n > Number.MAX_SAFE_INTEGER) return comparatorOrder(keys, n);
  // Sorted in place when the packed keys fit an Int32Array, the indices then overwriting them.
  const packed = (max + 1) * n <= 0x7fffffff ? new Int32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) packed[i] = keys[i]! * n + i;
  packed.sort();
  const out = packed instanceof Int32Array ? packed : new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = packed[i]! % n;
  return out;
}

function comparatorOrder(keys: readonly number[], n: number): Int32Array {
  return Int32Array.from(keys.slice(0, n).map((_, i) => i).sort((a, b) => keys[a]! - keys[b]! || a - b));
}
