/**
 * Runs independent steps together and waits for every one of them before failing with the first
 * error: a caller that cleans up after a failure must not race a step still under way (a file
 * written after the directory was removed).
 */
export async function settleAll(steps: (Promise<unknown> | undefined)[]): Promise<void> {
  const results = await Promise.allSettled(steps);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
