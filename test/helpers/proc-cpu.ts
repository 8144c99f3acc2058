/**
 * CPU seconds from /proc (Linux): user + system time of every thread of a process, of a
 * process's children (PostgreSQL's backends are children of its postmaster), or of this
 * process's main thread alone.
 */
import { readdirSync, readFileSync } from "node:fs";

const TICKS = 100; // USER_HZ: Linux reports times in 1/100 s

/** A `stat` file of /proc: `/proc/PID/stat`, or `/proc/PID/task/TID/stat` for one thread. */
function stat(path: string): { ppid: number; seconds: number } | null {
  try {
    const text = readFileSync(path, "utf8");
    // The command name (field 2) may hold spaces: the fields after it follow the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12])) / TICKS };
  } catch {
    return null;
  }
}

/** CPU seconds of `pid` (0 if it is gone). */
export function cpuSeconds(pid: number): number {
  return stat(`/proc/${pid}/stat`)?.seconds ?? 0;
}

/** CPU seconds of this process's main thread (NaN where /proc cannot be read). */
export function mainThreadCpuSeconds(): number {
  return stat(`/proc/self/task/${process.pid}/stat`)?.seconds ?? NaN;
}

/** CPU seconds of `pid` and its living children. */
export function cpuSecondsWithChildren(pid: number): number {
  let total = cpuSeconds(pid);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(`/proc/${entry}/stat`);
    if (s !== null && s.ppid === pid) total += s.seconds;
  }
  return total;
}
