/**
 * bench:runtime's dashboard page: a worker thread that does what the browser page does with
 * the frames (parses each, acknowledges it). Told a dashboard's URL, it connects; told
 * "done", it answers with the frames it got (once it has one, or after 5 s) and disconnects.
 */
import { parentPort } from "node:worker_threads";
import WebSocket from "ws";

let ws: WebSocket | null = null;
let frames = 0;

parentPort!.on("message", (msg: { url: string } | "done") => {
  if (msg !== "done") {
    frames = 0;
    const socket = new WebSocket(msg.url.replace("http", "ws") + "ws");
    socket.on("message", (m) => {
      const f = JSON.parse(String(m)) as { seq: number };
      frames++;
      socket.send(JSON.stringify({ ack: f.seq }));
    });
    socket.on("error", () => undefined);
    ws = socket;
    return;
  }
  const t0 = Date.now();
  const answer = () => {
    if (frames === 0 && Date.now() - t0 < 5000) return void setTimeout(answer, 10);
    parentPort!.postMessage(frames);
    ws?.close();
    ws = null;
  };
  answer();
});
