import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLogConfig, logPathFor, mergeLogConfig } from './logdriver.ts';

const refused = (type: string, opts: Record<string, string>, msg: string) => assert.throws(() => checkLogConfig(type, opts), (e: Error) => e.message === msg, `${type} ${JSON.stringify(opts)}`);

test('the daemon\'s log options go under a container\'s own only when the driver is the daemon\'s', () => {
  const daemon = { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } };
  assert.deepEqual(mergeLogConfig(undefined, daemon), daemon);
  assert.deepEqual(mergeLogConfig({ Type: '', Config: { 'max-size': '5m' } }, daemon), { Type: 'json-file', Config: { 'max-size': '5m', 'max-file': '2' } });
  assert.deepEqual(mergeLogConfig({ Type: 'none', Config: {} }, daemon), { Type: 'none', Config: {} });
  assert.deepEqual(mergeLogConfig(undefined, undefined), { Type: 'json-file', Config: {} });
});

test('gelf options are checked as moby checks them, in its words', () => {
  checkLogConfig('gelf', { 'gelf-address': 'udp://h:12201', 'gelf-compression-type': 'zlib', 'gelf-compression-level': '-1', tag: 'x', 'cache-disabled': 'true' });
  checkLogConfig('gelf', { 'gelf-address': 'tcp://[::1]:12201', 'gelf-tcp-max-reconnect': '0', 'gelf-tcp-reconnect-delay': '2' });
  refused('gelf', {}, 'gelf-address is a required parameter');
  refused('gelf', { 'gelf-address': 'h:1' }, 'gelf: endpoint needs to be TCP or UDP');
  refused('gelf', { 'gelf-address': 'udp://h' }, 'gelf: please provide gelf-address as proto://host:port');
  refused('gelf', { 'gelf-address': 'tcp://h:1', 'gelf-compression-level': '1' }, 'compression is only supported on UDP');
  refused('gelf', { 'gelf-address': 'udp://h:1', 'gelf-compression-level': 'x' }, 'unknown value "x" for log opt "gelf-compression-level" for gelf log driver');
  refused('gelf', { 'gelf-address': 'tcp://h:1', 'gelf-tcp-max-reconnect': '1.5' }, '"gelf-tcp-max-reconnect" must be a positive integer');
  refused('gelf', { 'gelf-address': 'udp://h:1', 'max-file': '1' }, 'unknown log opt "max-file" for gelf log driver');
  refused('gelf', { 'gelf-address': 'udp://h:1', 'cache-disabled': 'maybe' }, 'invalid value for log opt cache-disabled: strconv.ParseBool: parsing "maybe": invalid syntax');
});

test('fluentd options are checked as moby checks them, in its words', () => {
  checkLogConfig('fluentd', {});
  checkLogConfig('fluentd', { 'fluentd-address': 'unix:///run/fluent.sock', 'fluentd-async': 'true', 'fluentd-async-reconnect-interval': '0', 'fluentd-buffer-limit': '8k', 'fluentd-max-retries': '2147483647' });
  checkLogConfig('fluentd', { 'fluentd-address': 'tcp://[::1]', 'fluentd-retry-wait': '1.5s', 'fluentd-write-timeout': '1s', 'fluentd-read-timeout': '0s' });
  refused('fluentd', { 'fluentd-address': 'udp://h:1' }, "invalid fluentd-address (udp://h:1): unsupported scheme: 'udp'");
  refused('fluentd', { 'fluentd-address': 'h:x' }, 'invalid fluentd-address (h:x): invalid port: strconv.ParseUint: parsing "x": invalid syntax');
  refused('fluentd', { 'fluentd-max-retries': '2147483648' }, 'invalid fluentd-max-retries: value out of range');
  refused('fluentd', { 'fluentd-max-retries': '4294967296' }, 'strconv.ParseUint: parsing "4294967296": value out of range');
  refused('fluentd', { 'fluentd-async-reconnect-interval': '11s' }, 'invalid value for fluentd-async-reconnect-interval: value ("11s") must be between 100ms and 10s');
  refused('fluentd', { 'fluentd-read-timeout': 'x' }, 'invalid value for fluentd-read-timeout: value must be a duration: time: invalid duration "x"');
  refused('fluentd', { 'fluentd-sub-second-precision': 'yes' }, 'strconv.ParseBool: parsing "yes": invalid syntax');
  refused('fluentd', { 'syslog-address': 'udp://h:1' }, "unknown log opt 'syslog-address' for fluentd log driver");
});

test('the remote drivers keep dual logging\'s cache unless it is disabled; json-file\'s file is beside the container', () => {
  assert.equal(logPathFor({ Type: 'fluentd', Config: {} }, '/c', 'id'), '/c/container-cached.log');
  assert.equal(logPathFor({ Type: 'gelf', Config: { 'cache-disabled': 'true' } }, '/c', 'id'), '');
  assert.equal(logPathFor({ Type: 'json-file', Config: {} }, '/c', 'id'), '/c/id-json.log');
  assert.equal(logPathFor({ Type: 'none', Config: {} }, '/c', 'id'), '');
});
