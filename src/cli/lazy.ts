/**
 * Node modules the CLI loads on first use: each costs milliseconds of every command's start
 * (node:fs/promises brings readline and file streams with it), and most commands need neither.
 */
import type * as FsPromises from 'node:fs/promises';
import type * as StreamPromises from 'node:stream/promises';
import type * as ChildProcess from 'node:child_process';

export const fsp = (): typeof FsPromises => process.getBuiltinModule('node:fs/promises');
export const streamp = (): typeof StreamPromises => process.getBuiltinModule('node:stream/promises');
/** child_process brings dgram and socket lists with it: only for a credential helper. */
export const childProcess = (): typeof ChildProcess => process.getBuiltinModule('node:child_process');
