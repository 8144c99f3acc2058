/**
 * CPU seconds of the calling thread, from /proc/thread-self/stat (Linux; user + system, in
 * 1/100 s ticks). Node 20 has no `process.threadCpuUsage`, and `process.cpuUsage` counts every
 * thread of the process. NaN where /proc cannot be read.
 */
import { readFileSync } from "node:fs";

const TICKS = 100; // USER_HZ

let readable = true;

export function threadCpuSeconds(): number {
  if (!readable) return NaN;
  try {
    const text = readFileSync("/proc/thread-self/stat", "utf8");
    // The command name (field 2) may hold spaces: the fields after it follow the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    readable = false;
    return NaN;
  }
}
