/**
 * `docker update`: new resource limits and restart policy, kept in the record and, for a
 * running container, applied at once through the runtime (moby daemon/update.go).
 */
import { checkCpuset, cpusetAvailable } from './cpuset.ts';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus } from 'node:os';
import type { HostConfig } from '../../api/types.ts';
import { conflict, invalidParameter, system } from '../../errdefs/index.ts';
import { runtimeCommand } from '../../runtime/runtime.ts';
import type { ContainerUpdateInput } from '../server/bodies.ts';
import { blkioSupport, checkBlkio } from './blkio.ts';
import { runtimePath, runtimeRoot, type ContainerDeps } from './deps.ts';
import { containerEvent } from './events.ts';
import { resources } from './spec.ts';
import { checkRestartPolicy, MIN_MEMORY } from './config.ts';

export async function updateContainer(d: ContainerDeps, ref: string, u: ContainerUpdateInput): Promise<{ Warnings: string[] | null }> {
  const c = d.store.get(ref);
  return d.locks.with(c.id, async () => {
    // moby: what its settings check refuses is said as is; what applying them to this
    // container refuses is "Cannot update container ID: …"
    const fail = (msg: string) => invalidParameter(`Cannot update container ${c.id}: ${msg}`);
    const invalid = (msg: string) => invalidParameter(msg);
    const warnings: string[] = [];
    const old = c.rec.HostConfig;
    const h: HostConfig = structuredClone(old);
    if ((u.NanoCpus ?? 0) > 0 && old.CpuPeriod > 0) throw fail('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
    if ((u.NanoCpus ?? 0) > 0 && old.CpuQuota > 0) throw fail('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
    if ((u.CpuPeriod ?? 0) > 0 && old.NanoCpus > 0) throw fail('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
    if ((u.CpuQuota ?? 0) > 0 && old.NanoCpus > 0) throw fail('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
    if (u.Memory) {
      if (u.Memory < MIN_MEMORY) throw invalid('Minimum memory limit allowed is 6MB');
      if (!u.MemorySwap && old.MemorySwap > 0 && u.Memory > old.MemorySwap) {
        throw fail('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
      }
      h.Memory = u.Memory;
    }
    if (u.MemorySwap) {
      if (u.MemorySwap > 0 && u.MemorySwap < h.Memory) throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
      if (u.MemorySwap > 0 && !d.rt.swapAccounting) {
        warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
      } else {
        h.MemorySwap = u.MemorySwap;
      }
    }
    if (u.MemoryReservation) {
      if (h.Memory > 0 && u.MemoryReservation > h.Memory) throw invalid('Minimum memory limit can not be less than memory reservation limit, see usage');
      h.MemoryReservation = u.MemoryReservation;
    }
    if (u.KernelMemory) warnings.push('Specifying a kernel memory limit is deprecated and will be removed in a future release.');
    if (u.NanoCpus) {
      const ncpu = cpus().length;
      if (u.NanoCpus < 0 || u.NanoCpus > ncpu * 1e9) throw invalid(`Range of CPUs is from 0.01 to ${ncpu.toFixed(2)}, as there are only ${ncpu} CPUs available`);
      h.NanoCpus = u.NanoCpus;
    }
    if (u.CpuShares) h.CpuShares = u.CpuShares;
    if (u.CpuPeriod) {
      if (u.CpuPeriod < 1000 || u.CpuPeriod > 1_000_000) throw invalid('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
      h.CpuPeriod = u.CpuPeriod;
    }
    if (u.CpuQuota) {
      if (u.CpuQuota > 0 && u.CpuQuota < 1000) throw invalid('CPU cfs quota can not be less than 1ms (i.e. 1000)');
      h.CpuQuota = u.CpuQuota;
    }
    checkCpuset(u.CpusetCpus ?? '', u.CpusetMems ?? '', cpusetAvailable(d.rt.cgroupVersion));
    if (u.CpusetCpus) h.CpusetCpus = u.CpusetCpus;
    if (u.CpusetMems) h.CpusetMems = u.CpusetMems;
    if (u.PidsLimit !== undefined && u.PidsLimit !== null) h.PidsLimit = u.PidsLimit > 0 ? u.PidsLimit : null;
    if (u.CpuRealtimePeriod || u.CpuRealtimeRuntime) throw fail('real-time CPU scheduling is not supported by Berth');
    // moby copies only the fields above from an update and drops the rest unsaid; Berth names them.
    const fixed: [string, boolean][] = [
      ['BlkioWeightDevice', !!u.BlkioWeightDevice?.length], ['BlkioDeviceReadBps', !!u.BlkioDeviceReadBps?.length],
      ['BlkioDeviceWriteBps', !!u.BlkioDeviceWriteBps?.length], ['BlkioDeviceReadIOps', !!u.BlkioDeviceReadIOps?.length],
      ['BlkioDeviceWriteIOps', !!u.BlkioDeviceWriteIOps?.length], ['Devices', !!u.Devices?.length],
      ['DeviceCgroupRules', !!u.DeviceCgroupRules?.length], ['DeviceRequests', !!u.DeviceRequests?.length],
      ['Ulimits', !!u.Ulimits?.length], ['CgroupParent', !!u.CgroupParent], ['KernelMemoryTCP', !!u.KernelMemoryTCP],
      ['MemorySwappiness', u.MemorySwappiness !== undefined && u.MemorySwappiness !== null && u.MemorySwappiness !== -1],
      ['OomKillDisable', u.OomKillDisable === true], ['CpuCount', !!u.CpuCount], ['CpuPercent', !!u.CpuPercent],
      ['IOMaximumIOps', !!u.IOMaximumIOps], ['IOMaximumBandwidth', !!u.IOMaximumBandwidth],
    ];
    const unchangeable = fixed.filter(([, set]) => set).map(([name]) => name);
    if (unchangeable.length) {
      throw fail(`${unchangeable.join(', ')} cannot be updated: only --blkio-weight, --cpu*, --memory*, --pids-limit and --restart can (as in docker)`);
    }
    if (u.BlkioWeight) {
      const b = checkBlkio({ ...h, BlkioWeight: u.BlkioWeight }, blkioSupport(d.rt.cgroupVersion), warnings);
      h.BlkioWeight = b.BlkioWeight;
    }
    if (u.RestartPolicy?.Name) {
      let policy;
      try {
        policy = checkRestartPolicy(u.RestartPolicy);
      } catch (e) {
        throw invalid((e as Error).message);
      }
      if (old.AutoRemove && policy.Name !== 'no') throw conflict(`Cannot update container ${c.id}: Restart policy cannot be updated because AutoRemove is enabled for the container`);
      h.RestartPolicy = policy;
    }
    if (c.running && c.shimDir) {
      const file = join(c.shimDir, 'update.json');
      await writeFile(file, JSON.stringify(resources({ ...c.rec, HostConfig: h }, d.rt.swapAccounting)));
      try {
        await runtimeCommand(runtimePath(d, c.rec.Runtime), runtimeRoot(d, c.rec.Runtime), ['update', '--resources', file, c.id]);
      } catch (e) {
        // It exited as the update arrived (the runtime has no such container any more): the
        // settings apply to its next start, as on a stopped container.
        const gone = /no such file or directory|does not exist|not found/i.test((e as Error).message) && !processAlive(c.state.Pid);
        if (!gone) throw system(`Cannot update container ${c.id}: ${(e as Error).message}`);
      } finally {
        await rm(file, { force: true });
      }
    }
    c.rec.HostConfig = h;
    await d.store.save(c);
    containerEvent(d, c, 'update');
    // null when there are none (moby does not make an empty list here, unlike create)
    return { Warnings: warnings.length ? warnings : null };
  });
}

function processAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

