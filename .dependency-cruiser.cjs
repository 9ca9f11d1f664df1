/**
 * Import boundaries (see docs/architecture.md): dependencies point one way,
 * cli → client → (wire) → daemon/server → Backend interfaces → services → store/runtime.
 */
const only = (name, from, allowed, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: '^src/', pathNot: [from, ...allowed] },
});

module.exports = {
  forbidden: [
    only('api-is-a-leaf', '^src/api/', [], 'the wire contract imports nothing internal'),
    only('errdefs-is-a-leaf', '^src/errdefs/', [], 'error kinds import nothing internal'),
    only('lib-leaf', '^src/lib/', ['^src/errdefs/'], 'lib holds leaf utilities'),
    only('client-layer', '^src/client/', ['^src/api/', '^src/errdefs/', '^src/lib/'], 'the client speaks only the wire contract'),
    only('cli-layer', '^src/cli/', ['^src/client/', '^src/api/', '^src/errdefs/', '^src/lib/'], 'the CLI never reaches daemon, store or runtime code'),
    only('store-layer', '^src/store/', ['^src/errdefs/', '^src/lib/', '^src/api/'], 'stores know nothing of daemon or runtime'),
    only('runtime-layer', '^src/runtime/', ['^src/errdefs/', '^src/lib/', '^src/store/snapshots/'], 'the runtime adapter stays thin'),
    only('network-layer', '^src/network/', ['^src/errdefs/', '^src/lib/', '^src/store/snapshots/'], 'networking is a service below the daemon'),
    only('distribution-layer', '^src/distribution/', ['^src/store/content/', '^src/api/', '^src/errdefs/', '^src/lib/'], 'registry client'),
    only('registry-layer', '^src/registry/', ['^src/errdefs/', '^src/lib/'], 'the registry server has its own storage'),
    only('builder-layer', '^src/builder/', ['^src/api/', '^src/errdefs/', '^src/lib/'], 'the builder declares the backend it needs'),
    only('server-layer', '^src/daemon/server/', ['^src/api/', '^src/errdefs/', '^src/lib/'], 'routers see only the Backend interfaces they declare'),
    {
      name: 'only-cmd-wires-the-daemon',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cmd/' },
      to: { path: '^src/daemon/daemon\\.ts$' },
    },
    {
      name: 'nothing-imports-cmd',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cmd/' },
      to: { path: '^src/cmd/' },
    },
    {
      name: 'daemon-services-not-cli',
      severity: 'error',
      from: { path: '^src/daemon/' },
      to: { path: '^src/(cli|client|cmd)/' },
    },
    { name: 'no-circular-across-layers', severity: 'warn', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
