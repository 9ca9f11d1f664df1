/**
 * Networking: the default bridge (addresses from the daemon's pool, a veth per container,
 * /etc/hosts naming the container's address), none and host, user-defined bridge networks with
 * static addresses, and the network commands through berth, the docker CLI and docker-py.
 * Traffic goes only to containers on the test daemon's own bridges (its own names and subnets,
 * removed by the harness whatever happens).
 */
import { test, before, after, afterEach } from 'node:test';
import { createSocket } from 'node:dgram';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { ROOT, TestDaemon } from './harness.ts';

let d: TestDaemon;
/** The first three octets of the daemon's /20, and a /24 in it for user networks. */
let base: string;
let userSubnet: string;

before(async () => {
  d = await TestDaemon.start();
  await d.importBusybox();
  const [a, b, c] = d.netRange.split('.');
  base = `${a}.${b}.`;
  userSubnet = `${a}.${b}.${Number(c) + 5}.0/24`;
});

after(async () => {
  await d?.cleanup();
});

afterEach(async () => {
  const ids = (await d.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  for (const id of ids) await d.berth(['rm', '-f', id]);
  for (const n of (await d.berth(['network', 'ls', '-q', '--filter', 'type=custom'])).stdout.split('\n').filter(Boolean)) await d.berth(['network', 'rm', n]);
});

const ok = (args: string[]) => d.ok(args);
const dok = (args: string[]) => d.dockerOk(args);

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function vethsOn(bridge: string): string[] {
  return (spawnSync('ip', ['-o', 'link', 'show', 'master', bridge], { encoding: 'utf8' }).stdout ?? '').split('\n').filter(Boolean);
}

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail('timed out');
}

