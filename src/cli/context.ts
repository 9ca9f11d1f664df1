/** What every CLI command gets: the API client, the standard streams and the settings. */
import type { Client } from '../client/client.ts';
import type { ClientTls } from '../client/dial.ts';
import { isDaemonError } from '../client/http.ts';
import type { ConfigFile } from './configfile.ts';
import type { Plugin } from './plugins.ts';

export interface CliContext {
  client: Client;
  host: string;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  /** The command path for messages: "berth run". */
  commandPath: string;
  configDir: string;
  /** The config file's settings (read once, on first use; docker's warning if it is malformed). */
  readonly config: ConfigFile;
  /** The context in use (`default` unless one is chosen). */
  contextName: string;
  /** The "default" context's endpoint: -H, BERTH_HOST / DOCKER_HOST or Berth's socket, and the TLS flags. */
  defaultHost: string;
  defaultTls?: ClientTls;
  /** The CLI plugins installed (valid or not), as `info` lists them. */
  plugins: () => Promise<Plugin[]>;
  /** -D/--debug was given. */
  debug: boolean;
}

/** A failure with the exit code the CLI must end with (docker's cli.StatusError). */
export class StatusError extends Error {
  readonly status: number;
  constructor(status: number, message = '') {
    super(message);
    this.status = status;
  }
}

export function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(text)) resolve();
    else stream.once('drain', () => resolve());
  });
}

/** An error as the docker CLI prints it: daemon answers prefixed "Error response from daemon: ". */
export function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return isDaemonError(e) ? `Error response from daemon: ${msg}` : msg;
}

/**
 * `rm` of several objects (volumes, networks): each name printed as it goes, the errors
 * together at the end with exit 1; `skip` tells errors to pass over (rm -f of a missing one).
 */
export async function removeEach(ctx: CliContext, names: string[], remove: (n: string) => Promise<void>, skip: (e: unknown) => boolean = () => false): Promise<number> {
  const errors: string[] = [];
  for (const n of names) {
    try {
      await remove(n);
      ctx.stdout.write(`${n}\n`);
    } catch (e) {
      if (!skip(e)) errors.push(errorText(e));
    }
  }
  if (errors.length) throw new StatusError(1, errors.join('\n'));
  return 0;
}
