/**
 * Freezing a container's processes (what `docker commit` does by default, so the layer is
 * taken from a quiet filesystem): the cgroup v1 freezer when mounted, else cgroup v2's
 * cgroup.freeze. A cgroup that is not there (a container that just exited) is not an error.
 */
import { readFile, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';

const ROOT = '/sys/fs/cgroup';

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

/** Sets the frozen state of the cgroup at `path` (e.g. "/berth/<id>"); false if there is none. */
export async function setFrozen(path: string, frozen: boolean): Promise<boolean> {
  const v1 = join(ROOT, 'freezer', path, 'freezer.state');
  if (await exists(v1)) {
    await writeFile(v1, frozen ? 'FROZEN' : 'THAWED');
    for (let i = 0; i < 200; i++) {
      const state = (await readFile(v1, 'utf8')).trim();
      if (state === (frozen ? 'FROZEN' : 'THAWED')) return true;
      await new Promise((r) => setTimeout(r, 5));
    }
    return true;
  }
  for (const base of [join(ROOT, 'unified', path), join(ROOT, path)]) {
    const f = join(base, 'cgroup.freeze');
    if (await exists(f)) {
      await writeFile(f, frozen ? '1' : '0');
      return true;
    }
  }
  return false;
}