test('the default bridge: an address from the pool, a gateway, /etc/hosts, reachable from the host and from containers', async () => {
  await ok(['run', '-d', '--name', 'web', 'busybox', 'sh', '-c', 'echo hello-from-web > /www; mkdir -p /h && echo hi > /h/index.html; httpd -f -p 8080 -h /h']);
  const ns = JSON.parse(await ok(['inspect', '-f', '{{json .NetworkSettings}}', 'web'])) as Record<string, unknown> & { Networks: Record<string, Record<string, unknown>> };
  const ip = ns.IPAddress as string;
  assert.ok(ip.startsWith(base), ip);
  assert.equal(ns.Gateway, d.bip.split('/')[0]);
  assert.equal(ns.IPPrefixLen, 24);
  assert.match(ns.MacAddress as string, /^02:42:0a(:[0-9a-f]{2}){3}$/);
  assert.deepEqual(Object.keys(ns.Networks), ['bridge']);
  assert.equal(ns.Networks.bridge.IPAddress, ip);
  assert.match(ns.Networks.bridge.EndpointID as string, /^[0-9a-f]{64}$/);
  assert.match(ns.SandboxKey as string, /netns/);
  const bridgeId = (await ok(['network', 'inspect', '-f', '{{.Id}}', 'bridge'])).trim();
  assert.equal(ns.Networks.bridge.NetworkID, bridgeId);
  // The host reaches the container (over the test's own bridge), and so does another container.
  await waitFor(async () => (await httpGet(`http://${ip}:8080/`).catch(() => '')) === 'hi\n');
  const out = await ok(['run', '--rm', 'busybox', 'sh', '-c', `ip -4 route; wget -qO- http://${ip}:8080/; grep -v ip6 /etc/hosts | tail -1`]);
  assert.match(out, new RegExp(`^default via ${d.bip.split('/')[0]} dev eth0`, 'm'));
  assert.match(out, /^hi$/m);
  assert.match(out, new RegExp(`^${base.replace(/\./g, '\\.')}\\d+\\.\\d+\\t[0-9a-f]{12}$`, 'm'));
  // The network shows its container; the docker CLI reads the same.
  const net = JSON.parse(await dok(['network', 'inspect', 'bridge'])) as { Containers: Record<string, { Name: string; IPv4Address: string }>; IPAM: { Config: { Subnet: string; Gateway: string }[] } }[];
  assert.equal(net[0].IPAM.Config[0].Subnet, d.bip.replace(/\.1\//, '.0/'));
  assert.deepEqual(Object.values(net[0].Containers).map((c) => [c.Name, c.IPv4Address]), [['web', `${ip}/24`]]);
  // Stopped: no address; removed: no veth left on the bridge.
  await ok(['stop', '-t', '0', 'web']);
  assert.equal((await ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}|{{.NetworkSettings.Networks.bridge.NetworkID}}', 'web'])).trim(), `|${bridgeId}`);
  await ok(['rm', 'web']);
  assert.deepEqual(vethsOn(d.bridge), []);
});

test('addresses are never handed out twice while in use, and survive a daemon restart', async () => {
  const ips = new Set<string>();
  for (const n of ['a1', 'a2', 'a3']) {
    await ok(['run', '-d', '--name', n, 'busybox', 'sleep', '600']);
    ips.add((await ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', n])).trim());
  }
  assert.equal(ips.size, 3);
  await d.stopDaemon();
  await d.startDaemon();
  assert.equal((await ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'a1'])).trim(), [...ips][0]);
  await ok(['run', '-d', '--name', 'a4', 'busybox', 'sleep', '600']);
  const fourth = (await ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'a4'])).trim();
  assert.ok(!ips.has(fourth), `${fourth} was handed out again`);
  // Still connected after the restart.
  const out = await ok(['exec', 'a4', 'sh', '-c', `ping -c1 -W2 ${[...ips][0]} >/dev/null && echo reach`]);
  assert.equal(out, 'reach\n');
  assert.equal(vethsOn(d.bridge).length, 4);
});

test('--network none has only loopback; host shares the host\'s interfaces', async () => {
  const none = await ok(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net']);
  assert.equal(none, 'lo\n');
  const hostLinks = (spawnSync('ls', ['/sys/class/net'], { encoding: 'utf8' }).stdout).split('\n').filter(Boolean).sort();
  const inHost = (await ok(['run', '--rm', '--network', 'host', 'busybox', 'ls', '/sys/class/net'])).split('\n').filter(Boolean).sort();
  assert.ok(inHost.includes(d.bridge), 'the host network namespace has the test bridge');
  assert.ok(hostLinks.every((l) => inHost.includes(l) || l.startsWith('vb')), `${hostLinks} vs ${inHost}`);
  const bad = await d.berth(['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /network nosuchnet not found/);
});

test('user-defined networks: create with a subnet, static --ip, reach each other; rm refused in use; prune', async () => {
  const gw = userSubnet.replace(/0\/24$/, '1');
  const id = (await ok(['network', 'create', '--subnet', userSubnet, '--label', 'team=x', 'appnet'])).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const table = await ok(['network', 'ls', '--filter', 'name=appnet']);
  assert.match(table, /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE\n[0-9a-f]{12}\s+appnet\s+bridge\s+local\n$/);
  assert.equal((await ok(['network', 'ls', '-q', '--filter', 'label=team=x', '--no-trunc'])).trim(), id);
  const staticIp = userSubnet.replace(/0\/24$/, '50');
  await ok(['run', '-d', '--name', 'srv', '--network', 'appnet', '--ip', staticIp, '--network-alias', 'api', 'busybox', 'sleep', '600']);
  const eps = JSON.parse(await ok(['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'srv'])) as Record<string, { IPAddress: string; Gateway: string; Aliases: string[]; IPAMConfig: { IPv4Address: string } }>;
  assert.deepEqual(Object.keys(eps), ['appnet']);
  assert.equal(eps.appnet.IPAddress, staticIp);
  assert.equal(eps.appnet.Gateway, gw);
  assert.deepEqual(eps.appnet.Aliases, ['api']);
  assert.deepEqual(eps.appnet.IPAMConfig, { IPv4Address: staticIp });
  assert.equal(await ok(['run', '--rm', '--network', 'appnet', 'busybox', 'sh', '-c', `ping -c1 -W2 ${staticIp} >/dev/null && echo reach`]), 'reach\n');
  const taken = await d.berth(['run', '--rm', '--network', 'appnet', '--ip', staticIp, 'busybox', 'true']);
  assert.equal(taken.code, 125);
  assert.match(taken.stderr, /Address already in use/);
  const outside = await d.berth(['run', '--rm', '--network', 'appnet', '--ip', '192.0.2.200', 'busybox', 'true']);
  assert.notEqual(outside.code, 0);
  assert.match(outside.stderr, /no configured subnet or ip-range contain the IP address 192\.0\.2\.200/);
  const onBridge = await d.berth(['run', '--rm', '--ip', `${base}0.9`, 'busybox', 'true']);
  assert.match(onBridge.stderr, /user specified IP address is supported on user defined networks only/);
  // Isolation: the default bridge cannot reach appnet's containers' addresses through their bridge.
  const inUse = await d.berth(['network', 'rm', 'appnet']);
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, /error while removing network: network appnet has active endpoints \(name:"srv" id:"[0-9a-f]{12}"\)/);
  await ok(['rm', '-f', 'srv']);
  assert.equal((await ok(['network', 'prune', '-f'])).trim(), 'Deleted Networks:\nappnet');
  assert.equal((await d.berth(['network', 'inspect', 'appnet'])).code, 1);
});

test('networks are isolated from each other; --gateway, --ip-range, --internal, MTU, masquerade off, connect --ip, addresses released (docker CLI)', async () => {
  const [a, b, c] = d.netRange.split('.');
  const subA = `${a}.${b}.${Number(c) + 7}.0/24`;
  const subB = `${a}.${b}.${Number(c) + 8}.0/24`;
  const pre = `${a}.${b}.${Number(c) + 7}.`;
  await dok(['network', 'create', '--subnet', subA, '--gateway', `${pre}254`, '--ip-range', `${pre}128/25`,
    '-o', 'com.docker.network.driver.mtu=1400', '-o', 'com.docker.network.bridge.enable_ip_masquerade=false', 'neta']);
  await dok(['network', 'create', '--subnet', subB, 'netb']);
  const cfg = JSON.parse(await dok(['network', 'inspect', '-f', '{{json .IPAM.Config}}', 'neta'])) as { Subnet: string; Gateway: string; IPRange: string }[];
  assert.deepEqual(cfg, [{ Subnet: subA, Gateway: `${pre}254`, IPRange: `${pre}128/25` }]);
  await dok(['run', '-d', '--name', 'ina', '--network', 'neta', 'busybox', 'sleep', '600']);
  await dok(['run', '-d', '--name', 'inb', '--network', 'netb', 'busybox', 'sleep', '600']);
  const ipA = (await dok(['inspect', '-f', '{{.NetworkSettings.Networks.neta.IPAddress}}', 'ina'])).trim();
  const ipB = (await dok(['inspect', '-f', '{{.NetworkSettings.Networks.netb.IPAddress}}', 'inb'])).trim();
  assert.ok(Number(ipA.split('.')[3]) >= 128, `an address from the ip-range: ${ipA}`);
  assert.equal(await dok(['exec', 'ina', 'sh', '-c', 'cat /sys/class/net/eth0/mtu; ip route | grep default | cut -d" " -f3']), `1400\n${pre}254\n`);
  // The same network reaches, another one does not (bounded: one ping, one second).
  assert.equal(await dok(['run', '--rm', '--network', 'neta', 'busybox', 'sh', '-c', `ping -c1 -W2 ${ipA} >/dev/null && echo reach`]), 'reach\n');
  assert.equal(await dok(['exec', 'inb', 'sh', '-c', `ping -c1 -W1 ${ipA} >/dev/null && echo reach || echo isolated`]), 'isolated\n');
  assert.equal(await dok(['exec', 'ina', 'sh', '-c', `ping -c1 -W1 ${ipB} >/dev/null && echo reach || echo isolated`]), 'isolated\n');
  // Masquerading is off for neta only.
  const nat = spawnSync('iptables', ['-w', '-t', 'nat', '-S', 'BERTH-POSTROUTING'], { encoding: 'utf8' }).stdout;
  assert.ok(!nat.split('\n').some((l) => l.includes(`-s ${subA}`) && l.includes('MASQUERADE')), 'no masquerade for neta');
  assert.ok(nat.split('\n').some((l) => l.includes(`-s ${subB}`) && l.includes('MASQUERADE')), 'masquerade for netb');
  // connect --ip: the container joins with the address asked for, and reaches the other side.
  await dok(['network', 'connect', '--ip', `${pre}200`, 'neta', 'inb']);
  assert.equal((await dok(['inspect', '-f', '{{.NetworkSettings.Networks.neta.IPAddress}}', 'inb'])).trim(), `${pre}200`);
  assert.equal(await dok(['exec', 'inb', 'sh', '-c', `ping -c1 -W2 ${ipA} >/dev/null && echo reach`]), 'reach\n');
  // A removed container's address is free again.
  await dok(['rm', '-f', 'ina']);
  await dok(['run', '-d', '--name', 'again', '--network', 'neta', '--ip', ipA, 'busybox', 'sleep', '600']);
  assert.equal((await dok(['inspect', '-f', '{{.NetworkSettings.Networks.neta.IPAddress}}', 'again'])).trim(), ipA);
  // neta's DNS server answers its own containers only: asked by one on netb, it refuses.
  const stranger = await d.docker(['run', '--rm', '--network', 'netb', 'busybox', 'nslookup', 'again', `${pre}254`]);
  assert.doesNotMatch(stranger.stdout, new RegExp(`Address: ${ipA.replace(/\./g, '\\.')}`), stranger.stdout);
  assert.match(stranger.stdout + stranger.stderr, /REFUSED/);
  // After a daemon restart names still resolve (the table is rebuilt from running containers).
  await d.stopDaemon();
  await d.startDaemon();
  assert.match(await dok(['exec', 'inb', 'nslookup', 'again']), new RegExp(`Address: ${ipA.replace(/\./g, '\\.')}`));
  // --internal: no default route, nothing forwarded out; its own members still talk.
  await dok(['network', 'create', '--internal', '--subnet', `${a}.${b}.${Number(c) + 9}.0/24`, 'neti']);
  await dok(['run', '-d', '--name', 'ini', '--network', 'neti', 'busybox', 'sleep', '600']);
  const ipI = (await dok(['inspect', '-f', '{{.NetworkSettings.Networks.neti.IPAddress}}', 'ini'])).trim();
  assert.equal(await dok(['exec', 'ini', 'sh', '-c', 'ip route | grep -c default; true']), '0\n');
  assert.equal(await dok(['run', '--rm', '--network', 'neti', 'busybox', 'sh', '-c', `ping -c1 -W2 ${ipI} >/dev/null && echo reach`]), 'reach\n');
  assert.equal((await dok(['network', 'inspect', '-f', '{{.Internal}}', 'neti'])).trim(), 'true');
});

test('published port ranges: each port of the range answers, port shows them (docker CLI)', async () => {
  const low = 20000 + (process.pid % 20000);
  await dok(['run', '-d', '--name', 'ranged', '-p', `127.0.0.1:${low}-${low + 1}:80-81`, 'busybox', 'sh', '-c', 'mkdir -p /w80 /w81 && echo p80 > /w80/index.html && echo p81 > /w81/index.html && httpd -p 80 -h /w80 && httpd -p 81 -h /w81 && sleep 600']);
  assert.equal(await dok(['port', 'ranged']), `80/tcp -> 127.0.0.1:${low}\n81/tcp -> 127.0.0.1:${low + 1}\n`);
  let first = '';
  await waitFor(async () => {
    first = await httpGet(`http://127.0.0.1:${low}/`).catch(() => '');
    return first === 'p80\n';
  }, 10_000).catch(() => {});
  assert.equal(first, 'p80\n');
  assert.equal(await httpGet(`http://127.0.0.1:${low + 1}/`), 'p81\n');
});

test('bad input: overlapping and invalid subnets, reserved names, unknown drivers; nothing left behind', async () => {
  await ok(['network', 'create', '--subnet', userSubnet, 'first']);
  const cases: [string[], RegExp][] = [
    [['--subnet', userSubnet, 'second'], /Pool overlaps with other one on this address space/],
    [['--subnet', '10.1.2.3/33', 'bad1'], /invalid subnet 10\.1\.2\.3\/33/],
    [['--subnet', `${base}7.5/24`, 'bad2'], /invalid subnet/],
    [['--subnet', 'nonsense', 'bad3'], /invalid subnet nonsense/],
    [['--driver', 'overlay', 'bad4'], /plugin "overlay" not found/],
    [['--gateway', '10.0.0.1', 'bad5'], /every ip-range or gateway must have a corresponding subnet/],
    [['first'], /network with name first already exists/],
    [['bridge'], /bridge is a pre-defined network and cannot be created/],
    [['-o', 'bogus=1', 'bad6'], /network option bogus is not supported/],
  ];
  for (const [args, re] of cases) {
    const r = await d.berth(['network', 'create', ...args]);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, re, `${args.join(' ')}: ${r.stderr}`);
  }
  assert.deepEqual((await ok(['network', 'ls', '--format', '{{.Name}}', '--filter', 'type=custom'])).trim(), 'first');
  const pre = await d.berth(['network', 'rm', 'bridge']);
  assert.match(pre.stderr, /bridge is a pre-defined network and cannot be removed/);
  await ok(['network', 'rm', 'first']);
  const gone = spawnSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).stdout;
  assert.ok(!gone.includes(userSubnet.replace(/0\/24$/, '1/24')), 'the network\'s bridge is gone');
});

test('auxiliary addresses and IPAM options (docker CLI and berth): kept, shown, never handed out; swarm-only and config-only networks refused by name', async () => {
  const net = userSubnet.replace(/0\/24$/, '');
  for (const [cli, run] of [['docker', dok], ['berth', ok]] as const) {
    await run(['network', 'create', '--subnet', userSubnet, '--aux-address', `router=${net}2`, '--aux-address', `printer=${net}3`, '--ipam-opt', 'com.example.pool=blue', 'auxnet']);
    const ipam = JSON.parse(await ok(['network', 'inspect', '-f', '{{json .IPAM}}', 'auxnet'])) as { Options: Record<string, string>; Config: { AuxiliaryAddresses?: Record<string, string> }[] };
    assert.deepEqual(ipam.Options, { 'com.example.pool': 'blue' }, cli);
    assert.deepEqual(ipam.Config[0].AuxiliaryAddresses, { router: `${net}2`, printer: `${net}3` }, cli);
    // .1 is the gateway and .2/.3 are held: the first container gets .4; asking for .2 is refused.
    assert.equal((await ok(['run', '--rm', '--network', 'auxnet', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0 | awk \'{print $4}\''])).trim(), `${net}4/24`, cli);
    const taken = await d.berth(['run', '--rm', '--network', 'auxnet', '--ip', `${net}2`, 'busybox', 'true']);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /Address already in use/);
    await ok(['network', 'rm', 'auxnet']);
  }
  const outside = await d.docker(['network', 'create', '--subnet', userSubnet, '--aux-address', 'far=192.0.2.9', 'auxbad']);
  assert.notEqual(outside.code, 0);
  assert.match(outside.stderr, /no matching subnet for aux-address 192\.0\.2\.9/);
  // What belongs to swarm, or to networks that only carry configuration, is refused by name.
  const refused: [string[], RegExp][] = [
    [['--scope', 'swarm'], /Scope: /],
    [['--ingress'], /Ingress: /],
    [['--config-only'], /ConfigOnly: /],
    [['--config-from', 'other'], /ConfigFrom: /],
    [['--ipv4=false'], /EnableIPv4: /],
  ];
  for (const [args, re] of refused) {
    const r = await d.docker(['network', 'create', ...args, 'refused']);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, re, `${args.join(' ')}: ${r.stderr}`);
    // berth's CLI has the same flags and sends them the same way.
    const b = await d.berth(['network', 'create', ...args, 'refused']);
    assert.equal(b.code, r.code, args.join(' '));
    assert.equal(b.stderr, r.stderr, args.join(' '));
  }
  assert.equal((await ok(['network', 'ls', '-q', '--filter', 'type=custom'])).trim(), '', 'nothing was made');
});

test('the docker CLI and docker-py create, list, use and remove networks', async () => {
  const id = (await dok(['network', 'create', '--subnet', userSubnet, 'dknet'])).trim();
  assert.match(await dok(['network', 'ls']), /dknet\s+bridge\s+local/);
  await dok(['run', '-d', '--name', 'dk1', '--network', 'dknet', 'busybox', 'sleep', '600']);
  const ip = (await dok(['inspect', '-f', '{{.NetworkSettings.Networks.dknet.IPAddress}}', 'dk1'])).trim();
  assert.ok(ip.startsWith(userSubnet.replace(/0\/24$/, '')));
  assert.equal(await dok(['run', '--rm', '--network', 'dknet', 'busybox', 'sh', '-c', `ping -c1 -W2 ${ip} >/dev/null && echo reach`]), 'reach\n');
  await dok(['rm', '-f', 'dk1']);
  await dok(['network', 'rm', id]);
  const script = `
import docker, json
c = docker.from_env()
n = c.networks.create("pynet", driver="bridge", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=${JSON.stringify(userSubnet)})]), labels={"k": "v"})
got = c.networks.get("pynet").attrs
names = sorted(x.name for x in c.networks.list())
bridge = c.networks.get("bridge").attrs
out = c.containers.run("busybox", ["sh", "-c", "ip -4 -o addr show eth0"], network="pynet", remove=True).decode()
n.remove()
print(json.dumps({"subnet": got["IPAM"]["Config"][0]["Subnet"], "labels": got["Labels"], "names": names, "gw": bridge["IPAM"]["Config"][0]["Gateway"], "out": out}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', script], { env: { ...process.env, DOCKER_HOST: d.host }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { subnet: string; labels: Record<string, string>; names: string[]; gw: string; out: string };
  assert.equal(res.subnet, userSubnet);
  assert.deepEqual(res.labels, { k: 'v' });
  assert.deepEqual(res.names, ['bridge', 'host', 'none', 'pynet']);
  assert.equal(res.gw, d.bip.split('/')[0]);
  assert.match(res.out, new RegExp(`inet ${userSubnet.replace(/0\/24$/, '').replace(/\./g, '\\.')}\\d+/24`));
});

/** Host ports for this run: a block of 20 from a random base, so parallel runs do not collide. */
const portBase = 20000 + Math.floor(Math.random() * 2000) * 20;

function portRules(): string[] {
  const nat = spawnSync('iptables', ['-t', 'nat', '-S'], { encoding: 'utf8' }).stdout ?? '';
  const filter = spawnSync('iptables', ['-S'], { encoding: 'utf8' }).stdout ?? '';
  return `${nat}\n${filter}`.split('\n').filter((l) => l.includes(`berth-port:${d.bridge}:`));
}

function listening(port: number): boolean {
  return (spawnSync('ss', ['-Htln', `sport = :${port}`], { encoding: 'utf8' }).stdout ?? '').trim() !== '';
}

test('published ports: -p on 127.0.0.1 answers the host, port and ps show it, stop frees it, a restart keeps it', async () => {
  const p = portBase;
  await ok(['run', '-d', '--name', 'web', '-p', `127.0.0.1:${p}:80`, '-p', `${p + 1}:81/udp`, 'busybox', 'sh', '-c', 'mkdir /h && echo published > /h/index.html && httpd -f -p 80 -h /h']);
  await waitFor(async () => (await httpGet(`http://127.0.0.1:${p}/`).catch(() => '')) === 'published\n');
  assert.equal(await ok(['port', 'web']), `80/tcp -> 127.0.0.1:${p}\n81/udp -> 0.0.0.0:${p + 1}\n81/udp -> [::]:${p + 1}\n`);
  assert.equal(await ok(['port', 'web', '80']), `127.0.0.1:${p}\n`);
  const none = await d.berth(['port', 'web', '90']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /No public port '90' published for web/);
  assert.equal((await ok(['ps', '--format', '{{.Ports}}', '--filter', 'name=web'])).trim(), `127.0.0.1:${p}->80/tcp, 0.0.0.0:${p + 1}->81/udp, [::]:${p + 1}->81/udp`);
  assert.equal((await ok(['ps', '-q', '--filter', 'publish=80/tcp'])).trim().length, 12);
  assert.equal((await ok(['ps', '-q', '--filter', 'publish=8080'])).trim(), '');
  // The docker CLI reads the same.
  assert.equal(await dok(['port', 'web', '80/tcp']), `127.0.0.1:${p}\n`);
  const ports = JSON.parse(await dok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'web'])) as Record<string, unknown>;
  assert.deepEqual(ports, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(p) }], '81/udp': [{ HostIp: '0.0.0.0', HostPort: String(p + 1) }, { HostIp: '::', HostPort: String(p + 1) }] });
  assert.equal(portRules().length, 6, 'DNAT, hairpin and forward rules for each port');
  // Another container asking for the same port is refused, and keeps nothing.
  const clash = await dok(['create', '--name', 'clash', '-p', `127.0.0.1:${p}:80`, 'busybox', 'true']).then(() => d.docker(['start', 'clash']));
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, new RegExp(`Bind for 127\\.0\\.0\\.1:${p} failed: port is already allocated`));
  assert.equal((await ok(['inspect', '-f', '{{.State.Status}}', 'clash'])).trim(), 'created');
  // berthd restarts: the container keeps serving on its port.
  await d.stopDaemon();
  assert.equal(await httpGet(`http://127.0.0.1:${p}/`), 'published\n', 'served by the kernel while berthd is down');
  await d.startDaemon();
  assert.equal(await httpGet(`http://127.0.0.1:${p}/`), 'published\n');
  assert.ok(listening(p), 'the port is held again');
  assert.equal(portRules().length, 6, 'rules neither lost nor doubled');
  // Stopped: rules gone and the port free for the next container at once.
  await ok(['stop', '-t', '0', 'web']);
  assert.deepEqual(portRules(), []);
  assert.ok(!listening(p));
  assert.deepEqual(JSON.parse(await ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'web'])), {});
  await ok(['start', 'clash']);
  await ok(['rm', '-f', 'web', 'clash']);
  assert.deepEqual(portRules(), []);
  // A container that dies while berthd is killed: its rules are swept at the next start, and
  // its port is free again.
  await ok(['run', '-d', '--name', 'dies', '-p', `127.0.0.1:${p}:80`, 'busybox', 'sleep', '600']);
  const pid = Number((await ok(['inspect', '-f', '{{.State.Pid}}', 'dies'])).trim());
  assert.equal(portRules().length, 3);
  await d.stopDaemon('SIGKILL');
  process.kill(pid, 'SIGKILL');
  await d.startDaemon();
  assert.equal((await ok(['inspect', '-f', '{{.State.Status}}', 'dies'])).trim(), 'exited');
  assert.deepEqual(portRules(), [], 'the rules of a container that died while berthd was down are swept');
  await ok(['run', '-d', '--name', 'after', '-p', `127.0.0.1:${p}:80`, 'busybox', 'sleep', '600']);
  await ok(['rm', '-f', 'dies', 'after']);
  assert.deepEqual(portRules(), []);
});

