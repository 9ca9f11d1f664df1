/**
 * Node modules the CLI loads on first use: each costs milliseconds of every command's start
 * (node:fs/promises brings readline and file streams with it), and most commands need neither.
 */
import type * as FsPromises from 'node:fs/promises';
import type * as StreamPromises from 'node:stream/promises';

export const fsp = (): typeof FsPromises => process.getBuiltinModule('node:fs/promises');
export const streamp = (): typeof StreamPromises => process.getBuiltinModule('node:stream/promises');
