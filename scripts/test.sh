#!/bin/sh
# `npm test`: set up (idempotent), lint (types and import boundaries), then unit and
# integration tests. Integration tests start their own berthd with their own data root,
# socket and cgroup parent, and clean up after themselves.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
node_modules/node/bin/node node_modules/.bin/tsc -p .
node_modules/node/bin/node node_modules/.bin/depcruise --config .dependency-cruiser.cjs src
exec node_modules/node/bin/node --test --test-concurrency=2 --test-timeout=300000 --test-global-setup=test/global-setup.ts "src/**/*.test.ts" "test/**/*.test.ts"
