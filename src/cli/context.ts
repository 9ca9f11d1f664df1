/** What every CLI command gets: the API client, the standard streams and the settings. */
import type { Client } from '../client/client.ts';

export interface CliContext {
  client: Client;
  host: string;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  /** The command path for messages: "berth run". */
  commandPath: string;
  configDir: string;
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
