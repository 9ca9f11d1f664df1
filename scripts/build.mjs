// Builds Berth: bundles the CLI and the daemon with esbuild (one file each, so the CLI starts
// fast) and compiles berth-shim. Idempotent: skips work whose inputs did not change.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, existsSync, statSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
mkdirSync(dist, { recursive: true });

// The node binary the launchers run with: the pinned Node 24 from node_modules.
const nodeBin = join(root, 'node_modules', 'node', 'bin', 'node');
if (!existsSync(nodeBin)) {
  console.error(`build: ${nodeBin} is missing; run npm install first`);
  process.exit(1);
}

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const srcTime = Math.max(newest(join(root, 'src')), statSync(join(root, 'package.json')).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs);
const outs = ['berth.js', 'berthd.js'].map((f) => join(dist, f));
const fresh = outs.every((o) => existsSync(o) && statSync(o).mtimeMs >= srcTime);

if (!fresh || process.argv.includes('--force')) {
  const common = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    sourcemap: false,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: { BERTH_BUILD_TIME: JSON.stringify(new Date().toUTCString()) },
  };
  // CommonJS dependencies bundled into ESM need a require().
  const banner = `#!${nodeBin}\nimport { createRequire as __berthCreateRequire } from 'node:module';\nconst require = __berthCreateRequire(import.meta.url);\n`;
  // Code splitting: what a command loads only on demand (the Go template engine for
  // --format) lands in chunks/, so the common path compiles less at start-up.
  rmSync(join(dist, 'chunks'), { recursive: true, force: true });
  // The CLI is one CommonJS file: Node's CommonJS loader reads it in one step, where the ESM
  // loader resolves, links and evaluates every chunk (measured: ~5 ms of each command's start).
  // Code a command needs only on demand is still evaluated only when asked for.
  await build({ ...common, format: 'cjs', entryPoints: { 'berth-main': join(root, 'src/cmd/berth.ts') }, outdir: dist, outExtension: { '.js': '.cjs' }, banner: { js: `#!${nodeBin}` } });
  // `berth registry` and the Go template engine are required from their own files by the CLI
  // when asked for (src/cmd/berth.ts, src/cli/format.ts).
  await build({ ...common, format: 'cjs', entryPoints: { 'berth-registry': join(root, 'src/cmd/registry.ts'), 'berth-gotemplate': join(root, 'src/lib/gotemplate/index.ts') }, outdir: dist, outExtension: { '.js': '.cjs' } });
  // Node's built-in modules are required, not imported, in the daemon's ESM bundle: an ESM
  // import of a built-in makes its namespace from every export, which runs lazy getters —
  // node:http's WebSocket and friends load undici, http2, tls and ~70 more modules (measured:
  // 13 MiB of RSS, in a daemon whose idle RSS is ~70 MiB). require() leaves them lazy.
  const requireBuiltins = {
    name: 'require-builtins',
    setup(b) {
      // Static imports only: an import() stays native (it runs when needed, and a split
      // chunk of a CommonJS wrapper would export only its default).
      b.onResolve({ filter: /^node:/ }, (a) => (a.namespace === 'builtin' || a.kind === 'dynamic-import' ? { path: a.path, external: true } : { path: a.path, namespace: 'builtin' }));
      b.onLoad({ filter: /.*/, namespace: 'builtin' }, (a) => ({ contents: `module.exports = require(${JSON.stringify(a.path)});`, loader: 'js' }));
    },
  };
  await build({
    ...common,
    plugins: [requireBuiltins],
    entryPoints: { 'berthd-main': join(root, 'src/cmd/berthd.ts'), 'layer-worker': join(root, 'src/daemon/images/layerworker.ts') },
    outdir: dist,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    banner: { js: banner },
  });
  // V8 keeps each script's source for lazy compilation: one character past Latin-1 makes it a
  // two-byte string, twice the file's size in the daemon's heap for its whole life. esbuild
  // escapes strings; what it leaves are comments it keeps (on class fields), made Latin-1 here.
  const latin1Only = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) latin1Only(p);
      else if (/\.c?js$/.test(e.name)) {
        const text = readFileSync(p, 'utf8');
        if (!/[^\x00-\xff]/.test(text)) continue;
        const fixed = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\x00-\xff]/g, '?'));
        const left = /[^\x00-\xff]/.exec(fixed);
        if (left) throw new Error(`build: ${p} has a character past Latin-1 outside comments: ${JSON.stringify(fixed.slice(Math.max(0, left.index - 40), left.index + 10))}`);
        writeFileSync(p, fixed);
      }
    }
  };
  latin1Only(dist);
  // The launchers turn on V8's compile cache (in the system's temp dir) before loading the
  // bundles: the CLI then starts without recompiling its code on every run. They also name
  // the process (Node 24 names its main thread "MainThread"), so pidof/pgrep -x/ps find it.
  for (const name of ['berth', 'berthd']) {
    const load = name === 'berth' ? `module.createRequire(import.meta.url)('./berth-main.cjs');` : `await import('./${name}-main.js');`;
    // `--` ends node's own options: node otherwise takes a `--env-file` among the command's
    // arguments for its own and exits when that file is missing (nodejs/node#54232), so
    // `berth run --env-file missing.env` would fail in node's words before berth ran.
    writeFileSync(join(dist, `${name}.js`), `#!${nodeBin} --\n// Launcher: process name, compile cache, then the bundle.\nprocess.title = '${name}';\nimport module from 'node:module';\nmodule.enableCompileCache?.();\n${load}\n`);
  }
  for (const o of outs) chmodSync(o, 0o755);
}

execFileSync('make', ['-s', '-C', join(root, 'shim')], { stdio: 'inherit' });
