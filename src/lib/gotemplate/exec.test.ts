import { test } from 'node:test';
import assert from 'node:assert/strict';

import { dockerFuncs, expandEscapes, parseTemplate, STRUCT, tableFormatBody, TemplateError, withSignature } from './index.ts';

type Funcs = Record<string, (...args: unknown[]) => unknown>;

function run(text: string, data: unknown, funcs: Funcs = dockerFuncs): string {
  return parseTemplate(text, { funcs }).execute(data);
}

function execError(text: string, data: unknown, funcs: Funcs = dockerFuncs): string {
  const t = parseTemplate(text, { funcs });
  try {
    t.execute(data);
  } catch (e) {
    assert.ok(e instanceof TemplateError, String(e));
    assert.equal(e.phase, 'exec');
    return e.message;
  }
  assert.fail(`expected an exec error for ${text}`);
}

// A `docker inspect`-shaped container (generic JSON: map semantics).
const container = {
  Id: '4fa6e0f0c678',
  Name: '/web',
  Args: ['-g', 'daemon off;'],
  State: { Status: 'running', Running: true, Pid: 4242, ExitCode: 0, Health: null },
  Config: {
    Hostname: '4fa6e0f0c678',
    Env: ['PATH=/usr/bin', 'A=<b>&c'],
    Labels: { 'com.x': 'yes', 'com.docker.compose.project': 'demo' },
    ExposedPorts: { '80/tcp': {} },
  },
  Mounts: [
    { Type: 'bind', Source: '/srv/data', Destination: '/data' },
    { Type: 'volume', Source: '/var/lib/docker/volumes/v/_data', Destination: '/v' },
  ],
  NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.2' } } },
};

// A `docker ps` row (struct semantics, like the CLI's formatter.ContainerContext).
const psRow = {
  [STRUCT]: 'formatter.ContainerContext',
  ID: '4fa6e0f0c678',
  Repository: 'nginx',
  Names: ['web', 'frontend'],
  Name: 'web',
};

test('docker ps style placeholders', () => {
  assert.equal(run('{{.ID}}: {{.Repository}}', psRow), '4fa6e0f0c678: nginx');
  const body = expandEscapes(tableFormatBody('table {{.ID}}\\t{{.Repository}}'));
  assert.equal(body, '{{.ID}}\t{{.Repository}}');
  assert.equal(run(body, psRow), '4fa6e0f0c678\tnginx');
  assert.equal(run('{{len .Names}}', psRow), '2');
  assert.equal(run('{{printf "%-10s|" .Name}}', psRow), 'web       |');
});

test('docker inspect style formats', () => {
  assert.equal(run('{{ .State.Pid }}', container), '4242');
  assert.equal(
    run('{{json .Config}}', container),
    '{"Hostname":"4fa6e0f0c678","Env":["PATH=/usr/bin","A=<b>&c"],' +
      '"Labels":{"com.x":"yes","com.docker.compose.project":"demo"},"ExposedPorts":{"80/tcp":{}}}',
  );
  assert.equal(run('{{range .Mounts}}{{.Source}} {{end}}', container), '/srv/data /var/lib/docker/volumes/v/_data ');
  assert.equal(run('{{index .Config.Labels "com.x"}}', container), 'yes');
  assert.equal(run('{{index .Config.Labels "missing"}}', container), '');
  assert.equal(run('{{join .Args ","}}', container), '-g,daemon off;');
  assert.equal(run('{{if eq .State.Status "running"}}up{{else}}down{{end}}', container), 'up');
  assert.equal(run('{{if eq .State.Status "exited"}}up{{else}}down{{end}}', container), 'down');
  assert.equal(
    run('{{range $net, $conf := .NetworkSettings.Networks}}{{$net}}={{$conf.IPAddress}}{{end}}', container),
    'bridge=172.17.0.2',
  );
  assert.equal(run('{{.NetworkSettings.Networks.bridge.IPAddress}}', container), '172.17.0.2');
  assert.equal(run('{{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}', container), '80/tcp ');
  assert.equal(run('{{.State.Running}} {{.State.ExitCode}}', container), 'true 0');
  assert.equal(run('{{.State.Health}}', container), '<nil>');
  assert.equal(run('{{.Config.Labels}}', container), 'map[com.docker.compose.project:demo com.x:yes]');
  assert.equal(run('{{.Args}}', container), '[-g daemon off;]');
});

