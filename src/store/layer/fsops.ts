/**
 * File-system operations Node has no API for (mknod, setxattr), needed rarely while applying
 * layers: device nodes, overlay whiteouts (0/0 character devices) and opaque directories
 * (`trusted.overlay.opaque=y`). They are spawned as small tools, which is slow but only paid
 * for the few entries that need them.
 */
import { spawn } from 'node:child_process';
import { system } from '../../errdefs/index.ts';

export interface FsOps {
  mknod(path: string, type: 'c' | 'b' | 'p', mode: number, major: number, minor: number): Promise<void>;
  /** Marks `path` deleted in an overlay upper layer. */
  whiteout(path: string): Promise<void>;
  /** Hides everything below `dir` in lower layers. */
  setOpaque(dir: string): Promise<void>;
  setXattr(path: string, name: string, value: Buffer): Promise<void>;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => reject(system(`${cmd}: ${e.message}`, e)));
    p.on('close', (code) => (code === 0 ? resolve() : reject(system(`${cmd} ${args.join(' ')}: ${err.trim() || `exit ${code}`}`))));
  });
}

export const spawnFsOps: FsOps = {
  async mknod(path, type, mode, major, minor) {
    const args = ['-m', (mode & 0o7777).toString(8), path, type];
    if (type !== 'p') args.push(String(major), String(minor));
    await run('mknod', args);
  },
  async whiteout(path) {
    await run('mknod', ['-m', '0', path, 'c', '0', '0']);
  },
  async setOpaque(dir) {
    await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', dir]);
  },
  async setXattr(path, name, value) {
    // Base64 (setfattr's 0s form): values are binary (file capabilities hold NUL bytes).
    await run('setfattr', ['-h', '-n', name, '-v', `0s${value.toString('base64')}`, path]);
  },
};
