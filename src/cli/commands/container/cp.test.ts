import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareArchiveCopy, splitCpArg, splitPathDirEntry } from './cp.ts';
import { goBase, preserveTrailing } from '../../../lib/archivepath.ts';

test('cp arguments: container paths, local paths, absolute and ./ forms', () => {
  assert.deepEqual(splitCpArg('web:/etc/hosts'), { container: 'web', path: '/etc/hosts' });
  assert.deepEqual(splitCpArg('web:'), { container: 'web', path: '' });
  assert.deepEqual(splitCpArg('/abs:with:colons'), { container: '', path: '/abs:with:colons' });
  assert.deepEqual(splitCpArg('./file:name'), { container: '', path: './file:name' });
  assert.deepEqual(splitCpArg('plain'), { container: '', path: 'plain' });
});

test('trailing / and /. survive cleaning; Go\'s Base', () => {
  assert.equal(preserveTrailing('/a/b', 'a/b/'), '/a/b/');
  assert.equal(preserveTrailing('/a/b', 'a/b/.'), '/a/b/.');
  assert.equal(preserveTrailing('/', '.'), '/.');
  assert.equal(preserveTrailing('/a', 'a'), '/a');
  assert.equal(goBase('/etc/'), 'etc');
  assert.equal(goBase('/'), '/');
  assert.equal(goBase('x/.'), '.');
  assert.equal(goBase(''), '.');
  assert.deepEqual(splitPathDirEntry('/a/b/'), ['/a', 'b']);
  assert.deepEqual(splitPathDirEntry('/a/b/.'), ['/a/b', '.']);
});

test('go-archive\'s PrepareArchiveCopy decision table', () => {
  const file = { path: '/src/f', exists: true, isDir: false };
  const dir = { path: '/src/d', exists: true, isDir: true };
  assert.deepEqual(prepareArchiveCopy(file, { path: '/dst', exists: true, isDir: true }), { dir: '/dst' });
  assert.throws(() => prepareArchiveCopy(dir, { path: '/dst/file', exists: true, isDir: false }), /cannot copy directory/);
  assert.deepEqual(prepareArchiveCopy(file, { path: '/dst/file', exists: true, isDir: false }), { dir: '/dst', rename: ['f', 'file'] });
  assert.deepEqual(prepareArchiveCopy(dir, { path: '/dst/new', exists: false, isDir: false }), { dir: '/dst', rename: ['d', 'new'] });
  assert.throws(() => prepareArchiveCopy(file, { path: '/dst/new/', exists: false, isDir: false }), /no such directory/);
  assert.deepEqual(prepareArchiveCopy(file, { path: '/dst/new', exists: false, isDir: false }), { dir: '/dst', rename: ['f', 'new'] });
  assert.deepEqual(prepareArchiveCopy({ path: '/src/d/.', exists: true, isDir: true }, { path: '/dst/new', exists: false, isDir: false }), { dir: '/dst', rename: ['.', 'new'] });
  assert.deepEqual(prepareArchiveCopy({ ...file, rebaseName: 'link' }, { path: '/dst/x', exists: false, isDir: false }), { dir: '/dst', rename: ['link', 'x'] });
});
