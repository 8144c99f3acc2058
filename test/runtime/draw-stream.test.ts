/**
 * `draws$`'s delivery (src/api/draw-stream.ts): a subscriber of its own gets each batch's
 * draws in one loop; through operators RxJS delivers them one by one. Both must say the same.
 */
import { describe, expect, it } from "vitest";
import { Subject, lastValueFrom, map, take, toArray } from "rxjs";
import { DrawBatch, type Draw } from "../../actors/batch.js";
import type { BatchData } from "../../actors/trace-store.js";
import { DrawStream } from "../../src/api/draw-stream.js";

const names = ["mu", "sigma"];

/** A batch of `count` draws of chain `chain` from `start`: mu = iteration, sigma = -iteration. */
function batch(chain: number, start: number, count: number): DrawBatch {
  const stride = count;
  const values = new Float64Array(2 * stride);
  for (let i = 0; i < count; i++) {
    values[i] = start + i;
    values[stride + i] = -(start + i);
  }
  const stat = () => Float64Array.from({ length: count }, (_, i) => start + i);
  const data: BatchData = {
    chain,
    start,
    count,
    warmup: false,
    placeholder: false,
    values,
    stride,
    offset: 0,
    drawMajor: () => values,
    lp: stat(),
    stepSize: stat(),
    treeDepth: new Int32Array(count),
    nLeapfrog: new Int32Array(count),
    divergent: new Uint8Array(count),
    energy: stat(),
    acceptStat: stat(),
  };
  return new DrawBatch(data, names, () => undefined);
}

function stream(): { batches: Subject<DrawBatch>; draws$: DrawStream; thrown: unknown[] } {
  const batches = new Subject<DrawBatch>();
  const thrown: unknown[] = [];
  return { batches, draws$: new DrawStream(batches, (e) => thrown.push(e)), thrown };
}

const key = (d: Draw) => `${d.chain}:${d.iteration}:${d.values.mu}:${d.values.sigma}:${d.stats.lp}`;

describe("draws$ delivery", () => {
  it("a direct subscriber and a piped one see the same draws, in order, and completion", async () => {
    const { batches, draws$ } = stream();
    const direct: string[] = [];
    let completed = 0;
    draws$.subscribe({ next: (d) => direct.push(key(d)), complete: () => completed++ });
    const piped = lastValueFrom(draws$.pipe(map(key), toArray()));
    batches.next(batch(0, 0, 5));
    batches.next(batch(1, 0, 3));
    batches.next(batch(0, 5, 4));
    batches.complete();
    expect(direct).toEqual(await piped);
    expect(direct.length).toBe(12);
    expect(direct[0]).toBe("0:0:0:0:0");
    expect(direct[11]).toBe("0:8:8:-8:8");
    expect(completed).toBe(1);
  });

  it("calls next as a method of the observer, as RxJS does", () => {
    const { batches, draws$ } = stream();
    const observer = {
      seen: 0,
      next(this: { seen: number }, _d: Draw) {
        this.seen++;
      },
    };
    draws$.subscribe(observer);
    batches.next(batch(0, 0, 7));
    expect(observer.seen).toBe(7);
  });

  it("unsubscribing inside next stops the batch at once", () => {
    const { batches, draws$ } = stream();
    const seen: number[] = [];
    const s = draws$.subscribe((d) => {
      seen.push(d.iteration);
      if (d.iteration === 3) s.unsubscribe();
    });
    batches.next(batch(0, 0, 10));
    batches.next(batch(0, 10, 10));
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(batches.observed).toBe(false);
  });

  it("a subscriber that throws mid-batch is dropped and reported once; the others go on", () => {
    const { batches, draws$, thrown } = stream();
    const seen: number[] = [];
    const others: number[] = [];
    draws$.subscribe((d) => {
      if (d.iteration === 2) throw new Error("broken consumer");
      seen.push(d.iteration);
    });
    draws$.pipe(take(100)).subscribe((d) => others.push(d.iteration));
    batches.next(batch(0, 0, 5));
    batches.next(batch(0, 5, 5));
    expect(seen).toEqual([0, 1]);
    expect(others).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(thrown.map((e) => (e as Error).message)).toEqual(["broken consumer"]);
  });

  it("an error reaches the error callback, or is reported when there is none", () => {
    const { batches, draws$, thrown } = stream();
    const errors: unknown[] = [];
    draws$.subscribe({ next: () => undefined, error: (e) => errors.push(e) });
    draws$.subscribe(() => undefined);
    batches.error(new Error("run failed"));
    expect(errors.map((e) => (e as Error).message)).toEqual(["run failed"]);
    expect(thrown.map((e) => (e as Error).message)).toEqual(["run failed"]);
  });
});
