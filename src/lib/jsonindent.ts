/**
 * Go's json.Indent: re-indents JSON text token by token, keeping every string and number
 * exactly as written (escapes included), so that a manifest shown re-indented is still the
 * registry's own text. Empty objects and arrays stay `{}` and `[]`, as Go writes them.
 */
export function goIndent(text: string, indent: string, prefix = ''): string {
  let out = '';
  let depth = 0;
  // An opening bracket's newline waits for its first value: `[]` stays on one line.
  let pendingOpen = false;
  const newline = () => `\n${prefix}${indent.repeat(depth)}`;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    if (pendingOpen && c !== ']' && c !== '}') {
      out += newline();
      pendingOpen = false;
    }
    switch (c) {
      case '"': {
        let j = i + 1;
        while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
        out += text.slice(i, j + 1);
        i = j;
        break;
      }
      case '{':
      case '[':
        out += c;
        depth++;
        pendingOpen = true;
        break;
      case '}':
      case ']':
        depth--;
        if (pendingOpen) pendingOpen = false;
        else out += newline();
        out += c;
        break;
      case ',':
        out += `,${newline()}`;
        break;
      case ':':
        out += ': ';
        break;
      default:
        out += c;
    }
  }
  return out;
}
