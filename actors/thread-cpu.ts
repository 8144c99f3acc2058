/**
 * CPU seconds of the calling thread (Linux). Node 20 has no `process.threadCpuUsage`, and
 * `process.cpuUsage` counts every thread of the process. Read from /proc/thread-self/schedstat
 * (the time the thread ran, in nanoseconds), else /proc/thread-self/stat (user + system, in
 * 1/100 s ticks); NaN where /proc cannot be read.
 *
 * The kernel updates a running thread's time at its scheduler ticks, so a span shorter than a tick
 * may read nothing: sums over many chunks are what to read.
 *
 * The file is opened once per thread and read again in place (one `pread` per call): a chunk
 * reads it twice, and opening, reading and decoding it each time cost about 5% of a worker's
 * time on the smallest models (profile of `simple`, issue 27).
 */
import { closeSync, openSync, readSync } from "node:fs";

const TICKS = 100; // USER_HZ

/** The open file and how to read it. */
interface Source {
  readonly fd: number;
  readonly nanoseconds: boolean;
}

/** Per thread (module state is per thread): undefined until first used, null once unreadable. */
let source: Source | null | undefined;
const buffer = Buffer.alloc(1024);

function open(): Source | null {
  for (const [path, nanoseconds] of [
    ["/proc/thread-self/schedstat", true],
    ["/proc/thread-self/stat", false],
  ] as const) {
    try {
      const fd = openSync(path, "r");
      // File descriptors belong to the process: the thread's goes when the thread does.
      process.once("exit", () => {
        try {
          closeSync(fd);
        } catch {
          // Already closed: nothing to release.
        }
      });
      return { fd, nanoseconds };
    } catch {
      // Try the next, or give up.
    }
  }
  return null;
}

/** CPU seconds the calling thread has run so far (NaN where not measurable). */
export function threadCpuSeconds(): number {
  const s = source === undefined ? (source = open()) : source;
  if (s === null) return NaN;
  try {
    const n = readSync(s.fd, buffer, 0, buffer.length, 0);
    const text = buffer.toString("latin1", 0, n);
    if (s.nanoseconds) return Number(text.slice(0, text.indexOf(" "))) / 1e9;
    // The command name (field 2) may hold spaces: the fields after it follow the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    source = null;
    return NaN;
  }
}