test('missing map keys print <no value>', () => {
  assert.equal(run('{{.Missing}}', container), '<no value>');
  assert.equal(run('{{.State.Missing}}', container), '<no value>');
  assert.equal(run('{{.Missing.Deeper.Still}}', container), '<no value>');
  assert.equal(run('{{.Config.Labels.nope}}', container), '<no value>');
  assert.equal(run('[{{if .Missing}}yes{{end}}]', container), '[]');
  assert.equal(run('{{with .Missing}}x{{else}}none{{end}}', container), 'none');
  assert.equal(run('{{range .Missing}}x{{else}}empty{{end}}', container), 'empty');
  assert.equal(run('{{printf "%v" .Missing}}', container), '<nil>');
  assert.equal(run('{{.}}', undefined), '<no value>');
  assert.equal(run('{{.Foo}}', undefined), '<no value>');
  assert.equal(run('{{.M.a}}', { M: new Map([['a', 1]]) }), '1');
  assert.equal(run('{{.M.b}}', { M: new Map([['a', 1]]) }), '<no value>');
});

test('unknown struct fields are exec errors naming the type', () => {
  assert.equal(
    execError('{{.Foo}}', psRow),
    'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type formatter.ContainerContext',
  );
  assert.equal(
    execError('{{.ID}} {{.Image.Name}}', psRow),
    'template: :1:16: executing "" at <.Image.Name>: can\'t evaluate field Image in type formatter.ContainerContext',
  );
  class ImageContext {
    ID = 'sha256:1';
    get Size(): string {
      return '10MB';
    }
    Tag(): string {
      return 'latest';
    }
  }
  const img = new ImageContext();
  assert.equal(run('{{.ID}} {{.Size}} {{.Tag}}', img), 'sha256:1 10MB latest');
  assert.equal(
    execError('{{.Digest}}', img),
    'template: :1:2: executing "" at <.Digest>: can\'t evaluate field Digest in type ImageContext',
  );
  assert.equal(execError('{{.toString}}', { [STRUCT]: 'T' }).endsWith("can't evaluate field toString in type T"), true);
  // fields of non-maps
  assert.equal(
    execError('{{.Name.Foo}}', container),
    'template: :1:7: executing "" at <.Name.Foo>: can\'t evaluate field Foo in type string',
  );
  assert.equal(
    execError('{{.State.Health.Status}}', container),
    'template: :1:8: executing "" at <.State.Health.Status>: nil pointer evaluating interface {}.Status',
  );
  assert.equal(
    execError('{{.Args.X}}', container),
    'template: :1:7: executing "" at <.Args.X>: can\'t evaluate field X in type []interface {}',
  );
});

test('struct methods receive arguments', () => {
  const ctx = {
    [STRUCT]: 'Ctx',
    Greet(name: unknown, n: unknown): string {
      return `hi ${String(name)} x${String(n)}`;
    },
    Plain: 1,
  };
  assert.equal(run('{{.Greet "bob" 2}}', ctx), 'hi bob x2');
  assert.equal(run('{{3 | .Greet "al"}}', ctx), 'hi al x3');
  assert.equal(
    execError('{{.Plain 1}}', ctx),
    'template: :1:2: executing "" at <.Plain>: Plain has arguments but cannot be invoked as function',
  );
  assert.equal(
    execError('{{.Name 1}}', { Name: 'x' }),
    'template: :1:2: executing "" at <.Name>: Name is not a method but has arguments',
  );
});

