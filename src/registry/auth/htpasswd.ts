/**
 * htpasswd files with bcrypt hashes (`user:$2y$…`), the format distribution accepts, read
 * again whenever the file changes. bcrypt is slow by design (~100 ms per check at cost 10)
 * and a push makes dozens of requests, so a successful check is remembered for a few
 * minutes, keyed by a SHA-256 of the password, never the password itself.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import bcrypt from 'bcryptjs';

const CACHE_MS = 5 * 60_000;

export function parseHtpasswd(text: string, source = 'htpasswd'): Map<string, string> {
  const users = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`${source}:${i + 1}: expected user:hash`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!/^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) throw new Error(`${source}:${i + 1}: the password of "${user}" is not a bcrypt hash (use "berth registry htpasswd")`);
    users.set(user, hash);
  });
  return users;
}

/** One htpasswd line for `user`, bcrypt at the given cost. */
export async function htpasswdLine(user: string, password: string, cost = 10): Promise<string> {
  if (!user || user.includes(':')) throw new Error(`invalid user name ${JSON.stringify(user)}`);
  return `${user}:${await bcrypt.hash(password, cost)}`;
}

export class Htpasswd {
  private readonly path: string;
  private users = new Map<string, string>();
  private mtime = -1;
  private readonly verified = new Map<string, number>();

  constructor(path: string) {
    this.path = path;
    this.reload();
  }

  private reload(): void {
    const st = statSync(this.path);
    if (st.mtimeMs === this.mtime) return;
    this.users = parseHtpasswd(readFileSync(this.path, 'utf8'), this.path);
    this.mtime = st.mtimeMs;
    this.verified.clear();
  }

  async check(user: string, password: string): Promise<boolean> {
    try {
      this.reload();
    } catch {
      return false;
    }
    const hash = this.users.get(user);
    if (!hash) return false;
    const key = `${user}\0${createHash('sha256').update(password).digest('hex')}`;
    const until = this.verified.get(key);
    if (until && until > Date.now()) return true;
    if (!(await bcrypt.compare(password, hash))) return false;
    this.verified.set(key, Date.now() + CACHE_MS);
    return true;
  }
}
