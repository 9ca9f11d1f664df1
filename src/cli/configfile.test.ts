import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadConfig } from './configfile.ts';
import { canonicalHeaderKey, customHeaders } from './headers.ts';
import { proxyVariables } from './proxies.ts';
import { withPruneFilters } from './prunefilters.ts';

function withFile(text: string | undefined, fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cfg-'));
  try {
    if (text !== undefined) writeFileSync(join(dir, 'config.json'), text);
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('loadConfig: settings by any case, wrong types left out with Go\'s message, bad JSON gives none', () => {
  withFile(undefined, (dir) => assert.deepEqual(loadConfig(dir), { cfg: {} }));
  withFile('', (dir) => assert.deepEqual(loadConfig(dir), { cfg: {} }));
  withFile('{"PSFORMAT":"{{.ID}}","psformat":"{{.Names}}","other":1}', (dir) => {
    assert.deepEqual(loadConfig(dir), { cfg: { psFormat: '{{.Names}}', other: 1 } });
  });
  withFile('{"psFormat":5,"auths":{},"HttpHeaders":{"a":1},"imagesFormat":"x"}', (dir) => {
    const { cfg, warning } = loadConfig(dir);
    assert.deepEqual(cfg, { auths: {}, imagesFormat: 'x' });
    assert.equal(warning, `WARNING: Error parsing config file (${join(dir, 'config.json')}): json: cannot unmarshal number into Go struct field ConfigFile.psFormat of type string`);
  });
  withFile('[1]', (dir) => assert.match(loadConfig(dir).warning ?? '', /cannot unmarshal array into Go value of type configfile.ConfigFile$/));
  withFile('{', (dir) => {
    const { cfg, warning } = loadConfig(dir);
    assert.deepEqual(cfg, {});
    assert.match(warning ?? '', /^WARNING: Error parsing config file \(.*config\.json\): /);
  });
});

test('customHeaders: the config file\'s, replaced by the environment\'s CSV list, never the client\'s own', () => {
  assert.equal(canonicalHeaderKey('x-meta-SOURCE'), 'X-Meta-Source');
  assert.deepEqual(customHeaders({ 'x-a': ' 1 ', 'User-Agent': 'no', host: 'no' }, {}), { 'X-A': '1' });
  assert.deepEqual(customHeaders({ 'x-a': '1' }, { DOCKER_CUSTOM_HEADERS: 'one=1,"two=2,x", three = 3 ,four=,five=a=b,five=c' }),
    { One: '1', Two: '2,x', Three: '3', Four: '', Five: 'c' });
  assert.deepEqual(customHeaders(undefined, { BERTH_CUSTOM_HEADERS: 'b=1', DOCKER_CUSTOM_HEADERS: 'd=1' }), { B: '1' });
  assert.throws(() => customHeaders(undefined, { DOCKER_CUSTOM_HEADERS: 'a' }), /missing "=" in key=value pair: 'a'/);
  assert.throws(() => customHeaders(undefined, { DOCKER_CUSTOM_HEADERS: '=b' }), /a key=value pair with an empty key: '=b'/);
  assert.throws(() => customHeaders(undefined, { DOCKER_CUSTOM_HEADERS: 'a="b' }), /value must be formatted as comma-separated key=value pairs/);
  assert.throws(() => customHeaders({ 'bad name': 'x' }, {}), /invalid header field name "bad name"/);
  assert.throws(() => customHeaders({ a: 'x\r\nInjected: 1' }, {}), /invalid header field value for "A"/);
});

test('proxyVariables: the daemon\'s own entry, else default; names the command line sets are kept', () => {
  const cfg = { proxies: { default: { httpProxy: 'http://d:3128', noProxy: 'localhost' }, 'unix:///other.sock': { httpsProxy: 'http://o' } } };
  assert.deepEqual(proxyVariables(cfg, 'unix:///run/berth/berth.sock', new Set(['http_proxy'])),
    [['HTTP_PROXY', 'http://d:3128'], ['NO_PROXY', 'localhost'], ['no_proxy', 'localhost']]);
  assert.deepEqual(proxyVariables(cfg, 'unix:///other.sock', new Set()), [['HTTPS_PROXY', 'http://o'], ['https_proxy', 'http://o']]);
  assert.deepEqual(proxyVariables({}, 'x', new Set()), []);
});

test('withPruneFilters: the file\'s filters joined, a label filter the flags contradict left out', () => {
  const cfg = { pruneFilters: ['label!=keep', 'label=tier=web', 'until=24h', 'bogus'] };
  assert.deepEqual([...withPruneFilters(cfg, new Map())], [['label!', ['keep']], ['label', ['tier=web']], ['until', ['24h']]]);
  assert.deepEqual([...withPruneFilters(cfg, new Map([['label', ['keep']]]))], [['label', ['keep', 'tier=web']], ['until', ['24h']]]);
  assert.deepEqual([...withPruneFilters(cfg, new Map([['label!', ['tier=web']], ['until', ['24h']]]))], [['label!', ['tier=web', 'keep']], ['until', ['24h']]]);
});