test('variables', () => {
  assert.equal(run('{{$x := .Name}}{{$x}}', container), '/web');
  assert.equal(run('{{$x := 1}}{{$x = 2}}{{$x}}', null), '2');
  assert.equal(run('{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}', null), '2');
  assert.equal(run('{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}', null), '21');
  assert.equal(run('{{with .State}}{{$.Name}}:{{.Pid}}{{end}}', container), '/web:4242');
  assert.equal(run('{{$s := .State}}{{$s.Status}}', container), 'running');
  assert.equal(run('{{range $i, $m := .Mounts}}{{$i}}:{{$m.Type}} {{end}}', container), '0:bind 1:volume ');
  assert.equal(run('{{range $m := .Mounts}}{{$m.Type}} {{end}}', container), 'bind volume ');
  assert.equal(run('{{$i := 0}}{{range $i = .Mounts}}{{end}}{{$i.Type}}', container), 'volume');
  assert.equal(run('{{$i := 0}}{{$e := 0}}{{range $i, $e = .Args}}{{end}}{{$i}}={{$e}}', container), '1=daemon off;');
  assert.equal(run('{{$x := 5}}{{$x}}{{$}}', 'dot'), '5dot');
  assert.equal(run('{{with $x := .State.Pid}}{{$x}}{{end}}', container), '4242');
});

test('trim markers', () => {
  assert.equal(run('a  {{- .Name -}}  b', container), 'a/webb');
  assert.equal(run('{{range .Args -}}\n  [{{.}}]\n{{- end}}', container), '[-g][daemon off;]');
  assert.equal(run('{{- /* comment */ -}}\n x', null), 'x');
  assert.equal(run('{{-3}} {{- 4}}', null), '-34');
});

test('if / else if / else, with / else with, range / else', () => {
  const t = '{{if eq . 1}}one{{else if eq . 2}}two{{else}}many{{end}}';
  assert.deepEqual([1, 2, 3].map((n) => run(t, n)), ['one', 'two', 'many']);
  assert.equal(run('{{with .A}}a={{.}}{{else with .B}}b={{.}}{{else}}none{{end}}', { B: 'x' }), 'b=x');
  assert.equal(run('{{with .A}}a={{.}}{{else with .B}}b={{.}}{{else}}none{{end}}', {}), 'none');
  assert.equal(run('{{range .}}{{.}}{{else}}empty{{end}}', []), 'empty');
  assert.equal(run('{{range .}}{{.}}{{else}}empty{{end}}', {}), 'empty');
  assert.equal(run('{{range .}}{{.}}{{else}}empty{{end}}', null), 'empty');
  assert.equal(run('{{range .}}{{.}},{{end}}', { b: 2, a: 1, c: 3 }), '1,2,3,');
  assert.equal(run('{{range $k, $v := .}}{{$k}}{{$v}}{{end}}', new Map<unknown, unknown>([[2, 'b'], [1, 'a']])), '1a2b');
  assert.equal(run('{{range 3}}{{.}}{{end}}', null), '012');
  assert.equal(run('{{range .}}{{.}}{{end}}', new Uint8Array([1, 2])), '12');
});

test('truthiness follows Go', () => {
  const t = '{{if .}}T{{else}}F{{end}}';
  const cases: Array<[unknown, string]> = [
    ['', 'F'],
    ['x', 'T'],
    [0, 'F'],
    [0.5, 'T'],
    [0n, 'F'],
    [false, 'F'],
    [true, 'T'],
    [null, 'F'],
    [undefined, 'F'],
    [[], 'F'],
    [[0], 'T'],
    [{}, 'F'],
    [{ a: 1 }, 'T'],
    [new Map(), 'F'],
    [{ [STRUCT]: 'Empty' }, 'T'],
  ];
  for (const [v, want] of cases) assert.equal(run(t, v), want, String(v));
  assert.equal(run('{{and 1 0 2}} {{and 1 2}} {{or 0 "" "x"}} {{or 0 ""}} {{not 0}} {{not "a"}}', null), '0 2 x  true false');
  // and/or short-circuit: the failing call is never made
  assert.equal(run('{{and 0 (fail)}}{{or 1 (fail)}}', null, { fail: () => { throw new Error('no'); } }), '01');
  assert.equal(run('{{1 | and 2}} {{0 | or ""}}', null), '1 0');
});

