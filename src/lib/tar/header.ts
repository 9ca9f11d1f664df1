/**
 * Tar headers, both directions: POSIX ustar blocks, PAX extended records (local `x` and global
 * `g`), GNU long names (`L`/`K`) and base-256 numbers, as Go's archive/tar (and so docker)
 * reads and writes them.
 *
 * Our own rather than a library's because layers are the product: PAX record values are bytes,
 * not text. An extended attribute (a file capability, an SELinux label, anything a program put
 * there) must come back byte for byte, and general tar libraries decode records as UTF-8.
 */
export const BLOCK = 512;

export type EntryType =
  | 'file'
  | 'link'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | 'contiguous-file'
  | 'other';

export interface TarHeader {
  name: string;
  type: EntryType;
  /** The raw type flag, for entries of type 'other'. */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes (SCHILY.xattr.* / LIBARCHIVE.xattr.*), values as bytes. */
  xattrs: [string, Buffer][];
}

export class TarFormatError extends Error {}

const TYPE_BY_FLAG: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
  '7': 'contiguous-file',
};
const FLAG_BY_TYPE: Record<EntryType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
  'contiguous-file': '7',
  other: '0',
};

/** A NUL-terminated field as text. */
function str(b: Buffer, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && b[end] !== 0) end++;
  return b.toString('utf8', off, end);
}

/** An octal (or, with the high bit set, base-256) number field. */
function num(b: Buffer, off: number, len: number): number {
  if (b[off] & 0x80) {
    // Base-256: big-endian two's complement with the marker bit stripped.
    const negative = (b[off] & 0x40) !== 0;
    let v = BigInt(b[off] & 0x3f) - (negative ? 0x40n : 0n);
    for (let i = off + 1; i < off + len; i++) v = (v << 8n) | BigInt(b[i]);
    return Number(v);
  }
  let i = off;
  const max = off + len;
  while (i < max && (b[i] === 0x20 || b[i] === 0)) i++;
  let v = 0;
  for (; i < max; i++) {
    const c = b[i];
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) throw new TarFormatError(`invalid tar header: bad number field at offset ${off}`);
    v = v * 8 + (c - 0x30);
  }
  return v;
}

export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

