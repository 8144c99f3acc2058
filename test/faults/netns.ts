/**
 * Network namespaces for the fault harness: one per process of the cluster (PostgreSQL, each
 * runner, the client), each joined by a veth pair to a bridge in a hub namespace of its own,
 * so that every address (10.213.0.0/24) and every rule lives only in namespaces made here.
 * A partition between two nodes is a pair of iptables DROP rules in one node's namespace
 * (packets vanish, as on a cut cable: TCP notices only through its own timeouts); healing
 * deletes them. `destroy()` deletes every namespace (their veths and rules go with them); a
 * process exit does it too. Needs root, `ip` (iproute2) and `iptables`.
 */
import { execFileSync } from "node:child_process";

export interface Node {
  readonly name: string;
  /** The namespace (`ip netns exec <ns> ...`). */
  readonly ns: string;
  readonly ip: string;
}

export interface Topology {
  readonly nodes: ReadonlyMap<string, Node>;
  node(name: string): Node;
  /** Drops every packet between `a` and `b`, both ways. */
  cut(a: string, b: string): void;
  /** Undoes `cut(a, b)`. */
  heal(a: string, b: string): void;
  /** The namespaces of this topology that exist now (empty after `destroy`). */
  left(): string[];
  destroy(): void;
}

const SUBNET = "10.213.0";

function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Whether namespaces can be made here (root, iproute2 and iptables present). */
export function namespacesAvailable(): string | null {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "not root";
  for (const tool of ["ip", "iptables"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `${tool} is missing (apt-get install iproute2 iptables)`;
    }
  }
  return null;
}

let made = 0;

/** Namespaces for `names` (in this order: addresses .2, .3, ...), all on one bridge. */
export function createTopology(names: readonly string[]): Topology {
  const tag = `${process.pid}-${made++}`;
  const prefix = `bayests-${tag}`;
  const hub = `${prefix}-hub`;
  const nodes = new Map<string, Node>();
  const all = [hub, ...names.map((n) => `${prefix}-${n}`)];
  const destroy = () => {
    for (const ns of all) {
      try {
        ip("netns", "del", ns);
      } catch {
        // not there
      }
    }
  };
  process.once("exit", destroy);
  try {
    ip("netns", "add", hub);
    ip("netns", "exec", hub, "ip", "link", "add", "br0", "type", "bridge");
    ip("netns", "exec", hub, "ip", "link", "set", "br0", "up");
    names.forEach((name, i) => {
      const ns = `${prefix}-${name}`;
      const addr = `${SUBNET}.${i + 2}`;
      ip("netns", "add", ns);
      // Created inside the hub, so no interface ever appears in the host's namespace.
      ip("netns", "exec", hub, "ip", "link", "add", `p${i}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
      ip("netns", "exec", hub, "ip", "link", "set", `p${i}`, "master", "br0");
      ip("netns", "exec", hub, "ip", "link", "set", `p${i}`, "up");
      ip("netns", "exec", ns, "ip", "addr", "add", `${addr}/24`, "dev", "eth0");
      ip("netns", "exec", ns, "ip", "link", "set", "eth0", "up");
      ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
      nodes.set(name, { name, ns, ip: addr });
    });
  } catch (e) {
    destroy();
    process.off("exit", destroy);
    throw e;
  }
  const node = (name: string) => {
    const n = nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name} in this topology`);
    return n;
  };
  const rules = (action: "-A" | "-D", a: string, b: string) => {
    const x = node(a);
    const y = node(b);
    for (const [chain, dir] of [["INPUT", "-s"], ["OUTPUT", "-d"]] as const) {
      execFileSync("ip", ["netns", "exec", x.ns, "iptables", "-w", action, chain, dir, y.ip, "-j", "DROP"], { stdio: "pipe" });
    }
  };
  return {
    nodes,
    node,
    cut: (a, b) => rules("-A", a, b),
    heal: (a, b) => rules("-D", a, b),
    left: () => {
      const list = ip("netns", "list");
      return all.filter((ns) => new RegExp(`^${ns}( |$)`, "m").test(list));
    },
    destroy: () => {
      destroy();
      process.off("exit", destroy);
    },
  };
}