test('break and continue', () => {
  assert.equal(run('{{range .}}{{if eq . 3}}{{break}}{{end}}{{.}}{{end}}', [1, 2, 3, 4]), '12');
  assert.equal(run('{{range .}}{{if eq . 3}}{{continue}}{{end}}{{.}}{{end}}', [1, 2, 3, 4]), '124');
  assert.equal(
    run('{{range .}}{{range .}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}};{{end}}', [[1, 2, 3], [4, 2]]),
    '1;4;',
  );
});

test('define, template and block', () => {
  const text =
    '{{define "row"}}{{.Name}}({{template "ports" .Ports}}){{end}}' +
    '{{define "ports"}}{{range $i, $p := .}}{{if $i}},{{end}}{{$p}}{{end}}{{end}}' +
    '{{range .}}{{template "row" .}};{{end}}';
  assert.equal(run(text, [{ Name: 'a', Ports: [80, 443] }, { Name: 'b', Ports: [] }]), 'a(80,443);b();');
  assert.equal(run('{{define "x"}}{{$}}{{end}}{{template "x" "arg"}}', 'top'), 'arg');
  assert.equal(run('{{define "x"}}[{{.}}]{{end}}{{template "x"}}', 'top'), '[<no value>]');
  assert.equal(run('{{block "b" .Name}}<{{.}}>{{end}}', container), '</web>');
  const t = parseTemplate('{{define "t"}}T{{.}}{{end}}top');
  assert.deepEqual([...t.names].sort(), ['', 't']);
  assert.equal(t.executeTemplate('t', 1), 'T1');
  assert.equal(t.execute(null), 'top');
  assert.throws(() => t.executeTemplate('zz', 1), {
    message: 'template: no template "zz" associated with template ""',
  });
  assert.equal(
    execError('{{template "nope" .}}', null),
    'template: :1:11: executing "" at <{{template "nope" .}}>: template "nope" not defined',
  );
  assert.equal(
    execError('{{define "d"}}\n{{.X.Y}}{{end}}{{template "d" 1}}', null),
    'template: :2:4: executing "d" at <.X.Y>: can\'t evaluate field X in type int',
  );
  assert.match(
    execError('{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}', null),
    /exceeded maximum template depth \(500\)$/,
  );
});

test('literals', () => {
  assert.equal(run('{{"a\\tb"}}|{{`raw\\t`}}|{{\'x\'}}|{{0x10}}|{{1.5}}|{{-2}}|{{true}}|{{1e-7}}', null), 'a\tb|raw\\t|120|16|1.5|-2|true|1e-07');
  assert.equal(run('{{print nil}}', null), '<nil>');
  assert.equal(run('{{9223372036854775807}}', null), '9223372036854775807');
  assert.equal(execError('{{18446744073709551615}}', null), 'template: :1:2: executing "" at <18446744073709551615>: 18446744073709551615 overflows int');
});

test('pipelines and parenthesized pipelines', () => {
  assert.equal(run('{{.Name | printf "%q"}}', container), '"/web"');
  assert.equal(run('{{.Name | printf "%s-%s" "x"}}', container), 'x-/web');
  assert.equal(run('{{(index .Mounts 1).Destination}}', container), '/v');
  assert.equal(run('{{printf "%d-%d" (len .Args) (len .Mounts)}}', container), '2-2');
  assert.equal(run('{{if and .State.Running (gt .State.Pid 0)}}alive{{end}}', container), 'alive');
  assert.equal(run('{{.Config.Labels | len}}', container), '2');
  assert.equal(run('{{.Name | upper | printf "[%s]"}}', container), '[/WEB]');
});