test('-P publishes every exposed port on ephemeral host ports; a port held by another program fails the start cleanly', async () => {
  await ok(['run', '-d', '--name', 'all', '-P', '--expose', '80', '--expose', '7000-7001/udp', 'busybox', 'sleep', '600']);
  const ports = JSON.parse(await ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'all'])) as Record<string, { HostIp: string; HostPort: string }[]>;
  assert.deepEqual(Object.keys(ports).sort(), ['7000/udp', '7001/udp', '80/tcp']);
  const [lo, hi] = (spawnSync('cat', ['/proc/sys/net/ipv4/ip_local_port_range'], { encoding: 'utf8' }).stdout).trim().split(/\s+/).map(Number);
  const hostPorts = Object.values(ports).map((b) => Number(b[0].HostPort));
  assert.ok(hostPorts.every((n) => n >= lo && n <= hi), `${hostPorts} in ${lo}-${hi}`);
  assert.equal(new Set(hostPorts).size, 3);
  // each on [::] too, with the same host port
  for (const b of Object.values(ports)) assert.deepEqual(b[1], { HostIp: '::', HostPort: b[0].HostPort });
  // Exposed without -P: listed, not published.
  await ok(['run', '-d', '--name', 'exp', '--expose', '9000', 'busybox', 'sleep', '600']);
  assert.equal((await ok(['ps', '--format', '{{.Ports}}', '--filter', 'name=exp'])).trim(), '9000/tcp');
  assert.deepEqual(JSON.parse(await ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'exp'])), { '9000/tcp': null });
  // A port another program holds: docker's "address already in use", nothing left behind.
  const holder = createServer().listen(portBase + 5, '127.0.0.1');
  await new Promise((r) => holder.once('listening', r));
  try {
    const r = await d.berth(['run', '-d', '--name', 'busy', '-p', `127.0.0.1:${portBase + 5}:80`, 'busybox', 'sleep', '600']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, new RegExp(`failed to bind host port for 127\\.0\\.0\\.1:${portBase + 5}:[0-9.]+:80/tcp: address already in use`));
    assert.equal((await ok(['inspect', '-f', '{{.State.Status}} {{.NetworkSettings.IPAddress}}', 'busy'])).trim(), 'created');
    const allId = (await ok(['inspect', '-f', '{{.Id}}', 'all'])).slice(0, 12);
    assert.deepEqual(portRules().filter((l) => !l.includes(allId)), []);
  } finally {
    holder.close();
  }
  assert.equal(vethsOn(d.bridge).length, 2, 'the failed start left no veth');
});

