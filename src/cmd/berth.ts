/** berth: the CLI entry point. Everything else lives in src/cli. */
import { main } from '../cli/main.ts';
import { setRegistryRunner } from '../cli/commands/registry/registry.ts';

// A reader that went away (`berth images | head -1`) ends the command quietly, as a Go CLI's
// broken pipe does, instead of an unhandled error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

// The registry server is a separate program sharing the binary, bundled apart (a fifth of the
// CLI's code, with bcrypt) beside this one so that no other command reads or compiles it.
setRegistryRunner(async () => {
  const { createRequire } = await import('node:module');
  return (createRequire(`${__dirname}/`)('./berth-registry.cjs') as typeof import('./registry.ts')).runRegistry;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Let piped output drain, then exit even if a stdin listener keeps the loop alive.
    if (process.stdout.writableLength === 0) process.exit(code);
    process.stdout.once('drain', () => process.exit(code));
  },
  (e: unknown) => {
    process.stderr.write(`berth: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(125);
  },
);