test('exec errors use Go wording and positions', () => {
  assert.equal(
    execError('{{index .Args 5}}', container),
    'template: :1:2: executing "" at <index .Args 5>: error calling index: index out of range: 5',
  );
  assert.equal(
    execError('{{eq .Name 1}}', container),
    'template: :1:2: executing "" at <eq .Name 1>: error calling eq: incompatible types for comparison',
  );
  assert.equal(
    execError('{{len 3}}', null),
    'template: :1:2: executing "" at <len 3>: error calling len: len of type int',
  );
  assert.equal(
    execError('{{join .Args}}', container),
    'template: :1:2: executing "" at <join>: wrong number of args for join: want 2 got 1',
  );
  assert.equal(
    execError('{{upper .State.Pid}}', container),
    'template: :1:14: executing "" at <.State.Pid>: wrong type for value; expected string; got int',
  );
  assert.equal(
    execError('{{upper 3}}', null),
    'template: :1:8: executing "" at <3>: expected string; found 3',
  );
  assert.equal(
    execError('{{upper .Missing}}', {}),
    'template: :1:8: executing "" at <.Missing>: invalid value; expected string',
  );
  assert.equal(
    execError('{{printf}}', null),
    'template: :1:2: executing "" at <printf>: wrong number of args for printf: want at least 1 got 0',
  );
  assert.equal(execError('{{nil}}', null), 'template: :1:2: executing "" at <nil>: nil is not a command');
  assert.equal(
    execError('{{. 1}}', null),
    'template: :1:2: executing "" at <.>: can\'t give argument to non-function .',
  );
  assert.equal(
    execError('{{range .Name}}{{end}}', container),
    'template: :1:8: executing "" at <.Name>: range can\'t iterate over /web',
  );
  assert.equal(
    execError('{{fail}}', null, { fail: () => { throw new Error('boom'); } }),
    'template: :1:2: executing "" at <fail>: error calling fail: boom',
  );
  assert.equal(
    execError('a\nbc {{.X.Y}}', { X: 1 }),
    'template: :2:7: executing "" at <.X.Y>: can\'t evaluate field Y in type int',
  );
  // columns count UTF-8 bytes, like Go
  assert.equal(execError('é{{.X.Y}}', { X: 1 }).startsWith('template: :1:6: '), true);
  assert.equal(
    execError('{{call .F 1}}', { F: 'notfunc' }),
    'template: :1:2: executing "" at <call .F 1>: error calling call: non-function .F of type string',
  );
  assert.equal(
    execError('{{.F}}', { F: () => 1 }),
    'template: :1:2: executing "" at <{{.F}}>: can\'t print {{.F}} of type func(...interface {}) interface {}',
  );
});

test('parse errors surface from parseTemplate', () => {
  assert.throws(() => parseTemplate('{{foo}}'), (e: unknown) => {
    assert.ok(e instanceof TemplateError);
    assert.equal(e.message, 'template: :1: function "foo" not defined');
    assert.equal(e.phase, 'parse');
    return true;
  });
  assert.throws(() => parseTemplate('{{.Foo }'), { message: 'template: :1: unexpected "}" in operand' });
  assert.throws(() => parseTemplate('{{json .}}'), { message: 'template: :1: function "json" not defined' });
});

test('builtins: call, index, slice, len, comparisons, escapers', () => {
  const data = {
    Add: (a: unknown, b: unknown) => Number(a) + Number(b),
    S: 'héllo',
    L: [10, 20, 30, 40],
    M: { a: 1, b: [5, 6] },
  };
  assert.equal(run('{{call .Add 1 2}}', data), '3');
  assert.equal(run('{{index .M "b" 1}} {{index .L 0}} {{index .M "zz"}} {{index .L}}', data), '6 10 <nil> [10 20 30 40]');
  assert.equal(run('{{slice .L 1 3}} {{slice .L 2}} {{slice .L}} {{slice .S 0 1}}', data), '[20 30] [30 40] [10 20 30 40] h');
  assert.equal(run('{{len .S}} {{len .L}} {{len .M}}', data), '6 4 2');
  assert.equal(run('{{eq 1 1}} {{eq 1 2 3 1}} {{ne "a" "b"}} {{lt 1.5 2}} {{le "a" "a"}} {{gt 3 2}} {{ge 2 3}}', null), 'true true true true true true false');
  assert.equal(run('{{eq .X nil}} {{eq "a" .X}}', {}), 'true false');
  assert.equal(run('{{html "<a href=\'x\'>&"}}', null), '&lt;a href=&#39;x&#39;&gt;&amp;');
  assert.equal(run('{{js "it\'s <b>=\\"\\n"}}', null), 'it\\\'s \\u003Cb\\u003E\\u003D\\"\\u000A');
  assert.equal(run('{{urlquery "a b&c=d/é"}}', null), 'a+b%26c%3Dd%2F%C3%A9');
  assert.equal(run('{{print "a" 1 2 "b"}}|{{println "x" 1}}|{{html 1 2}}', null), 'a1 2b|x 1\n|1 2');
});

