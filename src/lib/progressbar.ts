/**
 * docker's JSONProgress.String(): the "[====>     ]  1.23MB/4.56MB" of pull, push and load.
 * The daemon renders it for a 200-column terminal into each message's `progress`; the CLI
 * renders it again from `progressDetail` for its own terminal's width, as the docker CLI
 * does (at 110 columns or fewer the bar is left out and only the numbers show).
 */
import { humanSizeWithPrecision } from './units.ts';

export interface ProgressDetail {
  current?: number;
  total?: number;
  units?: string;
  hidecounts?: boolean;
}

const size = (n: number) => humanSizeWithPrecision(n, 4);

export function progressString(p: ProgressDetail, width = 200): string {
  const current = p.current ?? 0;
  const total = p.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return p.units ? `${current} ${p.units}` : size(current).padStart(8);
  const percentage = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  const bar = width > 110 ? `[${'='.repeat(percentage)}>${' '.repeat(Math.max(0, 50 - percentage))}] ` : '';
  let numbers = '';
  if (!p.hidecounts) {
    if (!p.units) numbers = current > total ? size(current).padStart(8) : `${size(current).padStart(8)}/${size(total)}`;
    else numbers = current > total ? `${current} ${p.units}` : `${current}/${total} ${p.units}`;
  }
  return bar + numbers;
}
