/**
 * Resolves `--user name|uid[:group|gid]` against the container's own /etc/passwd and
 * /etc/group, as runc's libcontainer/user does, reading them straight from the layer
 * directories (the root file system is only mounted by the shim, later).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidParameter } from '../../errdefs/index.ts';

export interface ExecUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length < 4 || line.startsWith('#')) continue;
    out.push({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length < 3 || line.startsWith('#')) continue;
    out.push({ name: f[0], gid: Number(f[2]), members: f[3] ? f[3].split(',').filter(Boolean) : [] });
  }
  return out;
}

const isNum = (s: string) => /^\d+$/.test(s);

/** Pure resolution, given the files' contents (undefined when a file is missing). */
export function resolveUser(spec: string, passwdText: string | undefined, groupText: string | undefined, groupAdd: string[] = []): ExecUser {
  const [userPart, groupPart] = spec.split(':', 2) as [string, string | undefined];
  const users = passwdText ? parsePasswd(passwdText) : [];
  const groups = groupText ? parseGroup(groupText) : [];
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  const u = userPart === '' ? users.find((e) => e.uid === 0) : users.find((e) => e.name === userPart || (isNum(userPart) && e.uid === Number(userPart)));
  if (u) {
    uid = u.uid;
    gid = u.gid;
    home = u.home || '/';
    name = u.name;
  } else if (userPart === '') {
    uid = 0;
  } else if (isNum(userPart)) {
    uid = Number(userPart);
  } else {
    throw invalidParameter(`unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (groupPart !== undefined && groupPart !== '') {
    const g = groups.find((e) => e.name === groupPart || (isNum(groupPart) && e.gid === Number(groupPart)));
    if (g) gid = g.gid;
    else if (isNum(groupPart)) gid = Number(groupPart);
    else throw invalidParameter(`unable to find group ${groupPart}: no matching entries in group file`);
  }
  // moby's getUser: the primary group, the user's memberships (implicit form only), --group-add.
  const additional = [gid];
  if (name && groupPart === undefined) {
    for (const g of groups) if (g.members.includes(name)) additional.push(g.gid);
  }
  for (const ga of groupAdd) {
    const g = groups.find((e) => e.name === ga || (isNum(ga) && e.gid === Number(ga)));
    if (g) additional.push(g.gid);
    else if (isNum(ga)) additional.push(Number(ga));
    else throw invalidParameter(`Unable to find group ${ga}: no matching entries in group file`);
  }
  return { uid, gid, additionalGids: additional, home };
}

/** Reads `path` from the topmost layer directory that has it (no whiteout handling needed for /etc files in practice). */
export async function readFromLayers(layerDirs: string[], path: string): Promise<string | undefined> {
  for (const dir of layerDirs) {
    try {
      return await readFile(join(dir, path), 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
    }
  }
  return undefined;
}

export async function lookupUser(layerDirs: string[], spec: string, groupAdd: string[] = []): Promise<ExecUser> {
  // Numeric uid:gid with no supplementary groups needs no files, which keeps that path cheap.
  if (/^\d+:\d+$/.test(spec) && groupAdd.length === 0) {
    const [uid, gid] = spec.split(':').map(Number);
    const passwd = await readFromLayers(layerDirs, 'etc/passwd');
    const home = passwd ? parsePasswd(passwd).find((e) => e.uid === uid)?.home : undefined;
    return { uid, gid, additionalGids: [gid], home: home || '/' };
  }
  const [passwd, group] = await Promise.all([readFromLayers(layerDirs, 'etc/passwd'), readFromLayers(layerDirs, 'etc/group')]);
  return resolveUser(spec, passwd, group, groupAdd);
}
