/**
 * Dual-stack user-defined networks (`network create --ipv6`): each container gets an IPv6
 * address beside its IPv4 one, a default IPv6 route through the bridge, its name on both in
 * /etc/hosts and in the embedded DNS (A and AAAA), static addresses with --ip6 (at run and at
 * network connect), a subnet of the host's ULA /48 when none is given, ip6tables isolation
 * between networks, and nothing left (bridge, ip6tables rules) once the network is gone; through
 * the docker CLI and berth, across a berthd restart.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { TestDaemon } from './harness.ts';

let d: TestDaemon;
// A /64 of its own for each run (several daemons may be up at once).
// Groups written as Berth (and Go) writes them back: no leading zeros.
const group = () => (0x1000 + (randomBytes(2).readUInt16BE(0) % 0xf000)).toString(16);
const prefix = `fd${(0x10 + (randomBytes(1)[0]! % 0xf0)).toString(16)}:${group()}:${group()}`;
const subnet = `${prefix}::/64`;

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
});

after(async () => {
  await d?.cleanup();
});

const ip6tablesRules = (bridge: string) => ['filter', 'nat'].flatMap((t) =>
  (spawnSync('ip6tables', ['-w', '-t', t, '-S'], { encoding: 'utf8' }).stdout ?? '').split('\n').filter((l) => l.includes(`berth:${bridge}`)));

test('a dual-stack network: addresses, routes, hosts, DNS A and AAAA, ping by name, --ip6', async () => {
  const id = (await d.dockerOk(['network', 'create', '--ipv6', '--subnet', subnet, 'dual'])).trim();
  assert.equal(await d.ok(['network', 'inspect', '-f', '{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}}={{.Gateway}} {{end}}', 'dual']),
    `true ${(await d.ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', 'dual'])).trim()}=${(await d.ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'dual'])).trim()} ${subnet}=${prefix}::1 \n`);
  await d.ok(['run', '-d', '--name', 'web6', '--network', 'dual', 'busybox', 'sleep', '300']);
  await d.dockerOk(['run', '-d', '--name', 'fixed6', '--network', 'dual', '--ip6', `${prefix}::99`, 'busybox', 'sleep', '300']);
  assert.equal(await d.ok(['inspect', '-f', '{{with .NetworkSettings.Networks.dual}}{{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}} {{.IPAMConfig.IPv6Address}}{{end}}', 'fixed6']),
    `${prefix}::99/64 ${prefix}::1 ${prefix}::99\n`);
  const web6 = (await d.ok(['inspect', '-f', '{{.NetworkSettings.Networks.dual.GlobalIPv6Address}}', 'web6'])).trim();
  assert.equal(web6, `${prefix}::2`);
  const r = await d.berth(['run', '--rm', '--network', 'dual', 'busybox', 'sh', '-c',
    'ip -6 addr show eth0 | grep -o "inet6 [^ ]* scope global"; ip -6 route | grep ^default | cut -d" " -f1-3; tail -2 /etc/hosts | cut -f1; ' +
    'nslookup -type=AAAA fixed6 | grep ^Address: | tail -1; nslookup -type=A fixed6 | grep ^Address: | tail -1; ping6 -c 1 -W 5 web6 >/dev/null && echo ping6 ok']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], `inet6 ${prefix}::3/64 scope global`);
  assert.equal(lines[1], `default via ${prefix}::1`);
  assert.match(lines[2]!, /^10\.\d+\.\d+\.\d+$/);
  assert.equal(lines[3], `${prefix}::3`);
  assert.equal(lines[4], `Address: ${prefix}::99`);
  assert.match(lines[5]!, /^Address: 10\.\d+\.\d+\.\d+$/);
  assert.equal(lines[6], 'ping6 ok');
  // network inspect lists both addresses of each container.
  assert.match(await d.dockerOk(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}}={{.IPv6Address}} {{end}}', 'dual']), new RegExp(`fixed6=${prefix}::99/64`));
  // An address in use, an address on a network without IPv6, on the default bridge.
  let bad = await d.docker(['run', '--rm', '--network', 'dual', '--ip6', `${prefix}::99`, 'busybox', 'true']);
  assert.match(bad.stderr, /Address already in use/);
  await d.ok(['network', 'create', 'v4only']);
  bad = await d.berth(['run', '--rm', '--network', 'v4only', '--ip6', `${prefix}::5`, 'busybox', 'true']);
  assert.match(bad.stderr, /network v4only has no IPv6 \(created without --ipv6\)/);
  bad = await d.berth(['run', '--rm', '--ip6', `${prefix}::5`, 'busybox', 'true']);
  assert.match(bad.stderr, /user specified IP address is supported on user defined networks only/);
  assert.equal((await d.berth(['ps', '-aq', '--filter', 'status=created'])).stdout, '', 'nothing half-made');
  // network connect --ip6 to a running container.
  await d.ok(['network', 'connect', '--ip6', `${prefix}::77`, 'dual', (await d.ok(['run', '-d', '--name', 'late', '--network', 'v4only', 'busybox', 'sleep', '300'])).trim()]);
  assert.match(await d.ok(['exec', 'late', 'ip', '-6', 'addr']), new RegExp(`inet6 ${prefix}::77/64 scope global`));
  assert.ok(ip6tablesRules(`br-${id.slice(0, 12)}`).length > 0, 'the network\'s ip6tables rules');
});

test('a berthd restart keeps the IPv6 addresses in use; no address is given twice', async () => {
  await d.stopDaemon();
  await d.startDaemon();
  await d.ok(['run', '-d', '--name', 'after', '--network', 'dual', 'busybox', 'sleep', '300']);
  const addrs = (await d.ok(['network', 'inspect', '-f', '{{range .Containers}}{{.IPv6Address}} {{end}}', 'dual'])).trim().split(' ');
  assert.equal(new Set(addrs).size, addrs.length, `distinct: ${addrs.join(' ')}`);
  assert.match(await d.ok(['exec', 'web6', 'ip', '-6', 'addr', 'show', 'eth0']), new RegExp(`inet6 ${prefix}::2/64`));
  const r = await d.berth(['exec', 'after', 'ping6', '-c', '1', '-W', '5', 'fixed6']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('without --subnet: a /64 of the host\'s ULA /48; networks are isolated; nothing left once removed', async () => {
  await d.ok(['network', 'create', '--ipv6', 'auto1']);
  await d.ok(['network', 'create', '--ipv6', 'auto2']);
  const sub = async (n: string) => (await d.ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 1).Subnet}}', n])).trim();
  const [a1, a2] = [await sub('auto1'), await sub('auto2')];
  assert.match(a1, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);
  assert.match(a2, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}:1::\/64$/);
  assert.equal(a1.split(':').slice(0, 3).join(':'), a2.split(':').slice(0, 3).join(':'), 'one /48');
  // A container on another network cannot reach this one's over IPv6.
  const r = await d.berth(['run', '--rm', '--network', 'auto1', 'busybox', 'ping6', '-c', '1', '-W', '2', `${prefix}::2`]);
  assert.equal(r.code, 1, 'isolated');
  const ownId = (await d.ok(['network', 'inspect', '-f', '{{.Id}}', 'auto2'])).trim();
  await d.ok(['network', 'rm', 'auto1', 'auto2']);
  assert.deepEqual(ip6tablesRules(`br-${ownId.slice(0, 12)}`), []);
  assert.notEqual(spawnSync('ip', ['link', 'show', `br-${ownId.slice(0, 12)}`]).status, 0, 'its bridge is gone');
  // Bad requests change nothing.
  let bad = await d.docker(['network', 'create', '--subnet', 'fd00:1::/64', 'nov6']);
  assert.match(bad.stderr, /an IPv6 subnet \(fd00:1::\/64\) needs IPv6 enabled on the network \(--ipv6\)/);
  bad = await d.docker(['network', 'create', '--ipv6', '--subnet', `${prefix}:0:1::/80`, 'overlap']);
  assert.match(bad.stderr, /Pool overlaps with other one on this address space/);
  bad = await d.berth(['network', 'create', '--ipv6', '--subnet', `${prefix}:1::1/64`, 'hostbits']);
  assert.match(bad.stderr, new RegExp(`invalid subnet ${prefix}:1::1/64: it should be ${prefix}:1::/64`));
  assert.doesNotMatch(await d.ok(['network', 'ls', '--format', '{{.Name}}']), /nov6|overlap|hostbits/);
});

test('the default bridge with IPv6 (berthd --ipv6, fixed-cidr-v6): addresses, inspect\'s top-level fields; off again at the next start', async () => {
  const bridgeSubnet = `${prefix}:ffff::/64`;
  await d.stopDaemon();
  d.writeConfig({ 'fixed-cidr-v6': bridgeSubnet });
  const refused = await d.startDaemon().then(() => 'started', (e: Error) => e.message);
  assert.match(refused, /fixed-cidr-v6 needs ipv6 \(--ipv6\)/);
  d.writeConfig({ ipv6: true, 'fixed-cidr-v6': bridgeSubnet });
  await d.startDaemon();
  try {
    assert.equal(await d.dockerOk(['network', 'inspect', '-f', '{{.EnableIPv6}} {{(index .IPAM.Config 1).Subnet}} {{(index .IPAM.Config 1).Gateway}}', 'bridge']),
      `true ${bridgeSubnet} ${prefix}:ffff::1\n`);
    await d.ok(['run', '-d', '--name', 'onbridge', 'busybox', 'sleep', '300']);
    assert.equal(await d.dockerOk(['inspect', '-f', '{{.NetworkSettings.GlobalIPv6Address}}/{{.NetworkSettings.GlobalIPv6PrefixLen}} {{.NetworkSettings.IPv6Gateway}}', 'onbridge']),
      `${prefix}:ffff::2/64 ${prefix}:ffff::1\n`);
    assert.ok(ip6tablesRules(d.bridge).length > 0, 'the default bridge\'s ip6tables rules');
    const r = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', `ip -6 addr show eth0 | grep -o "inet6 [^ ]* scope global"; ping6 -c 1 -W 5 ${prefix}:ffff::2 >/dev/null && echo ok`]);
    assert.equal(r.stdout, `inet6 ${prefix}:ffff::3/64 scope global\nok\n`, r.stderr);
    await d.ok(['rm', '-f', 'onbridge']);
  } finally {
    await d.stopDaemon();
    d.writeConfig({});
    await d.startDaemon();
  }
  assert.equal(await d.ok(['network', 'inspect', '-f', '{{.EnableIPv6}} {{len .IPAM.Config}}', 'bridge']), 'false 1\n');
  assert.deepEqual(ip6tablesRules(d.bridge), [], 'the bridge\'s ip6tables rules went with its IPv6');
  assert.doesNotMatch(spawnSync('ip', ['-6', 'addr', 'show', 'dev', d.bridge], { encoding: 'utf8' }).stdout, /scope global/);
  const r = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'ip -6 addr show eth0 | grep -c "scope global" || true']);
  assert.equal(r.stdout, '0\n');
});

test('a dual-stack container\'s ports: IPv6 DNAT by ip6tables (served while berthd is down), [::1] relayed by berthd; rules gone with it', async () => {
  const net = `${prefix.slice(0, -4)}beef`;
  await d.dockerOk(['network', 'create', '--ipv6', '--subnet', `${net}::/64`, 'dualports']);
  const port = 20000 + (randomBytes(2).readUInt16BE(0) % 20000);
  const portRules = () => (spawnSync('ip6tables', ['-w', '-t', 'nat', '-S', 'BERTH-DNAT'], { encoding: 'utf8' }).stdout ?? '').split('\n').filter((l) => l.includes('berth-port:') && l.includes(`--dport ${port} `));
  const get = (host: string) => spawnSync('curl', ['-s', '-g', '-m', '5', `http://${host}:${port}/`], { encoding: 'utf8' }).stdout;
  try {
    await d.dockerOk(['run', '-d', '--name', 'p6', '--network', 'dualports', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'mkdir /h && echo six > /h/index.html && httpd -f -p 80 -h /h']);
    assert.equal((await d.dockerOk(['port', 'p6'])), `80/tcp -> 0.0.0.0:${port}\n80/tcp -> [::]:${port}\n`);
    assert.equal(portRules().length, 1, portRules().join('\n'));
    // the bridge's own IPv6 address is the host's: a local destination, DNAT'd to the container
    let body = '';
    for (let i = 0; i < 50 && body !== 'six\n'; i++) {
      body = get(`[${net}::1]`);
      if (body !== 'six\n') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(body, 'six\n');
    assert.equal(get('[::1]'), 'six\n');
    await d.stopDaemon();
    assert.equal(get(`[${net}::1]`), 'six\n', 'the kernel serves it while berthd is down');
    await d.startDaemon();
    assert.equal(portRules().length, 1, 'neither lost nor doubled by the restart');
    // IPv6 rules lost while berthd was down (the IPv4 ones kept) are made again at its start
    await d.stopDaemon();
    for (const r of portRules()) spawnSync('ip6tables', ['-w', '-t', 'nat', '-D', ...r.slice(3).match(/"[^"]*"|\S+/g)!.map((x) => x.replace(/^"|"$/g, ''))]);
    assert.deepEqual(portRules(), []);
    await d.startDaemon();
    assert.equal(portRules().length, 1, 'made again');
    const all6 = ['nat', 'filter'].flatMap((t) => (spawnSync('ip6tables', ['-w', '-t', t, '-S'], { encoding: 'utf8' }).stdout ?? '').split('\n').filter((l) => l.includes('berth-port:')));
    assert.equal(all6.length, 3, `DNAT, hairpin and forward, none doubled:\n${all6.join('\n')}`);
    assert.equal(get('[::1]'), 'six\n', 'held and relayed again');
  } finally {
    await d.berth(['rm', '-f', 'p6']);
    await d.berth(['network', 'rm', 'dualports']);
  }
  assert.deepEqual(portRules(), []);
});
