/**
 * Bytes on the wire, measured at the sockets: every TCP socket this process opens or accepts
 * while a meter is on (`node:diagnostics_channel`'s `net.client.socket` and
 * `net.server.socket`, and the database driver's, which `databaseSocket` announces), its
 * `bytesRead` and `bytesWritten`, split into the database's connections and everything else
 * (the cluster's RPC between clients and runners).
 */
import { channel, subscribe, unsubscribe } from "node:diagnostics_channel";
import { Socket } from "node:net";

/** The database driver makes its sockets itself (`new Socket()`), which Node does not announce: we do. */
const DATABASE_SOCKETS = "bayests.database.socket";
const databaseSockets = channel(DATABASE_SOCKETS);

/** A socket for the database driver (`pg`'s `stream` option), announced to the meters. */
export function databaseSocket(): Socket {
  const socket = new Socket();
  if (databaseSockets.hasSubscribers) databaseSockets.publish({ socket });
  return socket;
}

export interface WireBytes {
  /** To and from PostgreSQL. */
  readonly database: number;
  /** Cluster RPC: requests and replies between clients and runners, pings between runners. */
  readonly cluster: number;
}

export interface ByteMeter {
  read(): WireBytes;
  stop(): WireBytes;
}

function bytesOf(s: Socket): number {
  return (s.bytesRead ?? 0) + (s.bytesWritten ?? 0);
}

/** Starts counting the bytes of sockets opened from now on. */
export function meterSocketBytes(): ByteMeter {
  const open = new Map<Socket, keyof WireBytes>();
  const closed = { database: 0, cluster: 0 };
  const track = (kind: keyof WireBytes) => (message: unknown) => {
    const s = (message as { socket: Socket }).socket;
    if (open.has(s)) return;
    open.set(s, kind);
    s.once("close", () => {
      open.delete(s);
      closed[kind] += bytesOf(s);
    });
  };
  const onDatabase = track("database");
  const onCluster = track("cluster");
  subscribe(DATABASE_SOCKETS, onDatabase);
  subscribe("net.client.socket", onCluster);
  subscribe("net.server.socket", onCluster);
  const read = (): WireBytes => {
    const total = { ...closed };
    for (const [s, kind] of open) total[kind] += bytesOf(s);
    return total;
  };
  let stopped: WireBytes | null = null;
  return {
    read: () => stopped ?? read(),
    stop: () => {
      if (stopped === null) {
        unsubscribe(DATABASE_SOCKETS, onDatabase);
        unsubscribe("net.client.socket", onCluster);
        unsubscribe("net.server.socket", onCluster);
        stopped = read();
      }
      return stopped;
    },
  };
}