test('a port without a host address is published on 0.0.0.0 and [::] alike (docker 28); [::1] alone; conflicts by address family', async () => {
  const p = portBase + 10;
  await ok(['run', '-d', '--name', 'both', '-p', `${p}:80`, 'busybox', 'sh', '-c', 'mkdir /h && echo both > /h/index.html && httpd -f -p 80 -h /h']);
  // IPv6 reaches the IPv4-only container through berthd (docker-proxy's part in docker)
  await waitFor(async () => (await httpGet(`http://[::1]:${p}/`).catch(() => '')) === 'both\n');
  assert.equal(await httpGet(`http://127.0.0.1:${p}/`), 'both\n');
  assert.equal(await dok(['port', 'both']), `80/tcp -> 0.0.0.0:${p}\n80/tcp -> [::]:${p}\n`);
  assert.equal((await dok(['ps', '--format', '{{.Ports}}', '--filter', 'name=both'])).trim(), `0.0.0.0:${p}->80/tcp, [::]:${p}->80/tcp`);
  assert.deepEqual(JSON.parse(await dok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'both'])), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(p) }, { HostIp: '::', HostPort: String(p) }] });
  assert.equal(portRules().length, 3, 'NAT rules for IPv4 only');
  // [::1] alone, and the same port on 127.0.0.1 for another container: two families, no clash
  await ok(['run', '-d', '--name', 'six', '-p', `[::1]:${p + 1}:80`, 'busybox', 'sh', '-c', 'mkdir /h && echo six > /h/index.html && httpd -f -p 80 -h /h']);
  await ok(['run', '-d', '--name', 'four', '-p', `127.0.0.1:${p + 1}:80`, 'busybox', 'sleep', '600']);
  await waitFor(async () => (await httpGet(`http://[::1]:${p + 1}/`).catch(() => '')) === 'six\n');
  assert.equal(await ok(['port', 'six']), `80/tcp -> [::1]:${p + 1}\n`);
  // [::] taken by `both`: a v6 binding on the port clashes, named by its address
  await ok(['create', '--name', 'clash6', '-p', `[::1]:${p}:80`, 'busybox', 'true']);
  const clash = await d.docker(['start', 'clash6']);
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, new RegExp(`Bind for \\[::1\\]:${p} failed: port is already allocated`));
  await ok(['rm', '-f', 'both', 'six', 'four', 'clash6']);
  assert.ok(!listening(p) && !listening(p + 1));
  assert.deepEqual(portRules(), []);
});

test('bridge options as moby reads them: enable_icc=false parts a network\'s containers, host_binding_ipv4 places its ports, bad values refused (docker CLI)', async () => {
  const p = portBase + 15;
  const dropRules = () => (spawnSync('iptables', ['-S', 'BERTH-FORWARD'], { encoding: 'utf8' }).stdout ?? '').split('\n').filter((l) => / -i (\S+) -o \1 .*-j DROP/.test(l));
  const before = dropRules().length;
  await dok(['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', '-o', 'com.docker.network.bridge.host_binding_ipv4=127.0.0.1', 'noicc']);
  await dok(['network', 'create', 'withicc']);
  try {
    assert.equal(dropRules().length, before + 1);
    const serve = 'mkdir /h && echo icc > /h/index.html && httpd -f -p 80 -h /h';
    await ok(['run', '-d', '--name', 'icc1', '--network', 'noicc', '-p', `${p}:80`, 'busybox', 'sh', '-c', serve]);
    await ok(['run', '-d', '--name', 'icc2', '--network', 'withicc', 'busybox', 'sh', '-c', serve]);
    await waitFor(async () => (await httpGet(`http://127.0.0.1:${p}/`).catch(() => '')) === 'icc\n');
    assert.equal(await dok(['port', 'icc1']), `80/tcp -> 127.0.0.1:${p}\n`, 'only where host_binding_ipv4 says');
    // a neighbour on the icc=false network resolves icc1 but cannot reach it; on the other it can
    // (`; echo` keeps sh as PID 1: timeout's SIGTERM would not end a PID 1 wget)
    const cut = await ok(['run', '--rm', '--network', 'noicc', 'busybox', 'sh', '-c', 'timeout 3 wget -q -O- http://icc1/; echo "exit $?"']);
    assert.match(cut, /^exit [1-9]\d*$/m);
    assert.doesNotMatch(cut, /icc/);
    assert.equal(await ok(['run', '--rm', '--network', 'withicc', 'busybox', 'sh', '-c', 'timeout 10 wget -q -O- http://icc2/; echo "exit $?"']), 'icc\nexit 0\n');
  } finally {
    await d.berth(['rm', '-f', 'icc1', 'icc2']);
    const rm = await d.berth(['network', 'rm', 'noicc', 'withicc']);
    assert.equal(rm.code, 0, rm.stderr);
  }
  assert.equal(dropRules().length, before, 'the network\'s rule went with it');
  const bad: [string, RegExp][] = [
    ['com.docker.network.bridge.enable_icc=maybe', /failed to parse com\.docker\.network\.bridge\.enable_icc value: maybe \(strconv\.ParseBool: parsing "maybe": invalid syntax\)/],
    ['com.docker.network.bridge.enable_ip_masquerade=2', /failed to parse com\.docker\.network\.bridge\.enable_ip_masquerade value: 2 \(strconv\.ParseBool: parsing "2": invalid syntax\)/],
    ['com.docker.network.driver.mtu=big', /failed to parse com\.docker\.network\.driver\.mtu value: big \(strconv\.Atoi: parsing "big": invalid syntax\)/],
    ['com.docker.network.driver.mtu=-1', /invalid MTU number: -1/],
    ['com.docker.network.bridge.host_binding_ipv4=nowhere', /failed to parse com\.docker\.network\.bridge\.host_binding_ipv4 value: nowhere \(nil ip\)/],
    ['com.docker.network.bridge.gateway_mode_ipv4=routed', /network option com\.docker\.network\.bridge\.gateway_mode_ipv4 is not supported by Berth/],
  ];
  for (const [opt, re] of bad) {
    const r = await d.docker(['network', 'create', '-o', opt, 'badopt']);
    assert.equal(r.code, 1, opt);
    assert.match(r.stderr, re);
  }
  assert.equal((await d.berth(['network', 'inspect', 'badopt'])).code, 1, 'nothing was made');
});

test('bad port specs are refused with docker\'s messages, before anything is made', async () => {
  const cases: [string[], RegExp][] = [
    [['-p', '65536:80'], /invalid hostPort: 65536/],
    [['-p', '80:65536'], /invalid containerPort: 65536/],
    [['-p', '80/bogus'], /invalid proto: bogus/],
    [['-p', '8000-8002:80-81'], /invalid ranges specified for container and host Ports: 80-81 and 8000-8002/],
    [['-p', '999.1.1.1:80:80'], /invalid IP address: 999\.1\.1\.1/],
    [['--expose', 'x'], /invalid range format for --expose: x/],
  ];
  const before = (await ok(['ps', '-aq'])).trim();
  for (const [args, msg] of cases) {
    const r = await d.berth(['run', '--rm', ...args, 'busybox', 'true']);
    assert.equal(r.code, 125, args.join(' '));
    assert.match(r.stderr, msg);
  }
  // Through the API (docker-py), the daemon checks the same.
  const py = spawnSync('python3', ['-c', `
import docker, sys
c = docker.DockerClient(base_url='${d.host}')
try:
    c.containers.create('busybox', 'true', ports={'80/tcp': ('127.0.0.1', 70000)})
except docker.errors.APIError as e:
    print(e.explanation)
`], { encoding: 'utf8' });
  assert.match(py.stdout, /invalid port specification: "70000"/, py.stderr);
  assert.equal((await ok(['ps', '-aq'])).trim(), before);
  assert.deepEqual(portRules(), []);
});

