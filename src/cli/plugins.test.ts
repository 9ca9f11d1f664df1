import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectCandidate, listPlugins, pluginDirs, pluginEnv } from './plugins.ts';

const builtins = new Map([['ps', 'ps'], ['list', 'ls'], ['ls', 'ls']]);

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plugins-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function script(dir: string, file: string, metadata: string): string {
  const path = join(dir, file);
  writeFileSync(path, `#!/bin/sh\nprintf '%s' '${metadata}'\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('CLI plugins', () => {
  it('checks candidates as docker does', withDir(async (dir) => {
    const ok = await inspectCandidate(script(dir, 'docker-hello', '{"schemaversion":"0.1.0","vendor":"V","Version":"1"}'), builtins);
    assert.deepEqual(ok, { SchemaVersion: '0.1.0', Vendor: 'V', Version: '1', Name: 'hello', Path: join(dir, 'docker-hello') });
    assert.equal((await inspectCandidate(script(dir, 'docker-Hello', '{}'), builtins)).Err, 'plugin candidate "Hello" did not match "^[a-z][a-z0-9]*$"');
    assert.equal((await inspectCandidate(script(dir, 'docker-ps', '{}'), builtins)).Err, 'plugin "ps" duplicates builtin command');
    assert.equal((await inspectCandidate(script(dir, 'docker-list', '{}'), builtins)).Err, 'plugin "list" duplicates an alias of builtin command "ls"');
    assert.equal((await inspectCandidate(script(dir, 'docker-v', '{"SchemaVersion":"1"}'), builtins)).Err, 'plugin SchemaVersion "1" is not valid, must be 0.1.0');
    assert.equal((await inspectCandidate(script(dir, 'docker-nv', '{"SchemaVersion":"0.1.0"}'), builtins)).Err, 'plugin metadata does not define a vendor');
    assert.match((await inspectCandidate(script(dir, 'docker-bad', 'nope'), builtins)).Err!, /^invalid metadata: /);
    const noexec = join(dir, 'docker-noexec');
    writeFileSync(noexec, '');
    assert.equal((await inspectCandidate(noexec, builtins)).Err, `failed to fetch metadata: fork/exec ${noexec}: permission denied`);
  }));

  it('lists the first of each name in natural order, the rest shadowed', withDir(async (dir) => {
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    mkdirSync(a);
    mkdirSync(b);
    const meta = '{"SchemaVersion":"0.1.0","Vendor":"V"}';
    script(a, 'docker-x10', meta);
    script(a, 'docker-x9', meta);
    script(b, 'docker-x9', meta);
    script(a, 'notaplugin', meta);
    const list = await listPlugins([a, b], builtins);
    assert.deepEqual(list.map((p) => [p.Name, p.Path, p.ShadowedPaths]), [['x9', join(a, 'docker-x9'), [join(b, 'docker-x9')]], ['x10', join(a, 'docker-x10'), undefined]]);
  }));

  it('looks in berth\'s config directory first, then docker\'s', () => {
    const dirs = pluginDirs('/cfg', ['/extra']);
    assert.deepEqual(dirs.slice(0, 2), ['/extra', '/cfg/cli-plugins']);
    assert.ok(dirs.includes('/usr/libexec/docker/cli-plugins'));
  });

  it('hands the plugin berth\'s endpoint under docker\'s names', () => {
    const ep = { configDir: '/cfg', contextName: 'default', host: 'unix:///b.sock' };
    const env = pluginEnv({ DOCKER_HOST: 'unix:///d.sock', DOCKER_CONTEXT: 'x', BERTH_TLS_VERIFY: '1' }, ep, '/bin/berth');
    assert.equal(env.DOCKER_HOST, 'unix:///b.sock');
    assert.equal(env.DOCKER_CONTEXT, undefined);
    assert.equal(env.DOCKER_CONFIG, '/cfg');
    assert.equal(env.DOCKER_TLS_VERIFY, '1');
    assert.equal(env.DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND, '/bin/berth');
    const ctx = pluginEnv({ DOCKER_HOST: 'unix:///d.sock' }, { ...ep, contextName: 'remote' }, '/bin/berth');
    assert.equal(ctx.DOCKER_HOST, undefined);
    assert.equal(ctx.DOCKER_CONTEXT, 'remote');
  });
});
