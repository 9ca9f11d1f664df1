/** Go's strconv.ParseBool, with its error text: daemon options and CLI flags read booleans as Go does. */
import { quote } from './goquote.ts';

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

export function parseGoBool(s: string): boolean {
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw new Error(`strconv.ParseBool: parsing ${quote(s)}: invalid syntax`);
}
