import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

/**
 * A commit without --pause walks a running container's files while it changes them. In a worker
 * (where commits run) the walk uses blocking calls; a file listed and then removed before it is
 * read must be passed over there too, not end the commit with ENOENT.
 */
test('packing in a worker passes over files removed while the tree is walked', async () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-pack-'));
  try {
    const dirs = Array.from({ length: 4 }, (_, d) => `d${d}`);
    for (const d of dirs) {
      mkdirSync(join(root, d));
      for (let f = 0; f < 1500; f++) {
        writeFileSync(join(root, d, `f${String(f).padStart(4, '0')}`), 'x'.repeat(f % 300));
        if (f % 50 === 0) symlinkSync(`f${f}`, join(root, d, `l${String(f).padStart(4, '0')}`));
      }
    }
    // The worker packs; this thread removes the files meanwhile, in the walk's order, so entries
    // vanish between the listing of their directory and their lstat, readlink or read.
    const src = `
      import { packTree } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'pack.ts')).href)};
      import { parentPort, workerData } from 'node:worker_threads';
      let bytes = 0;
      parentPort.postMessage('walking');
      try {
        for await (const c of packTree(workerData)) bytes += c.length;
        parentPort.postMessage({ ok: true, bytes });
      } catch (e) {
        parentPort.postMessage({ ok: false, error: String(e) });
      }`;
    const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(src)}`), { workerData: root });
    const result = new Promise<{ ok: boolean; error?: string }>((resolve, reject) => {
      w.on('message', (m: unknown) => {
        if (m === 'walking') {
          for (const d of dirs) for (const n of readdirSync(join(root, d))) rmSync(join(root, d, n), { force: true });
        } else resolve(m as { ok: boolean; error?: string });
      });
      w.once('error', reject);
    });
    const r = await result;
    await w.terminate();
    assert.deepEqual(r.ok ? 'ok' : r.error, 'ok');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
