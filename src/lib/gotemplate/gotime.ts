/** Go's renderings of time.Time, for JS Dates (always in UTC). */

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function fracMillis(d: Date): string {
  const ms = d.getUTCMilliseconds();
  if (ms === 0) return '';
  return '.' + String(ms).padStart(3, '0').replace(/0+$/, '');
}

function ymdhms(d: Date, sep: string): string {
  const y = d.getUTCFullYear();
  const year = y < 0 ? '-' + String(-y).padStart(4, '0') : String(y).padStart(4, '0');
  return (
    `${year}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}${sep}` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`
  );
}

/** time.Time.String() of a Date, in UTC: "2006-01-02 15:04:05.999 +0000 UTC". */
export function goTimeString(d: Date): string {
  if (Number.isNaN(d.getTime())) return 'Invalid Date';
  return `${ymdhms(d, ' ')}${fracMillis(d)} +0000 UTC`;
}

/** time.Time in RFC 3339 with nanoseconds (its JSON form), in UTC. */
export function goTimeRFC3339(d: Date): string {
  return `${ymdhms(d, 'T')}${fracMillis(d)}Z`;
}
