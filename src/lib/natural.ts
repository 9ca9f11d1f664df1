/**
 * Go's github.com/fvbommel/sortorder NaturalLess, which the docker CLI sorts names and port
 * lines with: digits before other characters, runs of digits by value (fewer leading zeros
 * first), everything else byte by byte. `localeCompare` with `numeric` differs: it folds case,
 * weighs punctuation and puts `[` before digits.
 */
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** A comparator for `sort`: negative when `a` sorts first. */
export function naturalCompare(a: string, b: string): number {
  if (a === b) return 0;
  return naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0;
}

export function naturalLess(s1: string, s2: string): boolean {
  const b1 = Buffer.from(s1);
  const b2 = Buffer.from(s2);
  let i = 0;
  let j = 0;
  while (i < b1.length && j < b2.length) {
    const c1 = b1[i];
    const c2 = b2[j];
    const d1 = isDigit(c1);
    const d2 = isDigit(c2);
    if (d1 !== d2) return d1;
    if (!d1) {
      if (c1 !== c2) return c1 < c2;
      i++;
      j++;
      continue;
    }
    while (i < b1.length && b1[i] === 0x30) i++;
    while (j < b2.length && b2[j] === 0x30) j++;
    const nz1 = i;
    const nz2 = j;
    while (i < b1.length && isDigit(b1[i])) i++;
    while (j < b2.length && isDigit(b2[j])) j++;
    if (i - nz1 !== j - nz2) return i - nz1 < j - nz2;
    const n1 = b1.subarray(nz1, i).toString('latin1');
    const n2 = b2.subarray(nz2, j).toString('latin1');
    if (n1 !== n2) return n1 < n2;
    if (nz1 !== nz2) return nz1 < nz2;
  }
  // identical so far: the one that ended sorts first
  return b1.length < b2.length;
}