function checksumOk(b: Buffer): boolean {
  const stored = num(b, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

/** The fields of one 512-byte header block, before PAX/GNU overrides. */
export interface RawHeader {
  name: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

export function decodeBlock(b: Buffer): RawHeader {
  if (!checksumOk(b)) throw new TarFormatError('invalid tar header: checksum mismatch');
  const magic = b.toString('latin1', 257, 263);
  const ustar = magic === 'ustar\0';
  const gnu = magic === 'ustar ';
  let name = str(b, 0, 100);
  if (ustar) {
    const prefix = str(b, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  let typeflag = String.fromCharCode(b[156]);
  // Pre-POSIX archives mark directories only by a trailing slash.
  if ((typeflag === '0' || typeflag === '\0') && name.endsWith('/')) typeflag = '5';
  return {
    name,
    typeflag,
    mode: num(b, 100, 8),
    uid: num(b, 108, 8),
    gid: num(b, 116, 8),
    size: num(b, 124, 12),
    mtime: num(b, 136, 12),
    linkname: str(b, 157, 100),
    uname: ustar || gnu ? str(b, 265, 32) : '',
    gname: ustar || gnu ? str(b, 297, 32) : '',
    devmajor: ustar || gnu ? num(b, 329, 8) : 0,
    devminor: ustar || gnu ? num(b, 337, 8) : 0,
  };
}

/** PAX records ("<len> <key>=<value>\n"): keys as text, values as bytes. */
export function decodePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    if (buf[off] === 0) break; // padding some writers leave
    const sp = buf.indexOf(0x20, off);
    if (sp < 0) throw new TarFormatError('invalid PAX record: no length');
    const len = Number(buf.toString('latin1', off, sp));
    if (!Number.isInteger(len) || len <= sp - off + 1 || off + len > buf.length || buf[off + len - 1] !== 0x0a) {
      throw new TarFormatError('invalid PAX record: bad length');
    }
    const eq = buf.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= off + len) throw new TarFormatError('invalid PAX record: no "="');
    out.set(buf.toString('utf8', sp + 1, eq), buf.subarray(eq + 1, off + len - 1));
    off += len;
  }
  return out;
}

/** Applies PAX overrides to a decoded block, making the final header. */
export function finishHeader(raw: RawHeader, pax: Map<string, Buffer>): TarHeader {
  const text = (k: string) => pax.get(k)?.toString('utf8');
  const int = (k: string, fallback: number) => {
    const v = text(k);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new TarFormatError(`invalid PAX record ${k}=${v}`);
    return n;
  };
  const xattrs: [string, Buffer][] = [];
  for (const [k, v] of pax) {
    if (k.startsWith('SCHILY.xattr.')) xattrs.push([k.slice(13), v]);
    // bsdtar's form: URL-encoded name, base64 value.
    else if (k.startsWith('LIBARCHIVE.xattr.')) xattrs.push([decodeURIComponent(k.slice(17)), Buffer.from(v.toString('latin1'), 'base64')]);
  }
  const mtime = int('mtime', raw.mtime);
  return {
    name: text('path') ?? raw.name,
    type: TYPE_BY_FLAG[raw.typeflag] ?? 'other',
    typeflag: raw.typeflag,
    mode: raw.mode,
    uid: int('uid', raw.uid),
    gid: int('gid', raw.gid),
    size: int('size', raw.size),
    mtime: new Date(Math.round(mtime * 1000)),
    linkname: text('linkpath') ?? raw.linkname,
    uname: text('uname') ?? raw.uname,
    gname: text('gname') ?? raw.gname,
    devmajor: raw.devmajor,
    devminor: raw.devminor,
    xattrs,
  };
}

// ---- writing ----

export interface WriteHeader {
  name: string;
  type: EntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: Date | number;
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Iterable<[string, Buffer]>;
}

const OCTAL_MAX = { 8: 0o7777777, 12: 0o77777777777 } as const;

function putStr(b: Buffer, s: Buffer, off: number, len: number): void {
  s.copy(b, off, 0, Math.min(len, s.length));
}

function putNum(b: Buffer, n: number, off: number, len: 8 | 12): void {
  if (n >= 0 && n <= OCTAL_MAX[len]) {
    b.write(n.toString(8).padStart(len - 1, '0') + '\0', off, 'ascii');
    return;
  }
  let v = BigInt(n);
  for (let i = off + len - 1; i > off; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  b[off] = n < 0 ? 0xff : 0x80;
}

function block(h: { name: Buffer; prefix?: Buffer; typeflag: string; mode: number; uid: number; gid: number; size: number; mtime: number; linkname: Buffer; uname: Buffer; gname: Buffer; devmajor: number; devminor: number }): Buffer {
  const b = Buffer.alloc(BLOCK);
  putStr(b, h.name, 0, 100);
  putNum(b, h.mode, 100, 8);
  putNum(b, h.uid, 108, 8);
  putNum(b, h.gid, 116, 8);
  putNum(b, h.size, 124, 12);
  putNum(b, h.mtime, 136, 12);
  b.write(h.typeflag, 156, 'latin1');
  putStr(b, h.linkname, 157, 100);
  b.write('ustar\x0000', 257, 'latin1');
  putStr(b, h.uname, 265, 32);
  putStr(b, h.gname, 297, 32);
  putNum(b, h.devmajor, 329, 8);
  putNum(b, h.devminor, 337, 8);
  if (h.prefix) putStr(b, h.prefix, 345, 155);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return b;
}

/** One PAX record; its length field counts itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'ascii'), body]);
}

/** Splits a long name into ustar's prefix and name fields, when it can be. */
function splitUstar(name: Buffer): { prefix: Buffer; name: Buffer } | undefined {
  if (name.length <= 100) return { prefix: Buffer.alloc(0), name };
  if (name.length > 256) return undefined;
  for (let i = Math.min(name.length - 1, 155); i > 0; i--) {
    if (name[i] === 0x2f && name.length - i - 1 <= 100 && name.length - i - 1 > 0) return { prefix: name.subarray(0, i), name: name.subarray(i + 1) };
  }
  return undefined;
}

const isAscii = (b: Buffer) => b.every((c) => c < 0x80);

/**
 * The header block(s) of one entry: a PAX extended header first when the entry needs one
 * (long or non-ASCII names, extended attributes, numbers past ustar's fields), then the
 * ustar block. The caller writes the body and `padding(size)` after it.
 */
export function encodeHeader(h: WriteHeader): Buffer {
  const pax: [string, Buffer][] = [];
  const type = h.type;
  const nameStr = type === 'directory' && !h.name.endsWith('/') ? `${h.name}/` : h.name;
  const name = Buffer.from(nameStr, 'utf8');
  const linkname = Buffer.from(h.linkname ?? '', 'utf8');
  const uname = Buffer.from(h.uname ?? '', 'utf8');
  const gname = Buffer.from(h.gname ?? '', 'utf8');
  const mtimeMs = h.mtime instanceof Date ? h.mtime.getTime() : (h.mtime ?? 0) * 1000;
  const mtime = Math.floor(mtimeMs / 1000);
  const size = type === 'file' || type === 'contiguous-file' ? (h.size ?? 0) : 0;
  const uid = h.uid ?? 0;
  const gid = h.gid ?? 0;

  let split = isAscii(name) ? splitUstar(name) : undefined;
  if (!split) {
    pax.push(['path', name]);
    split = { prefix: Buffer.alloc(0), name: name.subarray(0, 100) };
  }
  if (linkname.length > 100 || !isAscii(linkname)) pax.push(['linkpath', linkname]);
  if (uname.length > 32 || !isAscii(uname)) pax.push(['uname', uname]);
  if (gname.length > 32 || !isAscii(gname)) pax.push(['gname', gname]);
  if (uid < 0 || uid > OCTAL_MAX[8]) pax.push(['uid', Buffer.from(String(uid))]);
  if (gid < 0 || gid > OCTAL_MAX[8]) pax.push(['gid', Buffer.from(String(gid))]);
  if (size > OCTAL_MAX[12]) pax.push(['size', Buffer.from(String(size))]);
  if (mtime < 0 || mtime > OCTAL_MAX[12]) pax.push(['mtime', Buffer.from(String(mtime))]);
  for (const [k, v] of h.xattrs ?? []) pax.push([`SCHILY.xattr.${k}`, v]);

  const main = block({
    name: split.name,
    prefix: split.prefix,
    typeflag: FLAG_BY_TYPE[type],
    mode: (h.mode ?? (type === 'directory' ? 0o755 : 0o644)) & 0o7777,
    uid: Math.max(0, Math.min(uid, OCTAL_MAX[8])),
    gid: Math.max(0, Math.min(gid, OCTAL_MAX[8])),
    size,
    mtime: Math.max(0, Math.min(mtime, OCTAL_MAX[12])),
    linkname: linkname.subarray(0, 100),
    uname: uname.subarray(0, 32),
    gname: gname.subarray(0, 32),
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (pax.length === 0) return main;
  const records = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
  // Go names the extended header after the entry ("PaxHeaders.0/<base>"); any name will do.
  const base = nameStr.replace(/\/$/, '').split('/').pop() ?? '';
  const xname = Buffer.from(`PaxHeaders.0/${base}`.slice(0, 99), 'utf8').subarray(0, 100);
  const xhdr = block({ name: xname, typeflag: 'x', mode: 0o644, uid: 0, gid: 0, size: records.length, mtime: 0, linkname: Buffer.alloc(0), uname: Buffer.alloc(0), gname: Buffer.alloc(0), devmajor: 0, devminor: 0 });
  return Buffer.concat([xhdr, records, padding(records.length), main]);
}

/** Zero bytes that round a member of `size` bytes up to the block size. */
export function padding(size: number): Buffer {
  const r = size % BLOCK;
  return Buffer.alloc(r ? BLOCK - r : 0);
}

/** The end of an archive: two zero blocks. */
export const END = Buffer.alloc(2 * BLOCK);
