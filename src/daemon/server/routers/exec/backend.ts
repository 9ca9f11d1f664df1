import type { Duplex } from 'node:stream';
import type { ExecCreateInput } from '../../bodies.ts';

/** What the exec routes need from the daemon. */
export interface ExecBackend {
  create(container: string, body: ExecCreateInput): { Id: string };
  inspect(id: string): unknown;
  /** Validates before a hijack (a start that cannot run answers an error, not a stream). */
  check(id: string): void;
  /** `tty`: the start body's Tty, which decides the stream's framing (moby's execStartCheck). */
  start(id: string, opts: { detach: boolean; tty: boolean; consoleSize?: [number, number] }, stream?: Duplex): Promise<void>;
  resize(id: string, rows: number, cols: number): Promise<void>;
}
