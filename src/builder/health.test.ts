import { test } from 'node:test';
import assert from 'node:assert/strict';
import { healthText } from './build.ts';

test('HEALTHCHECK history text is Go\'s %q of the health config, as moby records it', () => {
  assert.equal(healthText({ Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], Interval: 30e9, Timeout: 5e9, Retries: 3 }),
    `&{["CMD-SHELL" "curl -f http://localhost/ || exit 1"] "30s" "5s" "0s" "0s" '\\x03'}`);
  assert.equal(healthText({ Test: ['NONE'] }), `&{["NONE"] "0s" "0s" "0s" "0s" '\\x00'}`);
  assert.equal(healthText({ Test: ['CMD', 'probe', 'say "hi"'], Interval: 90e9, Timeout: 1.5e9, StartPeriod: 5e8, StartInterval: 2e9, Retries: 65 }),
    `&{["CMD" "probe" "say \\"hi\\""] "1m30s" "1.5s" "500ms" "2s" 'A'}`);
});
