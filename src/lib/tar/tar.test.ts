import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, symlinkSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { encodeHeader, padding, END, decodePax, type WriteHeader, type TarHeader } from './header.ts';
import { readTar } from './reader.ts';

function archive(entries: [WriteHeader, Buffer?][]): Buffer {
  const parts: Buffer[] = [];
  for (const [h, body] of entries) {
    parts.push(encodeHeader({ ...h, size: body?.length ?? 0 }));
    if (body) parts.push(body, padding(body.length));
  }
  parts.push(END);
  return Buffer.concat(parts);
}

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function readAll(src: AsyncIterable<Buffer>): Promise<{ header: TarHeader; body: Buffer }[]> {
  const out: { header: TarHeader; body: Buffer }[] = [];
  let i = 0;
  for await (const e of readTar(src)) {
    // Alternate the two ways of reading a body; both must give the same bytes.
    let body: Buffer;
    if (i++ % 2) body = await e.read();
    else {
      const parts: Buffer[] = [];
      for await (const c of e.chunks()) parts.push(c);
      body = Buffer.concat(parts);
    }
    out.push({ header: e.header, body });
  }
  return out;
}

const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // a file capability: NUL bytes
const binary = Buffer.from([0xff, 0x00, 0x80, 0xc3, 0x28, 0x0a, 0x3d]); // not UTF-8, with "\n" and "="
const longDir = 'd'.repeat(120);
const entries: [WriteHeader, Buffer?][] = [
  [{ name: 'etc', type: 'directory', mode: 0o755, mtime: new Date(1_700_000_000_000) }],
  [{ name: 'etc/passwd', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: new Date(1_700_000_001_000) }, Buffer.from('root:x:0:0::/root:/bin/sh\n')],
  [{ name: 'bin/ping', type: 'file', mode: 0o4755, xattrs: [['security.capability', cap], ['user.blob', binary]] }, Buffer.alloc(3000, 1)],
  [{ name: `${longDir}/file`, type: 'file', uid: 70000, gid: 3_000_000 }, Buffer.from('x')],
  [{ name: `${'p'.repeat(150)}/${'n'.repeat(150)}`, type: 'file' }, Buffer.alloc(0)],
  [{ name: 'ünïcode/ファイル', type: 'file' }, Buffer.from('u')],
  [{ name: 'link', type: 'symlink', linkname: `/${'t'.repeat(150)}` }],
  [{ name: 'hard', type: 'link', linkname: 'etc/passwd' }],
  [{ name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 }],
  [{ name: 'fifo', type: 'fifo' }],
  [{ name: 'big-id', type: 'file', uid: 2 ** 31, gid: 0 }, Buffer.alloc(0)],
];

test('what the writer writes the reader reads back, in any chunking, xattr bytes exact', async () => {
  const data = archive(entries);
  for (const size of [1, 7, 512, 513, 4096, data.length]) {
    const got = await readAll(chunked(data, size));
    assert.equal(got.length, entries.length, `chunk size ${size}`);
    for (let i = 0; i < entries.length; i++) {
      const [want, body] = entries[i];
      const { header, body: gotBody } = got[i];
      assert.equal(header.name.replace(/\/$/, ''), want.name, `name at chunk size ${size}`);
      assert.equal(header.type, want.type);
      assert.equal(header.linkname, want.linkname ?? '');
      assert.equal(header.uid, want.uid ?? 0);
      assert.equal(header.gid, want.gid ?? 0);
      if (want.mode !== undefined) assert.equal(header.mode, want.mode);
      if (want.mtime) assert.equal(header.mtime.getTime(), (want.mtime as Date).getTime());
      assert.deepEqual(gotBody, body ?? Buffer.alloc(0));
      assert.deepEqual(header.xattrs, [...(want.xattrs ?? [])]);
      if (want.devmajor) assert.deepEqual([header.devmajor, header.devminor], [want.devmajor, want.devminor]);
    }
  }
});

