import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeStats } from './stats.ts';
import { throttleBps, throttleIops, weightDevice } from './opts.ts';
import type { ContainerStats } from '../../../api/types.ts';

test('computeStats: docker\'s CPU %, memory without inactive files, summed network and block I/O', () => {
  const cpu = (total: number, system: number) => ({ cpu_usage: { total_usage: total, usage_in_kernelmode: 0, usage_in_usermode: 0 }, system_cpu_usage: system, online_cpus: 2, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } });
  const s: ContainerStats = {
    read: '', preread: '', num_procs: 0, storage_stats: {}, name: '/web', id: 'abc',
    pids_stats: { current: 3 },
    blkio_stats: { io_service_bytes_recursive: [{ major: 8, minor: 0, op: 'Read', value: 100 }, { major: 8, minor: 0, op: 'Write', value: 50 }, { major: 8, minor: 0, op: 'Total', value: 150 }], io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null },
    cpu_stats: cpu(2_000, 20_000), precpu_stats: cpu(1_000, 10_000),
    memory_stats: { usage: 10_000, limit: 100_000, stats: { total_inactive_file: 2_000 } },
    networks: { eth0: { rx_bytes: 10, rx_packets: 1, rx_errors: 0, rx_dropped: 0, tx_bytes: 20, tx_packets: 1, tx_errors: 0, tx_dropped: 0 }, eth1: { rx_bytes: 5, rx_packets: 1, rx_errors: 0, rx_dropped: 0, tx_bytes: 5, tx_packets: 1, tx_errors: 0, tx_dropped: 0 } },
  };
  const e = computeStats('web', s);
  assert.equal(e.cpuPercent, 20);
  assert.equal(e.memory, 8_000);
  assert.equal(e.memoryPercent, 8);
  assert.deepEqual([e.netRx, e.netTx, e.blockRead, e.blockWrite, e.pids, e.name], [15, 25, 100, 50, 3, 'web']);
});

test('block I/O flags: docker/cli\'s formats and errors', () => {
  assert.deepEqual(weightDevice('/dev/sda:200'), { Path: '/dev/sda', Weight: 200 });
  assert.throws(() => weightDevice('/dev/sda'), /bad format/);
  assert.throws(() => weightDevice('/dev/sda:5'), /invalid weight for device/);
  assert.deepEqual(throttleBps('/dev/sda:1mb'), { Path: '/dev/sda', Rate: 1048576 });
  assert.throws(() => throttleBps('sda:1mb'), /bad format for device path/);
  assert.throws(() => throttleBps('/dev/sda:fast'), /invalid rate for device/);
  assert.deepEqual(throttleIops('/dev/sda:1000'), { Path: '/dev/sda', Rate: 1000 });
  assert.throws(() => throttleIops('/dev/sda:1k'), /invalid rate for device/);
});