test('user functions: signatures, nil arguments, overrides', () => {
  const funcs: Funcs = {
    id: (v: unknown) => v,
    kind: (v: unknown) => (v === null ? 'null' : typeof v),
    twice: withSignature((n: unknown) => Number(n) * 2, { params: ['int'] }),
    len: () => 'mine',
  };
  assert.equal(run('{{kind .Missing}} {{kind nil}} {{kind 1}} {{kind "s"}}', {}, funcs), 'null null number string');
  assert.equal(run('{{twice 21}}', null, funcs), '42');
  assert.equal(
    execError('{{twice "x"}}', null, funcs),
    'template: :1:8: executing "" at <"x">: expected integer; found "x"',
  );
  assert.equal(
    execError('{{twice 1 2}}', null, funcs),
    'template: :1:2: executing "" at <twice>: wrong number of args for twice: want 1 got 2',
  );
  // user functions override builtins
  assert.equal(run('{{len 1}}', null, funcs), 'mine');
  // execute-time function overrides (like docker's header functions)
  const t = parseTemplate('{{upper .}}', { funcs: dockerFuncs });
  assert.equal(t.execute('abc'), 'ABC');
  assert.equal(t.execute('abc', { funcs: { upper: (v: unknown) => v } }), 'abc');
});

test('printing values like fmt %v', () => {
  assert.equal(run('{{.}}', [1, 'a', true, null, 1.5]), '[1 a true <nil> 1.5]');
  assert.equal(run('{{.}}', { b: 2, a: { c: [1] } }), 'map[a:map[c:[1]] b:2]');
  assert.equal(run('{{.}}', { [STRUCT]: 'T', B: 2, A: 'x' }), '{2 x}');
  assert.equal(run('{{printf "%+v" .}}', { [STRUCT]: 'T', B: 2, A: 'x' }), '{B:2 A:x}');
  assert.equal(run('{{.}}', new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 120))), '2024-01-02 03:04:05.12 +0000 UTC');
  assert.equal(run('{{.}}', 1234567.5), '1.2345675e+06');
  assert.equal(run('{{.}}', 12345678901234567890n), '12345678901234567890');
});

test('robustness: cycles, throwing getters and String methods, range over generators', () => {
  const cyc: Record<string, unknown> = { a: 1 };
  cyc.self = cyc;
  assert.equal(run('{{.}}', cyc), 'map[a:1 self:<cycle>]');
  class G {
    get X(): string {
      throw new Error('nope');
    }
    toString(): string {
      throw new Error('bad');
    }
  }
  assert.equal(execError('{{.X}}', new G()), 'template: :1:2: executing "" at <.X>: error calling X: nope');
  assert.equal(run('{{.}}', new G()), '%!v(PANIC=String method: bad)');
  assert.equal(run('{{range .}}{{.}}{{end}}', function* () { yield 1; yield 2; }), '12');
  assert.equal(
    run('{{range $k, $v := .}}{{$k}}={{$v}} {{end}}', function* () { yield ['a', 1]; yield ['b', 2]; }),
    'a=1 b=2 ',
  );
  assert.equal(run('{{range .}}x{{else}}none{{end}}', function* () {}), 'none');
  // object-literal methods are not printed as struct fields
  assert.equal(run('{{.}}', { [STRUCT]: 'T', A: 1, M: () => 2 }), '{1}');
});