test('user networks resolve names and aliases; connect and disconnect while running and while stopped (docker CLI, docker-py)', async () => {
  await dok(['network', 'create', 'dnsnet']);
  await dok(['run', '-d', '--name', 'srv', '--network', 'dnsnet', '--network-alias', 'api', 'busybox', 'sh', '-c', 'mkdir /h && echo from-srv > /h/index.html && httpd -f -p 80 -h /h']);
  await dok(['run', '-d', '--name', 'cli', '--network', 'dnsnet', 'busybox', 'sleep', '600']);
  const srvIp = (await dok(['inspect', '-f', '{{.NetworkSettings.Networks.dnsnet.IPAddress}}', 'srv'])).trim();
  // Only names on the network are asked for: nothing goes to the host's resolvers.
  await waitFor(async () => (await d.docker(['exec', 'cli', 'wget', '-qO-', 'http://srv/'])).stdout === 'from-srv\n');
  assert.equal(await dok(['exec', 'cli', 'wget', '-qO-', 'http://api/']), 'from-srv\n');
  assert.match(await dok(['exec', 'cli', 'nslookup', 'srv']), new RegExp(`Address: ${srvIp.replace(/\./g, '\\.')}`));
  // A container's hostname is one of its names too (moby 28's DNSNames: name, aliases, short ID, hostname).
  const named = (await dok(['run', '-d', '--name', 'hosted', '--hostname', 'myhost', '--network', 'dnsnet', '--network-alias', 'al', 'busybox', 'sleep', '600'])).trim();
  assert.equal(await dok(['inspect', '-f', '{{json .NetworkSettings.Networks.dnsnet.DNSNames}}', 'hosted']), `["hosted","al","${named.slice(0, 12)}","myhost"]\n`);
  assert.equal(await dok(['exec', 'cli', 'sh', '-c', 'ping -c1 -W2 myhost >/dev/null && echo by-hostname']), 'by-hostname\n');
  await dok(['rm', '-f', 'hosted']);
  // A running container on the default bridge joins dnsnet: a second interface, its names resolve.
  await dok(['run', '-d', '--name', 'lone', 'busybox', 'sleep', '600']);
  await dok(['network', 'connect', '--alias', 'extra', 'dnsnet', 'lone']);
  const links = await dok(['exec', 'lone', 'ls', '/sys/class/net']);
  assert.deepEqual(links.split('\n').filter(Boolean).sort(), ['eth0', 'eth1', 'lo']);
  assert.equal(await dok(['exec', 'lone', 'wget', '-qO-', 'http://api/']), 'from-srv\n');
  assert.equal(await dok(['exec', 'cli', 'sh', '-c', 'ping -c1 -W2 lone >/dev/null && ping -c1 -W2 extra >/dev/null && echo both']), 'both\n');
  const nets = JSON.parse(await dok(['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'lone'])) as Record<string, { Aliases: string[] | null; IPAddress: string }>;
  assert.deepEqual(Object.keys(nets), ['bridge', 'dnsnet']);
  assert.deepEqual(nets.dnsnet.Aliases, ['extra']);
  const twice = await d.docker(['network', 'connect', 'dnsnet', 'lone']);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /endpoint with name lone already exists in network dnsnet/);
  const toHost = await d.docker(['network', 'connect', 'host', 'lone']);
  assert.match(toHost.stderr, /container cannot be disconnected from host network or connected to host network/);
  // Disconnected: the interface and the address are gone, the network no longer lists it.
  await dok(['network', 'disconnect', 'dnsnet', 'lone']);
  assert.deepEqual((await dok(['exec', 'lone', 'ls', '/sys/class/net'])).split('\n').filter(Boolean).sort(), ['eth0', 'lo']);
  const inspect = JSON.parse(await dok(['network', 'inspect', 'dnsnet'])) as { Containers: Record<string, { Name: string }> }[];
  assert.deepEqual(Object.values(inspect[0].Containers).map((c) => c.Name).sort(), ['cli', 'srv']);
  const notOn = await d.docker(['network', 'disconnect', 'dnsnet', 'lone']);
  assert.equal(notOn.code, 1);
  assert.match(notOn.stderr, /is not connected to network dnsnet/);
  assert.equal(vethsOn(d.bridge).length, 1, 'lone\'s own veth on the default bridge only');
  // A stopped container: connected now, joined at its next start (docker-py this time).
  await dok(['create', '--name', 'later', 'busybox', 'sleep', '600']);
  const py = spawnSync('python3', ['-c', `
import docker
c = docker.DockerClient(base_url='${d.host}')
c.networks.get('dnsnet').connect('later', aliases=['late'])
c.containers.get('later').start()
c.containers.get('later').reload()
print(sorted(c.containers.get('later').attrs['NetworkSettings']['Networks']))
`], { encoding: 'utf8' });
  assert.equal(py.stdout.trim(), "['bridge', 'dnsnet']", py.stderr);
  assert.equal(await dok(['exec', 'cli', 'sh', '-c', 'ping -c1 -W2 late >/dev/null && echo late-ok']), 'late-ok\n');
  await dok(['stop', '-t', '0', 'later']);
  await dok(['network', 'disconnect', 'bridge', 'later']);
  await dok(['start', 'later']);
  assert.deepEqual((await dok(['exec', 'later', 'ls', '/sys/class/net'])).split('\n').filter(Boolean).sort(), ['eth0', 'lo']);
  assert.match(await dok(['exec', 'later', 'ip', '-4', '-o', 'addr', 'show', 'eth0']), new RegExp(srvIp.split('.').slice(0, 3).join('\\.')));
});

test('docker-compose 1.29: a project with a user network, service DNS, an alias and a published port; scale; down leaves nothing', async () => {
  const dir = mkdtempSync('/tmp/bt-compose-');
  const port = portBase + 10;
  const file = join(dir, 'docker-compose.yml');
  writeFileSync(file, `version: "3.7"
services:
  web:
    image: busybox
    command: sh -c 'mkdir -p /h && hostname > /h/index.html && httpd -f -p 80 -h /h'
    networks:
      appnet:
        aliases: [frontend]
    ports:
      - "127.0.0.1:${port}:80"
  worker:
    image: busybox
    command: sleep 600
    networks: [appnet]
networks:
  appnet: {}
`);
  const compose = async (args: string[]) => {
    const r = await d.compose(['-f', file, '-p', 'btdemo', ...args], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `docker-compose ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    await compose(['up', '-d']);
    const webId = (await ok(['ps', '-q', '--filter', 'label=com.docker.compose.service=web'])).trim();
    await waitFor(async () => (await httpGet(`http://127.0.0.1:${port}/`).catch(() => '')) === `${webId}\n`);
    assert.match(await compose(['ps']), new RegExp(`btdemo_web_1 .* Up .*127\\.0\\.0\\.1:${port}->80/tcp`));
    // Service names and aliases resolve on the project's network.
    assert.equal(await compose(['exec', '-T', 'worker', 'wget', '-qO-', 'http://web/']), `${webId}\n`);
    assert.equal(await compose(['exec', '-T', 'worker', 'wget', '-qO-', 'http://frontend/']), `${webId}\n`);
    await compose(['up', '-d', '--scale', 'worker=3']);
    assert.equal((await ok(['ps', '-q', '--filter', 'label=com.docker.compose.service=worker'])).trim().split('\n').length, 3);
    const lookup = await compose(['exec', '-T', 'web', 'nslookup', 'worker']);
    assert.equal((lookup.match(/^Address: \d+\.\d+\.\d+\.\d+$/gm) ?? []).length, 3, `three workers behind one name:\n${lookup}`);
    await compose(['down', '-t', '1']);
    assert.equal((await ok(['ps', '-aq'])).trim(), '');
    assert.equal((await ok(['network', 'ls', '-q', '--filter', 'type=custom'])).trim(), '');
    assert.deepEqual(portRules(), []);
    assert.ok(!listening(port));
  } finally {
    await d.compose(['-f', file, '-p', 'btdemo', 'down', '-t', '0']);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('legacy --link on the default bridge: hosts entry, environment, inspect, rm --link; links on a user network are DNS aliases', async () => {
  await dok(['run', '-d', '--name', 'db', '-e', 'SECRET=s3', '--expose', '5432', 'busybox', 'sleep', '600']);
  const dbIp = (await dok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'db'])).trim();
  const dbId = (await dok(['inspect', '-f', '{{.Id}}', 'db'])).trim();
  const out = await dok(['run', '--name', 'app', '--link', 'db:database', 'busybox', 'sh', '-c', 'grep database /etc/hosts; env | grep ^DATABASE | sort; ping -c1 -W2 database >/dev/null && echo reached']);
  assert.equal(out, [
    `${dbIp}\tdatabase ${dbId.slice(0, 12)} db`,
    'DATABASE_ENV_SECRET=s3',
    'DATABASE_NAME=/app/database',
    `DATABASE_PORT=tcp://${dbIp}:5432`,
    `DATABASE_PORT_5432_TCP=tcp://${dbIp}:5432`,
    `DATABASE_PORT_5432_TCP_ADDR=${dbIp}`,
    'DATABASE_PORT_5432_TCP_PORT=5432',
    'DATABASE_PORT_5432_TCP_PROTO=tcp',
    'reached', ''].join('\n'));
  assert.deepEqual(JSON.parse(await dok(['inspect', '-f', '{{json .HostConfig.Links}}', 'app'])), ['/db:/app/database']);
  assert.equal(await dok(['rm', '--link', '/app/database']), '/app/database\n');
  assert.equal((await dok(['inspect', '-f', '{{json .HostConfig.Links}}', 'app'])).trim(), 'null');
  const missing = await d.docker(['run', '--rm', '--link', 'nosuch:x', 'busybox', 'true']);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /could not get container for nosuch/);
  await dok(['stop', '-t', '0', 'db']);
  const stopped = await d.berth(['run', '--name', 'late', '--link', 'db', 'busybox', 'true']);
  assert.equal(stopped.code, 125);
  assert.match(stopped.stderr, /Cannot link to a non running container: \/db AS \/late\/db/);
  // On a user-defined network a link is an alias only the linking container resolves.
  await dok(['network', 'create', 'linknet']);
  await dok(['run', '-d', '--name', 'store', '--network', 'linknet', 'busybox', 'sleep', '600']);
  assert.equal(await dok(['run', '--rm', '--network', 'linknet', '--link', 'store:cache', 'busybox', 'sh', '-c', 'ping -c1 -W2 cache >/dev/null && echo alias-ok']), 'alias-ok\n');
});

test('generated /etc/hosts, /etc/hostname and /etc/resolv.conf: --hostname, --add-host, --dns*, --mac-address; kept out of diff', async () => {
  const out = await dok(['run', '--name', 'etc', '--hostname', 'box', '--domainname', 'example.test', '--add-host', 'db.local:10.1.2.3',
    '--dns', '10.9.9.9', '--dns-search', 'corp.test', '--dns-option', 'ndots:2', '--mac-address', '02:42:ac:11:00:99',
    'busybox', 'sh', '-c', 'cat /etc/hostname; grep -v ip6 /etc/hosts | grep -v localhost; cat /etc/resolv.conf; cat /sys/class/net/eth0/address; echo x >> /etc/hosts']);
  const ip = (await dok(['inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAMConfig}}|{{.HostConfig.ExtraHosts}}', 'etc'])).trim();
  assert.equal(ip, '<nil>|[db.local:10.1.2.3]');
  const lines = out.split('\n');
  assert.equal(lines[0], 'box');
  assert.equal(lines[1], '10.1.2.3\tdb.local');
  assert.match(lines[2], new RegExp(`^${base.replace(/\./g, '\\.')}\\d+\\.\\d+\\tbox\\.example\\.test box$`));
  assert.ok(lines.includes('nameserver 10.9.9.9'), out);
  assert.ok(lines.includes('search corp.test'), out);
  assert.ok(lines.includes('options ndots:2'), out);
  assert.equal(lines.filter((l) => l.startsWith('nameserver')).length, 1);
  assert.ok(lines.includes('02:42:ac:11:00:99'), out);
  assert.equal(await dok(['diff', 'etc']), '', 'the generated files are not changes of the container');
  // Nor of an image committed from it: its new layer holds none of them.
  await dok(['commit', 'etc', 'etc-committed:1']);
  const layerDiff = (await ok(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'etc-committed:1']));
  const top = (JSON.parse(layerDiff) as string[]).pop()!;
  const saved = spawnSync('sh', ['-c', `"$NODE" "$BERTH" save etc-committed:1 | tar -xO blobs/sha256/${top.slice(7)} | tar -t`], { env: { ...process.env, NODE: process.execPath, BERTH: join(process.cwd(), 'dist', 'berth.js'), BERTH_HOST: d.host }, encoding: 'utf8' });
  assert.equal(saved.status, 0, saved.stderr);
  assert.doesNotMatch(saved.stdout, /etc\/(hosts|hostname|resolv\.conf)/, saved.stdout);
  await ok(['rmi', 'etc-committed:1']);
  const bad = await d.docker(['run', '--rm', '--mac-address', 'nope', 'busybox', 'true']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /nope is not a valid mac address/);
});

test('the embedded DNS server forwards other names to the container\'s --dns servers and still answers container names (docker CLI)', async () => {
  await ok(['network', 'create', 'fwdnet']);
  // An upstream nameserver of the test's own, on the default bridge's gateway address (no
  // embedded server there): it knows one name.
  const upstream = d.bip.split('/')[0];
  const asked: string[] = [];
  const server = createSocket('udp4');
  server.on('message', (m, r) => {
    // The question starts at byte 12; answer with one A record pointing back at it.
    let off = 12;
    const labels: string[] = [];
    while (m[off]) {
      labels.push(m.toString('latin1', off + 1, off + 1 + m[off]));
      off += 1 + m[off];
    }
    const name = labels.join('.');
    asked.push(name);
    const head = Buffer.from(m.subarray(0, off + 5));
    const known = name === 'far.example.test' && m.readUInt16BE(off + 1) === 1;
    head.writeUInt16BE(0x8180 | (known ? 0 : 3), 2);
    head.writeUInt16BE(known ? 1 : 0, 6);
    const rr = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 77, 0, 9]);
    server.send(known ? Buffer.concat([head, rr]) : head, r.port, r.address);
  });
  await new Promise<void>((r) => server.bind(53, upstream, r));
  let open = true;
  const close = () => {
    if (open) server.close();
    open = false;
  };
  after(close);
  await ok(['run', '-d', '--name', 'peer', '--network', 'fwdnet', 'busybox', 'sleep', '300']);
  const peer = (await ok(['inspect', '-f', '{{.NetworkSettings.Networks.fwdnet.IPAddress}}', 'peer'])).trim();
  const gateway = (await ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'fwdnet'])).trim();
  let out = '';
  await waitFor(async () => {
    out = await dok(['run', '--rm', '--network', 'fwdnet', '--dns', upstream, 'busybox', 'sh', '-c',
      'grep nameserver /etc/resolv.conf; nslookup far.example.test 2>&1 | grep -A1 "^Name:" | grep Address; nslookup peer 2>&1 | grep -A1 "^Name:" | grep Address']);
    return out.includes('10.77.0.9');
  }, 15_000).catch(() => {});
  const lines = out.trim().split('\n');
  assert.equal(lines[0], `nameserver ${gateway}`, 'the network\'s own server stays the nameserver with --dns');
  assert.match(lines[1] ?? '', /10\.77\.0\.9$/, `forwarded to the --dns server: ${out}`);
  assert.match(lines[2] ?? '', new RegExp(`${peer.replace(/\./g, '\\.')}$`), `container names still resolve: ${out}`);
  assert.ok(asked.includes('far.example.test'), 'the query reached the --dns server');
  assert.ok(!asked.some((n) => n.startsWith('peer')), 'container names are answered by the network, never forwarded');
  close();
});

