/**
 * `berth system dial-stdio` (hidden, as docker's): joins its stdin and stdout to a connection to
 * the daemon, so a CLI on another host can talk to this one through ssh (`-H ssh://host`). Each
 * direction's end is passed on as a half-close; the daemon closing its side ends the command
 * without waiting for stdin (which a terminal never closes).
 */
import { defineCommand } from '../../flags/spec.ts';
import type { CliContext } from '../../context.ts';
import type { Parsed } from '../../flags/spec.ts';

export const dialStdioCommand = defineCommand({
  name: 'dial-stdio', usage: '', short: 'Proxy the stdio stream to the daemon connection. Should not be invoked manually.', args: { max: 0 }, hidden: true,
});

export async function dialStdio(ctx: CliContext, _p: Parsed): Promise<number> {
  const conn = await ctx.client.t.connect();
  const stdin = ctx.stdin;
  const stdout = ctx.stdout;
  return new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      stdin.pause();
      resolve(code);
    };
    stdin.pipe(conn);
    stdin.on('error', () => conn.end());
    conn.on('data', (b: Buffer) => {
      if (!stdout.write(b)) {
        conn.pause();
        stdout.once('drain', () => conn.resume());
      }
    });
    // What was written drains before the process exits (main waits for it).
    conn.on('end', () => finish(0));
    conn.on('error', (e) => {
      ctx.stderr.write(`error while Copy (stream to stdout): ${e.message}\n`);
      finish(1);
    });
    stdout.on('error', () => {
      conn.destroy();
      finish(1);
    });
  });
}
