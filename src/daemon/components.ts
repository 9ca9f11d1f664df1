/**
 * The versions of the programs berthd runs containers with — the default OCI runtime and the
 * `--init` binary — as `version` (Components) and `info` (RuncCommit, InitCommit) report them.
 * dockerd asks each binary for `--version` on every request; berthd asks once, at start, since
 * both are fixed for its lifetime (the runtime even runs from a sealed copy made at start).
 */
import { basename } from 'node:path';
import { runCommand } from '../lib/spawner.ts';

export interface ComponentVersion {
  /** The name shown: the runtime's configured name, the init binary's file name. */
  name: string;
  version: string;
  commit: string;
}

export interface Components {
  runtime: ComponentVersion | undefined;
  init: ComponentVersion | undefined;
}

/**
 * `runc --version` / `crun --version`, as moby's parseRuntimeVersion reads them: the words
 * after "version" on the line that has it, and the `commit:` line.
 */
export function parseRuntimeVersion(out: string): { version: string; commit: string } | undefined {
  let version = '';
  let commit = '';
  for (const line of out.trim().split('\n')) {
    if (line.includes('version')) {
      const parts = line.split('version');
      version = parts[parts.length - 1]!.trim();
    } else if (line.startsWith('commit:')) {
      commit = line.slice('commit:'.length).trim();
    }
  }
  return version || commit ? { version, commit } : undefined;
}

/** `tini --version` ("tini version 0.18.0 - git.fec3683"), as moby's parseInitVersion reads it. */
export function parseInitVersion(out: string): { version: string; commit: string } | undefined {
  const parts = out.split(' - ');
  let commit = '';
  if (parts.length >= 2) {
    const git = parts[1]!.trim().split('.');
    if (git.length === 2 && git[0] === 'git') commit = git[1]!;
  }
  const head = parts[0]!.trim();
  const version = head.startsWith('tini version ') ? head.slice('tini version '.length) : '';
  return version || commit ? { version, commit } : undefined;
}

async function ask(path: string): Promise<string | undefined> {
  try {
    const r = await runCommand(path, ['--version']);
    return r.code === 0 ? r.stdout : undefined;
  } catch {
    return undefined;
  }
}

/** Asks both binaries; one that cannot answer (or answers in another format) is left out. */
export async function probeComponents(runtime: { name: string; path: string | undefined }, initPath: string | undefined): Promise<Components> {
  const [rt, init] = await Promise.all([runtime.path ? ask(runtime.path) : undefined, initPath ? ask(initPath) : undefined]);
  const r = rt === undefined ? undefined : parseRuntimeVersion(rt);
  const i = init === undefined ? undefined : parseInitVersion(init);
  return {
    runtime: r && { name: runtime.name, ...r },
    init: i && initPath ? { name: basename(initPath), ...i } : undefined,
  };
}
