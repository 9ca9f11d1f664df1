/**
 * Block I/O limits (--blkio-weight, --blkio-weight-device, --device-read/write-bps/iops): what
 * the host's cgroups support, docker's checks and warnings, and the OCI form with the
 * devices' numbers.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { HostConfig } from '../../api/types.ts';
import { invalidParameter } from '../../errdefs/index.ts';
import type { OciResources } from '../../runtime/spec.ts';

export interface BlkioSupport {
  weight: boolean;
  weightDevice: boolean;
  throttle: boolean;
}

let support: BlkioSupport | undefined;

/** What the block I/O controller offers here (looked up once): weights need BFQ/CFQ, which many hosts lack. */
export function blkioSupport(cgroupVersion: 1 | 2): BlkioSupport {
  support ??= probeBlkio(cgroupVersion);
  return support;
}

function probeBlkio(cgroupVersion: 1 | 2): BlkioSupport {
  if (cgroupVersion === 1) {
    const b = '/sys/fs/cgroup/blkio';
    const weight = existsSync(`${b}/blkio.weight`) || existsSync(`${b}/blkio.bfq.weight`);
    return { weight, weightDevice: existsSync(`${b}/blkio.weight_device`) || existsSync(`${b}/blkio.bfq.weight_device`), throttle: existsSync(`${b}/blkio.throttle.read_bps_device`) };
  }
  let controllers = '';
  try {
    controllers = readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8');
  } catch {
    controllers = '';
  }
  const io = /\bio\b/.test(controllers);
  return { weight: io && existsSync('/sys/fs/cgroup/io.bfq.weight'), weightDevice: io && existsSync('/sys/fs/cgroup/io.bfq.weight'), throttle: io };
}

type Blkio = Pick<HostConfig, 'BlkioWeight' | 'BlkioWeightDevice' | 'BlkioDeviceReadBps' | 'BlkioDeviceWriteBps' | 'BlkioDeviceReadIOps' | 'BlkioDeviceWriteIOps'>;

/** moby's verifyContainerResources for block I/O: bad values refused, unsupported ones dropped with its warnings. */
export function checkBlkio(h: Blkio, support: BlkioSupport, warnings: string[]): Blkio {
  const out = { ...h };
  // moby discards a weight the kernel cannot apply before it checks its range
  if (out.BlkioWeight && !support.weight) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    out.BlkioWeight = 0;
  }
  if (out.BlkioWeight && (out.BlkioWeight < 10 || out.BlkioWeight > 1000)) throw invalidParameter('Range of blkio weight is from 10 to 1000');
  for (const w of out.BlkioWeightDevice ?? []) {
    if (w.Weight < 10 || w.Weight > 1000) throw invalidParameter(`invalid weight for device: ${w.Path}: must be from 10 to 1000`);
    deviceNumbers(w.Path);
  }
  if (out.BlkioWeightDevice?.length && !support.weightDevice) {
    warnings.push('Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.');
    out.BlkioWeightDevice = null;
  }
  const throttles = [
    ['BlkioDeviceReadBps', 'BPS Block I/O read limit', 'Block I/O BPS read limit'],
    ['BlkioDeviceWriteBps', 'BPS Block I/O write limit', 'Block I/O BPS write limit'],
    ['BlkioDeviceReadIOps', 'IOPS Block read limit', 'Block I/O IOPS read limit'],
    ['BlkioDeviceWriteIOps', 'IOPS Block write limit', 'Block I/O IOPS write limit'],
  ] as const;
  for (const [k, what, dropped] of throttles) {
    const list = out[k];
    for (const t of list ?? []) deviceNumbers(t.Path);
    if (list?.length && !support.throttle) {
      warnings.push(`Your kernel does not support ${what} or the cgroup is not mounted. ${dropped} discarded.`);
      out[k] = null;
    }
  }
  return out;
}

/** A block device's major and minor numbers; docker's error when the path is not one. */
export function deviceNumbers(path: string): { major: number; minor: number } {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw invalidParameter(`invalid device path ${path}: no such block device`);
  }
  if (!st.isBlockDevice()) throw invalidParameter(`invalid device path ${path}: not a block device`);
  // glibc's major()/minor() of a 64-bit dev_t.
  const dev = BigInt(st.rdev);
  return { major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)), minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)) };
}

type OciBlockIO = NonNullable<OciResources['blockIO']>;

export function ociBlockIO(h: Blkio): OciBlockIO | undefined {
  const b: OciBlockIO = {};
  if (h.BlkioWeight) b.weight = h.BlkioWeight;
  if (h.BlkioWeightDevice?.length) b.weightDevice = h.BlkioWeightDevice.map((w) => ({ ...deviceNumbers(w.Path), weight: w.Weight }));
  const rate = (list: { Path: string; Rate: number }[] | null) => list?.length ? list.map((t) => ({ ...deviceNumbers(t.Path), rate: t.Rate })) : undefined;
  const rb = rate(h.BlkioDeviceReadBps);
  const wb = rate(h.BlkioDeviceWriteBps);
  const ri = rate(h.BlkioDeviceReadIOps);
  const wi = rate(h.BlkioDeviceWriteIOps);
  if (rb) b.throttleReadBpsDevice = rb;
  if (wb) b.throttleWriteBpsDevice = wb;
  if (ri) b.throttleReadIOPSDevice = ri;
  if (wi) b.throttleWriteIOPSDevice = wi;
  return Object.keys(b).length ? b : undefined;
}