test('dockerode (testcontainers\' way): GET /networks/bridge gives the gateway; a container with PortBindings serves on its port', async () => {
  const docker = new Docker({ socketPath: d.sock });
  const bridge = await docker.getNetwork('bridge').inspect() as { Name: string; IPAM: { Config: { Subnet: string; Gateway: string }[] } };
  assert.equal(bridge.Name, 'bridge');
  assert.equal(bridge.IPAM.Config[0].Gateway, d.bip.split('/')[0]);
  const port = portBase + 12;
  const c = await docker.createContainer({
    Image: 'busybox', Cmd: ['sh', '-c', 'mkdir /h && echo dockerode > /h/index.html && httpd -f -p 8080 -h /h'],
    ExposedPorts: { '8080/tcp': {} }, HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] } },
  });
  await c.start();
  const info = await c.inspect();
  assert.deepEqual(info.NetworkSettings.Ports, { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
  const listed = (await docker.listContainers()).find((x) => x.Id === c.id);
  assert.deepEqual(listed?.Ports, [{ IP: '127.0.0.1', PrivatePort: 8080, PublicPort: port, Type: 'tcp' }]);
  await waitFor(async () => (await httpGet(`http://127.0.0.1:${port}/`).catch(() => '')) === 'dockerode\n');
  await c.remove({ force: true });
  assert.ok(!listening(port));
});

