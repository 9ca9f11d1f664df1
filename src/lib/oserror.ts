/** Go's *os.PathError text ("open /x: no such file or directory"), as docker's messages carry it. */
const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  EEXIST: 'file exists',
};

export function pathErrorText(op: string, path: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return `${op} ${path}: ${(err.code && REASONS[err.code]) ?? err.message}`;
}
