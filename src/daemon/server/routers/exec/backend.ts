import type { Duplex } from 'node:stream';

/** What the exec routes need from the daemon. */
export interface ExecBackend {
  create(container: string, body: unknown): { Id: string };
  inspect(id: string): unknown;
  /** Validates before a hijack; tells whether the stream has a TTY. */
  check(id: string): { tty: boolean };
  start(id: string, opts: { detach: boolean; consoleSize?: [number, number] }, stream?: Duplex): Promise<void>;
  resize(id: string, rows: number, cols: number): Promise<void>;
}