test('iptables: false leaves the firewall alone; published ports are relayed by berthd instead', async () => {
  d.writeConfig({ iptables: false });
  await d.stopDaemon();
  await d.startDaemon();
  try {
    const port = portBase + 14;
    await ok(['run', '-d', '--name', 'relay', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c', 'mkdir /h && echo relayed > /h/index.html && httpd -f -p 80 -h /h']);
    await waitFor(async () => (await httpGet(`http://127.0.0.1:${port}/`).catch(() => '')) === 'relayed\n');
    assert.deepEqual(portRules(), [], 'no DNAT rules: the userland proxy serves');
    await ok(['rm', '-f', 'relay']);
    assert.ok(!listening(port));
  } finally {
    d.writeConfig({});
    await d.stopDaemon();
    await d.startDaemon();
  }
});

test('with no bip, the default bridge takes the first pool subnet that no host route overlaps (docker0 may be there)', async () => {
  // A host interface (a bare bridge: no dummy module here) holding the first /24 of the pool, as docker0 would.
  const dummy = `bt-dm${process.pid % 100000}`;
  // A corner of this file's /20 that none of its tests use: its last four /24s.
  const [a, b, c] = d.netRange.split('.');
  const first = `${a}.${b}.${Number(c) + 12}`;
  assert.equal(spawnSync('ip', ['link', 'add', dummy, 'type', 'bridge']).status, 0);
  let other: TestDaemon | undefined;
  try {
    spawnSync('ip', ['addr', 'add', `${first}.1/24`, 'dev', dummy]);
    spawnSync('ip', ['link', 'set', dummy, 'up']);
    other = await TestDaemon.start({ config: { bip: undefined, 'default-address-pools': [{ base: `${first}.0/22`, size: 24 }] } });
    const subnet = (await other.ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', 'bridge'])).trim();
    assert.notEqual(subnet, `${first}.0/24`, 'not the subnet a host route covers');
    assert.equal(subnet, `${a}.${b}.${Number(c) + 13}.0/24`, 'the next one');
  } finally {
    await other?.cleanup();
    spawnSync('ip', ['link', 'del', dummy]);
  }
});

test('--link-local-ip adds link-local addresses to the container\'s interface, at run and at connect; inspect shows them (docker CLI and berth)', async () => {
  const net = `llnet${Date.now() % 100000}`;
  try {
    // IPv4 with a /16 and IPv6 with a /64, beside the network's own address.
    const addrs = await dok(['run', '--rm', '--link-local-ip', '169.254.7.7', '--link-local-ip', 'fe80::77', 'busybox', 'ip', 'addr', 'show', 'eth0']);
    assert.match(addrs, /inet 169\.254\.7\.7\/16 /);
    assert.match(addrs, /inet6 fe80::77\/64 /);
    assert.match(addrs, /inet 10\.\d+\.\d+\.\d+\/24 /);
    await ok(['network', 'create', net]);
    await ok(['run', '-d', '--name', 'llc', '--network', net, '--link-local-ip', '169.254.8.8', 'busybox', 'sleep', '60']);
    assert.equal(await ok(['inspect', '-f', `{{json (index .NetworkSettings.Networks "${net}").IPAMConfig}}`, 'llc']), '{"LinkLocalIPs":["169.254.8.8"]}\n');
    await dok(['network', 'connect', '--link-local-ip', '169.254.9.9', 'bridge', 'llc']);
    const inside = await ok(['exec', 'llc', 'ip', '-4', 'addr']);
    assert.match(inside, /inet 169\.254\.8\.8\/16 scope global eth0/);
    assert.match(inside, /inet 169\.254\.9\.9\/16 scope global eth1/);
    // A restart makes the sandbox again, with the addresses.
    await ok(['restart', '-t', '0', 'llc']);
    assert.match(await ok(['exec', 'llc', 'ip', '-4', 'addr']), /169\.254\.9\.9\/16/);
    const bad = await d.docker(['run', '--rm', '--link-local-ip', '0.0.0.0', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid link-local IP address: 0\.0\.0\.0/);
  } finally {
    await d.berth(['rm', '-f', 'llc']);
    await d.berth(['network', 'rm', net]);
  }
});

test('berthd --bridge none: no default bridge (its link and firewall rules go); containers left on it have loopback only; ports refused; user networks work (docker CLI)', async () => {
  const nd = await TestDaemon.start();
  try {
    await nd.importBusybox();
    await nd.ok(['create', '--name', 'before', 'busybox', 'ip', '-o', 'addr']);
    assert.equal(spawnSync('ip', ['link', 'show', nd.bridge]).status, 0);
    await nd.stopDaemon();
    nd.writeConfig({ bridge: 'none', bip: undefined });
    await nd.startDaemon();
    // The default bridge's network, link and rules are gone.
    assert.notEqual(spawnSync('ip', ['link', 'show', nd.bridge], { stdio: 'ignore' }).status, 0);
    assert.ok(!spawnSync('iptables', ['-S'], { encoding: 'utf8' }).stdout.includes(`berth:${nd.bridge}`));
    assert.deepEqual((await nd.dockerOk(['network', 'ls', '--format', '{{.Name}}'])).split('\n').filter(Boolean).sort(), ['host', 'none']);
    // A container made on the bridge, and a new one: their own namespace, loopback only.
    await nd.ok(['start', 'before']);
    assert.equal(await nd.ok(['wait', 'before']), '0\n');
    const before = await nd.ok(['logs', 'before']);
    assert.match(before, /: lo /);
    assert.doesNotMatch(before, /eth0/);
    const now = await nd.dockerOk(['run', '--rm', 'busybox', 'ip', '-o', 'link']);
    assert.deepEqual(now.split('\n').filter(Boolean).map((l) => l.split(':')[1].trim()), ['lo']);
    assert.notEqual(now, (await nd.dockerOk(['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link'])), 'not the host\'s namespace');
    const ports = await nd.docker(['run', '--rm', '-p', '8080:80', 'busybox', 'true']);
    assert.equal(ports.code, 125);
    assert.match(ports.stderr, /the default bridge is disabled \(berthd --bridge none\): ports cannot be published without --network/);
    assert.match((await nd.docker(['network', 'create', 'bridge'])).stderr, /bridge is a pre-defined network and cannot be created/);
    // User-defined networks have their own bridges.
    await nd.dockerOk(['network', 'create', 'mine']);
    assert.match(await nd.dockerOk(['run', '--rm', '--network', 'mine', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']), /inet 10\.\d+\.\d+\.\d+\/24/);
    assert.match((await nd.docker(['network', 'connect', 'bridge', 'before'])).stderr, /network bridge not found/);
    await nd.dockerOk(['network', 'rm', 'mine']);
    // -b none with --bip: dockerd's refusal.
    await nd.stopDaemon();
    nd.writeConfig({ bridge: 'none' });
    const both = spawnSync(process.execPath, [join(ROOT, 'dist', 'berthd.js'), '--config-file', join(nd.root, 'daemon.json'), '--data-root', nd.dataRoot, '--exec-root', nd.execRoot, '-H', nd.host], { encoding: 'utf8', timeout: 20_000 });
    assert.notEqual(both.status, 0);
    assert.match(both.stderr, /You specified -b & --bip, mutually exclusive options\. Please specify only one/);
  } finally {
    await nd.cleanup();
  }
});

test('several networks: --network repeated (docker\'s advanced syntax too); the default route goes by gw-priority, then network name, as docker 28; connect and disconnect move it (berth and the docker CLI)', async () => {
  const names = ['gwa', 'gwb', 'gwc'];
  try {
    const gw: Record<string, string> = {};
    for (const n of names) {
      await ok(['network', 'create', n]);
      gw[n] = (await ok(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', n])).trim();
    }
    const route = async (c: string) => (await ok(['exec', c, 'ip', 'route', 'show', 'default'])).trim();
    // Equal priorities: the first network by name, whatever the order given.
    await ok(['run', '-d', '--name', 'gw1', '--network', 'gwb', '--network', 'gwa', 'busybox', 'sleep', '60']);
    assert.match(await route('gw1'), new RegExp(`^default via ${gw.gwa.replace(/\./g, '\\.')} `));
    assert.equal(await ok(['inspect', '-f', '{{.HostConfig.NetworkMode}} {{len .NetworkSettings.Networks}}', 'gw1']), 'gwb 2\n');
    // A higher gw-priority wins (the docker CLI's advanced syntax).
    await dok(['run', '-d', '--name', 'gw2', '--network', 'name=gwa,alias=first', '--network', 'name=gwb,gw-priority=10', 'busybox', 'sleep', '60']);
    assert.match(await route('gw2'), new RegExp(`^default via ${gw.gwb.replace(/\./g, '\\.')} `));
    assert.equal(await ok(['inspect', '-f', '{{(index .NetworkSettings.Networks "gwb").GwPriority}} {{(index .NetworkSettings.Networks "gwa").Aliases}}', 'gw2']), '10 [first]\n');
    // Connecting with a higher priority takes the route; disconnecting gives it back.
    await dok(['network', 'connect', '--gw-priority', '20', 'gwc', 'gw1']);
    assert.match(await route('gw1'), new RegExp(`^default via ${gw.gwc.replace(/\./g, '\\.')} `));
    await ok(['network', 'disconnect', 'gwc', 'gw1']);
    assert.match(await route('gw1'), new RegExp(`^default via ${gw.gwa.replace(/\./g, '\\.')} `));
    // A lower priority joins without taking it.
    await ok(['network', 'connect', 'gwc', 'gw2']);
    assert.match(await route('gw2'), new RegExp(`^default via ${gw.gwb.replace(/\./g, '\\.')} `));
    // docker/cli's refusals.
    const both = await d.berth(['run', '--rm', '--network', 'gwa', '--network', 'bridge', 'busybox', 'true']);
    assert.equal(both.code, 125);
    assert.match(both.stderr, /conflicting options: cannot attach both user-defined and non-user-defined network-modes/);
    assert.match((await d.berth(['run', '--rm', '--network', 'gwa', '--network', 'gwa', 'busybox', 'true'])).stderr, /network "gwa" is specified multiple times/);
    assert.match((await d.berth(['run', '--rm', '--network', 'name=gwa,ip=10.9.9.9', '--ip', '10.9.9.8', 'busybox', 'true'])).stderr, /conflicting options: cannot specify both --ip and per-network IPv4 address/);
  } finally {
    await d.berth(['rm', '-f', 'gw1', 'gw2']);
    for (const n of names) await d.berth(['network', 'rm', n]);
  }
});

test('endpoint driver options: the interface\'s name (endpoint.ifname) and its sysctls (endpoint.sysctls, IFNAME), at run and at connect; others refused by name (docker CLI)', async () => {
  try {
    await ok(['network', 'create', 'epn']);
    const out = await dok(['run', '--rm', '--network', 'name=epn,driver-opt=com.docker.network.endpoint.ifname=web0,driver-opt=com.docker.network.endpoint.sysctls=net.ipv4.conf.IFNAME.log_martians=1',
      'busybox', 'sh', '-c', 'ip -o link | cut -d: -f2 | cut -d@ -f1 | tr -d " "; cat /proc/sys/net/ipv4/conf/web0/log_martians']);
    assert.equal(out, 'lo\nweb0\n1\n');
    await ok(['run', '-d', '--name', 'epc', '--network', 'epn', 'busybox', 'sleep', '60']);
    await dok(['network', 'connect', '--driver-opt', 'com.docker.network.endpoint.ifname=back1', 'bridge', 'epc']);
    assert.equal(await ok(['exec', 'epc', 'sh', '-c', 'ip -o link | cut -d: -f2 | cut -d@ -f1 | tr -d " "']), 'lo\neth0\nback1\n');
    assert.equal(await ok(['inspect', '-f', '{{json .NetworkSettings.Networks.bridge.DriverOpts}}', 'epc']), '{"com.docker.network.endpoint.ifname":"back1"}\n');
    // The name is the container's again after a restart.
    await ok(['restart', '-t', '0', 'epc']);
    assert.match(await ok(['exec', 'epc', 'ip', '-o', 'link']), /back1@/);
    const sysctl = await d.docker(['run', '--rm', '--network', 'name=epn,driver-opt=com.docker.network.endpoint.sysctls=net.ipv4.conf.eth0.log_martians=1', 'busybox', 'true']);
    assert.equal(sysctl.code, 125);
    assert.match(sysctl.stderr, /unrecognised network interface sysctl 'net\.ipv4\.conf\.eth0\.log_martians=1'; represent 'net\.X\.Y\.ethN\.Z=V' as 'net\.X\.Y\.IFNAME\.Z=V'/);
    const other = await d.docker(['network', 'connect', '--driver-opt', 'foo=bar', 'epn', 'epc']);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /endpoint driver option foo is not supported by Berth/);
  } finally {
    await d.berth(['rm', '-f', 'epc']);
    await d.berth(['network', 'rm', 'epn']);
  }
});

test('macvlan networks through the docker CLI: containers on a parent link reach each other at their own addresses and by name (also after a berthd restart); no parent makes a closed dummy segment (removed with the network); bad options and an ipvlan the kernel lacks refused by name', async () => {
  // The parent is a link this test makes (an empty bridge: no traffic leaves it); never the host's NIC.
  const parent = `bt${process.pid % 100000}mv`;
  const [a, b, c] = d.netRange.split('.');
  const subnet = `${a}.${b}.${Number(c) + 6}.0/24`;
  const net = (h: number) => `${a}.${b}.${Number(c) + 6}.${h}`;
  spawnSync('ip', ['link', 'add', parent, 'type', 'bridge']);
  spawnSync('ip', ['link', 'set', parent, 'up']);
  try {
    await dok(['network', 'create', '-d', 'macvlan', '--subnet', subnet, '-o', `parent=${parent}`, 'mv']);
    assert.equal((await dok(['network', 'inspect', '-f', '{{.Driver}} {{json .Options}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}', 'mv'])).trim(), `macvlan {"parent":"${parent}"} ${subnet} ${net(1)}`);
    assert.match(await dok(['network', 'ls', '--filter', 'driver=macvlan']), /\smv\s+macvlan\s+local\n/);
    await dok(['run', '-d', '--name', 'mv-a', '--network', 'mv', '--ip', net(10), 'busybox', 'sleep', '600']);
    // a static address, its own MAC on the parent, the network's gateway as default route; the other container answers
    const seen = await dok(['run', '--rm', '--network', 'mv', 'busybox', 'sh', '-c', `ip -o -4 addr show eth0 | grep -o "inet [^ ]*"; ip route | grep default; ping -c 1 -W 3 ${net(10)} | grep -c "bytes from"`]);
    assert.match(seen, new RegExp(`^inet ${net(2).replace(/\./g, '\\.')}/24\ndefault via ${net(1).replace(/\./g, '\\.')} dev eth0 \n1\n$`));
    assert.equal((await dok(['inspect', '-f', '{{.NetworkSettings.Networks.mv.IPAddress}} {{.NetworkSettings.Networks.mv.Gateway}}', 'mv-a'])).trim(), `${net(10)} ${net(1)}`);
    // names resolve as on docker's user networks (127.0.0.11, relayed by the container's monitor): name and alias
    const names = await dok(['run', '--rm', '--network', 'mv', '--network-alias', 'other', 'busybox', 'sh', '-c', 'grep nameserver /etc/resolv.conf; nslookup mv-a | grep -A1 "^Name"; nslookup other | grep -c "^Name"; nslookup nosuch >/dev/null 2>&1 || echo nxdomain']);
    assert.equal(names, `nameserver 127.0.0.11\nName:\tmv-a\nAddress: ${net(10)}\n1\nnxdomain\n`);
    assert.match(spawnSync('ip', ['-d', 'link', 'show', 'dev', parent], { encoding: 'utf8' }).stdout, /bridge/, 'the parent is left as it was');
    // ports are not published on macvlan (the container has its own address): said at create
    const p = await d.docker(['create', '-p', '8080:80', '--network', 'mv', 'busybox']);
    assert.match(p.stderr, /WARNING: Published ports are discarded when using a macvlan network/);
    await dok(['rm', p.stdout.trim()]);
    // connect a running container (a second interface on the parent), then disconnect it
    await dok(['run', '-d', '--name', 'mv-b', 'busybox', 'sleep', '600']);
    await dok(['network', 'connect', '--ip', net(11), 'mv', 'mv-b']);
    assert.equal(await dok(['exec', 'mv-b', 'sh', '-c', `ip -o -4 addr show | grep -c "inet ${net(11)}/24"; ping -c 1 -W 3 ${net(10)} | grep -c "bytes from"`]), '1\n1\n');
    assert.match(await dok(['exec', 'mv-b', 'nslookup', 'mv-a']), new RegExp(`Address: ${net(10).replace(/\./g, '\\.')}`), 'a connected container resolves the network\'s names');
    // a berthd killed and started again takes the running containers' relays back
    await d.stopDaemon('SIGKILL');
    await d.startDaemon();
    assert.match(await dok(['exec', 'mv-a', 'nslookup', 'mv-b']), new RegExp(`Address: ${net(11).replace(/\./g, '\\.')}`), 'resolved after a berthd restart');
    await dok(['network', 'disconnect', 'mv', 'mv-b']);
    assert.equal(await dok(['exec', 'mv-b', 'sh', '-c', 'ip -o link | grep -c " eth1"; true']), '0\n', 'its link is gone');
    await dok(['rm', '-f', 'mv-b']);
    const busy = await d.docker(['network', 'rm', 'mv']);
    assert.match(busy.stderr, /has active endpoints/);
    await dok(['rm', '-f', 'mv-a']);
    await dok(['network', 'rm', 'mv']);
    // no parent: a dummy link dm-<id> of berthd's own (an empty bridge where the kernel has no dummy links), no default route, gone with the network
    const id = (await dok(['network', 'create', '-d', 'macvlan', '--subnet', subnet, 'mvd'])).trim();
    const dummy = `dm-${id.slice(0, 12)}`;
    assert.equal(spawnSync('ip', ['link', 'show', 'dev', dummy]).status, 0, 'the dummy parent exists');
    assert.equal(await dok(['run', '--rm', '--network', 'mvd', 'busybox', 'sh', '-c', 'ip route | grep -c default; true']), '0\n');
    await dok(['network', 'rm', 'mvd']);
    assert.notEqual(spawnSync('ip', ['link', 'show', 'dev', dummy], { stdio: 'ignore' }).status, 0, 'the dummy parent is gone');
    // refused by name
    for (const [args, msg] of [
      [['-o', 'parent=nosuch0'], /-o parent interface was not found on the host: nosuch0/],
      [['-o', `parent=${parent}`, '-o', 'macvlan_mode=weird'], /requested macvlan mode 'weird' is not valid, 'bridge' mode is the macvlan driver default/],
      [['-o', 'mtu=1400'], /the macvlan driver has no option "mtu"/],
      [['-o', 'parent=lo'], /loopback interface is not a valid macvlan parent link/],
    ] as const) {
      const r = await d.docker(['network', 'create', '-d', 'macvlan', ...args, 'mvbad']);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, msg);
    }
    const ipvlan = await d.docker(['network', 'create', '-d', 'ipvlan', '-o', `parent=${parent}`, '--subnet', subnet, 'iv']);
    if (ipvlan.code === 0) {
      // a kernel with ipvlan: the same reachability
      await dok(['run', '-d', '--name', 'iv-a', '--network', 'iv', '--ip', net(20), 'busybox', 'sleep', '600']);
      assert.equal(await dok(['run', '--rm', '--network', 'iv', 'busybox', 'sh', '-c', `ping -c 1 -W 3 ${net(20)} | grep -c "bytes from"`]), '1\n');
      await dok(['rm', '-f', 'iv-a']);
      await dok(['network', 'rm', 'iv']);
    } else {
      assert.match(ipvlan.stderr, /this kernel has no ipvlan support \(CONFIG_IPVLAN\)/);
    }
    assert.equal((await dok(['network', 'ls', '-q', '--filter', 'driver=macvlan'])).trim(), '', 'nothing left of the failed creates');
  } finally {
    spawnSync('ip', ['link', 'del', parent], { stdio: 'ignore' });
  }
});

test('as docker 28 (docker CLI): host-gateway in --add-host, network ls name patterns, the lowest free address (a restarted container keeps its own), --ip only on a subnet of the user\'s, no ports published on internal networks or with --network none', async () => {
  // host-gateway: the default bridge's gateway
  const gw = (await dok(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', 'bridge'])).trim();
  assert.equal(await dok(['run', '--rm', '--add-host', 'host.docker.internal:host-gateway', 'busybox', 'grep', 'host.docker.internal', '/etc/hosts']), `${gw}\thost.docker.internal\n`);
  // name filters are regular expressions (the usual "does it exist" check)
  await dok(['network', 'create', 'pat1']);
  await dok(['network', 'create', 'pat12']);
  assert.equal(await dok(['network', 'ls', '-q', '--filter', 'name=^pat1$', '--format', '{{.Name}}']), 'pat1\n');
  assert.equal(await dok(['network', 'ls', '--filter', 'name=pat1', '--format', '{{.Name}}']), 'pat1\npat12\n');
  // a subnet berthd picked takes no --ip (moby: only a user's)
  const ip = await d.docker(['run', '--rm', '--network', 'pat1', '--ip', '172.31.254.9', 'busybox', 'true']);
  assert.notEqual(ip.code, 0);
  assert.match(ip.stderr, /user specified IP address is supported only when connecting to networks with user configured subnets/);
  // the lowest free address: a restarted container keeps its own, a new one takes a freed one
  await dok(['run', '-d', '--name', 'low1', '--network', 'pat1', 'busybox', 'sleep', '600']);
  const first = (await dok(['inspect', '-f', '{{.NetworkSettings.Networks.pat1.IPAddress}}', 'low1'])).trim();
  await dok(['restart', '-t', '0', 'low1']);
  assert.equal((await dok(['inspect', '-f', '{{.NetworkSettings.Networks.pat1.IPAddress}}', 'low1'])).trim(), first);
  // ports: none published on an internal network, nor with --network none (said at create)
  await dok(['network', 'create', '--internal', 'patint']);
  const internal = await d.docker(['run', '-d', '--name', 'intp', '--network', 'patint', '-p', '127.0.0.1::80', 'busybox', 'sleep', '600']);
  assert.equal(internal.code, 0, internal.stderr);
  assert.match(internal.stderr, /WARNING: Published ports are discarded on the internal network patint/);
  assert.equal(await dok(['port', 'intp']), '');
  const none = await d.docker(['run', '--rm', '--network', 'none', '-p', '127.0.0.1::80', 'busybox', 'true']);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stderr, /WARNING: Published ports are discarded when using the none network mode/);
  // disconnect --force of a name that is no container looks for an endpoint of that name
  assert.match((await d.docker(['network', 'disconnect', '-f', 'pat1', 'nosuchc'])).stderr, /endpoint nosuchc not found/);
  // the docker CLI's (empty) IPAM options are kept as sent
  const [a, b, c] = d.netRange.split('.');
  await dok(['network', 'create', '--subnet', `${a}.${b}.${Number(c) + 9}.0/24`, 'patsub']);
  assert.equal((await dok(['network', 'inspect', '-f', '{{json .IPAM.Options}}', 'patsub'])).trim(), '{}');
  // a network removed while in use: moby's words, its endpoints named
  const busy = await d.docker(['network', 'rm', 'pat1']);
  assert.match(busy.stderr, /error while removing network: network pat1 has active endpoints \(name:"low1" id:"[0-9a-f]{12}"\)/);
});
