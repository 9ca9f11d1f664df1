import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contextEndpoint, currentContextName, getContext, listContexts, metaDir, removeContext, setCurrentContext, validateNewName, writeContext } from './contexts.ts';

const saved = { ...process.env };
afterEach(() => {
  for (const k of ['BERTH_HOST', 'DOCKER_HOST', 'BERTH_CONTEXT', 'DOCKER_CONTEXT']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

function clearVars(): void {
  for (const k of ['BERTH_HOST', 'DOCKER_HOST', 'BERTH_CONTEXT', 'DOCKER_CONTEXT']) delete process.env[k];
}

describe('contexts', () => {
  it('names: docker\'s rules and words', () => {
    validateNewName('ab');
    validateNewName('my-ctx_1.2+x');
    assert.throws(() => validateNewName(''), /context name cannot be empty/);
    assert.throws(() => validateNewName('default'), /"default" is a reserved context name/);
    assert.throws(() => validateNewName('x'), /context name "x" is invalid/, 'two characters at least, as docker\'s pattern');
    assert.throws(() => validateNewName('-ab'), /is invalid, names are validated against regexp "\^\[a-zA-Z0-9\]\[a-zA-Z0-9_\.\+-\]\+\$"/);
    assert.throws(() => validateNewName('a/b'), /is invalid/);
  });

  it('the current context, in docker\'s order of precedence', () => {
    const dir = mkdtempSync('/tmp/bt-ctxunit-');
    try {
      clearVars();
      assert.equal(currentContextName(dir, undefined, []), 'default', 'no config file');
      setCurrentContext(dir, 'fromcfg');
      assert.equal(currentContextName(dir, undefined, []), 'fromcfg');
      process.env.DOCKER_CONTEXT = 'dockerenv';
      assert.equal(currentContextName(dir, undefined, []), 'dockerenv');
      process.env.BERTH_CONTEXT = 'berthenv';
      assert.equal(currentContextName(dir, undefined, []), 'berthenv');
      process.env.DOCKER_HOST = 'unix:///x';
      assert.equal(currentContextName(dir, undefined, []), 'default', 'a host variable means the default context');
      assert.equal(currentContextName(dir, 'flag', []), 'flag', '--context wins over all');
      clearVars();
      assert.equal(currentContextName(dir, undefined, ['unix:///y']), 'default', '-H too');
      // Going back to default drops the key and keeps the others.
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { a: {} }, currentContext: 'x' }));
      setCurrentContext(dir, 'default');
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), { auths: { a: {} } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stored as docker stores them, and reached as their endpoint says', () => {
    const dir = mkdtempSync('/tmp/bt-ctxunit-');
    try {
      writeContext(dir, { meta: { Name: 'web', Metadata: { Description: 'd' }, Endpoints: { docker: { Host: 'tcp://h:2376', SkipTLSVerify: false } } }, tls: { 'ca.pem': Buffer.from('CA') } });
      // docker's directory: the name's sha256.
      assert.equal(metaDir(dir, 'web'), join(dir, 'contexts/meta/4b5e57f6eb2f42b9039b3d1e13929295f231749c510cbe341cd68036d9af97e2'));
      assert.equal(readFileSync(join(metaDir(dir, 'web'), 'meta.json'), 'utf8'), '{"Name":"web","Metadata":{"Description":"d"},"Endpoints":{"docker":{"Host":"tcp://h:2376","SkipTLSVerify":false}}}');
      const c = getContext(dir, 'web');
      assert.deepEqual(contextEndpoint(c), { host: 'tcp://h:2376', tls: { verify: true, ca: Buffer.from('CA') } });
      assert.deepEqual(listContexts(dir).map((x) => x.meta.Name), ['web']);
      // No material and no skip: plain; skip alone: TLS without verification; no host: berth's socket.
      assert.deepEqual(contextEndpoint({ meta: { Name: 'p', Metadata: {}, Endpoints: { docker: { Host: 'tcp://h:2375', SkipTLSVerify: false } } }, tls: {} }), { host: 'tcp://h:2375' });
      assert.deepEqual(contextEndpoint({ meta: { Name: 's', Metadata: {}, Endpoints: { docker: { Host: 'tcp://h:2376', SkipTLSVerify: true } } }, tls: {} }), { host: 'tcp://h:2376', tls: { verify: false } });
      assert.deepEqual(contextEndpoint({ meta: { Name: 'e', Metadata: {}, Endpoints: {} }, tls: {} }), { host: 'unix:///run/berth/berth.sock' });
      assert.throws(() => getContext(dir, 'nope'), /^Error: context "nope": context not found: open .*\/meta\.json: no such file or directory$/);
      removeContext(dir, 'web');
      assert.deepEqual(listContexts(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