test('GNU tar reads our archives: long names, modes, links and byte-exact xattrs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tar-'));
  try {
    writeFileSync(join(dir, 'a.tar'), archive(entries.filter(([h]) => h.type !== 'character-device')));
    mkdirSync(join(dir, 'out'));
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-xf', join(dir, 'a.tar'), '-C', join(dir, 'out')]);
    assert.equal(readFileSync(join(dir, 'out', longDir, 'file'), 'utf8'), 'x');
    assert.equal(readFileSync(join(dir, 'out/ünïcode/ファイル'), 'utf8'), 'u');
    const hex = execFileSync('getfattr', ['-n', 'user.blob', '-e', 'hex', '--absolute-names', join(dir, 'out/bin/ping')]).toString();
    assert.match(hex, new RegExp(`user.blob=0x${binary.toString('hex')}`));
    const listing = execFileSync('tar', ['-tvf', join(dir, 'a.tar')]).toString();
    assert.match(listing, /-rwsr-xr-x 0\/0 +3000 .* bin\/ping/);
    assert.match(listing, /hard link to etc\/passwd/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('we read what GNU tar writes, in gnu, pax and v7-style formats', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tar-'));
  try {
    const src = join(dir, 'src');
    mkdirSync(join(src, longDir), { recursive: true });
    writeFileSync(join(src, longDir, 'long-file-name-' + 'x'.repeat(100)), 'deep');
    writeFileSync(join(src, 'f'), 'flat');
    symlinkSync('f'.repeat(120), join(src, 'sym'));
    execFileSync('setfattr', ['-n', 'user.blob', '-v', `0x${binary.toString('hex')}`, join(src, 'f')]);
    for (const format of ['gnu', 'pax']) {
      const file = join(dir, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '--xattrs', '--xattrs-include=*', '-cf', file, '-C', src, '.']);
      const got = await readAll(chunked(readFileSync(file), 1000));
      const byName = new Map(got.map((e) => [e.header.name.replace(/^\.\//, '').replace(/\/$/, ''), e]));
      assert.equal(byName.get(`${longDir}/long-file-name-${'x'.repeat(100)}`)?.body.toString(), 'deep', format);
      assert.equal(byName.get('sym')?.header.linkname, 'f'.repeat(120), format);
      assert.equal(byName.get(longDir)?.header.type, 'directory', format);
      if (format === 'pax') assert.deepEqual(byName.get('f')?.header.xattrs, [['user.blob', binary]]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad archives fail with tar errors, not hangs or garbage', async () => {
  const good = archive([[{ name: 'a', type: 'file' }, Buffer.alloc(2000, 1)]]);
  await assert.rejects(readAll(chunked(good.subarray(0, 1000), 100)), /unexpected end of archive/);
  const corrupt = Buffer.from(good);
  corrupt[10] ^= 0xff;
  await assert.rejects(readAll(chunked(corrupt, 512)), /checksum/);
  await assert.rejects(readAll(chunked(Buffer.from('x'.repeat(1024)), 512)), /invalid tar header/);
  assert.throws(() => decodePax(Buffer.from('99 path=x\n')), /bad length/);
  assert.throws(() => decodePax(Buffer.from('9 pathxy\n')), /no "="/);
  // A stream that ends right after the last body (umoci writes these) ends cleanly, as in Go;
  // one cut inside the padding does not.
  const unpadded = archive([[{ name: 'u', type: 'file' }, Buffer.from('abc')]]).subarray(0, 512 + 3);
  assert.deepEqual((await readAll(chunked(unpadded, 100))).map((e) => e.body.toString()), ['abc']);
  await assert.rejects(readAll(chunked(archive([[{ name: 'u', type: 'file' }, Buffer.from('abc')]]).subarray(0, 512 + 10), 100)), /unexpected end of archive/);
  // Nothing after the end marker is taken for entries, but the stream is read to its end.
  let seen = 0;
  const entriesRead: string[] = [];
  for await (const e of readTar(chunked(Buffer.concat([good, Buffer.alloc(4096, 9)]), 512), { onData: (c) => (seen += c.length) })) entriesRead.push(e.header.name);
  assert.deepEqual(entriesRead, ['a']);
  assert.equal(seen, good.length + 4096);
});
