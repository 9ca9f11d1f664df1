/**
 * The `userns-remap` daemon option, as moby's setupRemappedRoot reads it: `default` (the
 * `berthremap` user, created with subordinate ID ranges when missing — docker's is
 * `dockremap`), a user name or uid, optionally `:group`. The ranges come from /etc/subuid and
 * /etc/subgid; container root becomes the first ID of each, and the daemon keeps its state in
 * `<data-root>/<uid>.<gid>` so that remapped layers never mix with others.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { invalidParameter } from '../errdefs/index.ts';
import { IdMapping, subordinateRanges, type IdRange } from '../lib/idmap.ts';

export const DEFAULT_REMAP_USER = 'berthremap';
const RANGE_SIZE = 65536;

export interface RemapFiles {
  passwd: string;
  group: string;
  subuid: string;
  subgid: string;
}

const SYSTEM_FILES: RemapFiles = { passwd: '/etc/passwd', group: '/etc/group', subuid: '/etc/subuid', subgid: '/etc/subgid' };

function entries(file: string): string[][] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(':')) : [];
}

/** The first free start at or above 100000 for a 65536-ID range (moby's findNextRangeStart). */
function nextRangeStart(files: RemapFiles): number {
  const taken = [...entries(files.subuid), ...entries(files.subgid)].map((f) => [Number(f[1]), Number(f[2])]).filter(([s, c]) => Number.isInteger(s) && Number.isInteger(c));
  let start = 100000;
  for (let moved = true; moved;) {
    moved = false;
    for (const [s, c] of taken) {
      if (start < s + c && s < start + RANGE_SIZE) {
        start = s + c;
        moved = true;
      }
    }
  }
  return start;
}

/** Creates the default user and its ranges, as moby's AddNamespaceRangesUser does. */
function ensureDefaultUser(files: RemapFiles): void {
  for (const f of [files.subuid, files.subgid]) if (!existsSync(f)) writeFileSync(f, '', { mode: 0o644 });
  const name = DEFAULT_REMAP_USER;
  if (!entries(files.passwd).some((f) => f[0] === name)) {
    try {
      if (existsSync('/usr/sbin/adduser')) {
        execFileSync('/usr/sbin/adduser', ['--system', '--shell', '/bin/false', '--no-create-home', '--disabled-login', '--disabled-password', '--group', name], { stdio: 'pipe' });
      } else {
        execFileSync('useradd', ['-r', '-s', '/bin/false', name], { stdio: 'pipe' });
      }
    } catch (e) {
      throw invalidParameter(`Error during "${name}" user creation: ${((e as { stderr?: Buffer }).stderr?.toString() || (e as Error).message).trim()}`);
    }
  }
  const haveUid = subordinateRanges(readFileSync(files.subuid, 'utf8'), name, undefined).length > 0;
  const haveGid = subordinateRanges(readFileSync(files.subgid, 'utf8'), name, undefined).length > 0;
  if (haveUid && haveGid) return;
  const start = nextRangeStart(files);
  const range = `${start}-${start + RANGE_SIZE - 1}`;
  try {
    if (!haveUid) execFileSync('usermod', ['-v', range, name], { stdio: 'pipe' });
    if (!haveGid) execFileSync('usermod', ['-w', range, name], { stdio: 'pipe' });
  } catch (e) {
    throw invalidParameter(`Error during "${name}" user creation: couldn't create subordinate ID ranges: ${((e as { stderr?: Buffer }).stderr?.toString() || (e as Error).message).trim()}`);
  }
}

/**
 * The mapping for a `userns-remap` setting; undefined when it is empty or `root` (moby warns
 * that root cannot be remapped with itself). Errors are moby's.
 */
export function loadRemap(setting: string, files: RemapFiles = SYSTEM_FILES): { mapping: IdMapping; user: string } | undefined {
  if (!setting || setting === 'root') return undefined;
  const parts = setting.split(':');
  if (parts.length > 2) throw invalidParameter(`Invalid user/group specification in --userns-remap: ${JSON.stringify(setting)}`);
  let [userPart] = parts;
  const groupPart = parts[1];
  if (userPart === 'default') {
    ensureDefaultUser(files);
    userPart = DEFAULT_REMAP_USER;
  }
  const passwd = entries(files.passwd);
  const numeric = /^\d+$/.test(userPart);
  const user = passwd.find((f) => (numeric ? f[2] === userPart : f[0] === userPart));
  if (!user) {
    throw invalidParameter(numeric ? `Uid ${userPart} has no entry in /etc/passwd` : `Error during uid lookup for ${JSON.stringify(userPart)}: unable to find entry ${JSON.stringify(userPart)} in passwd database`);
  }
  const groups = entries(files.group);
  const wantGroup = groupPart ?? user[0];
  const group = groups.find((f) => (/^\d+$/.test(wantGroup) ? f[2] === wantGroup : f[0] === wantGroup));
  if (!group && groupPart !== undefined) throw invalidParameter(`Error during groupname lookup for ${JSON.stringify(groupPart)}: unable to find entry ${JSON.stringify(groupPart)} in group database`);
  const uids: IdRange[] = subordinateRanges(existsSync(files.subuid) ? readFileSync(files.subuid, 'utf8') : '', user[0], Number(user[2]));
  const gids: IdRange[] = subordinateRanges(existsSync(files.subgid) ? readFileSync(files.subgid, 'utf8') : '', user[0], Number(user[2]));
  if (!uids.length) throw invalidParameter(`Can't create ID mappings: no subuid ranges found for user ${JSON.stringify(user[0])}`);
  if (!gids.length) throw invalidParameter(`Can't create ID mappings: no subgid ranges found for user ${JSON.stringify(user[0])}`);
  return { mapping: new IdMapping({ uids, gids }), user: user[0] };
}

/**
 * Every directory above the remapped root must let container root through (o+x), or the
 * runtime cannot reach the root filesystem from inside the user namespace (moby's canAccess).
 */
export function checkTraversable(path: string): void {
  for (let p = dirname(path); ; p = dirname(p)) {
    const mode = statSync(p).mode;
    if ((mode & 0o001) === 0) {
      throw invalidParameter(`a subdirectory in your graphroot path (${p}) restricts access to the remapped root uid/gid; please fix by allowing 'o+x' permissions on existing directories`);
    }
    if (p === '/') return;
  }
}
