import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { goIndent } from './jsonindent.ts';

describe('goIndent (Go json.Indent)', () => {
  it('re-indents, keeping strings and numbers as written', () => {
    const raw = '{"a":[1,2.50,{"b":"x\\"y\\u003c"}],"e":{},"f":[],"g":null}';
    assert.equal(goIndent(raw, '\t'), '{\n\t"a": [\n\t\t1,\n\t\t2.50,\n\t\t{\n\t\t\t"b": "x\\"y\\u003c"\n\t\t}\n\t],\n\t"e": {},\n\t"f": [],\n\t"g": null\n}');
  });
  it('takes indented input too (a 3-space manifest list shown with tabs)', () => {
    const threeSpace = JSON.stringify({ schemaVersion: 2, manifests: [{ size: 405 }] }, null, 3);
    assert.equal(goIndent(threeSpace, '\t'), JSON.stringify({ schemaVersion: 2, manifests: [{ size: 405 }] }, null, '\t'));
    assert.equal(goIndent(' [ ] ', '  '), '[]');
  });
});
