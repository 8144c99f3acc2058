/**
 * The dashboard's copy of a run, bounded whatever the run's length: per chain a thinned
 * copy of the kept quantities (one grid for all chains, the stride doubling when full), the
 * sampling divergences (decimated when too many), the latest `acfWindow` sampling draws for
 * autocorrelation, E-BFMI sums over every sampling draw, the online diagnostics over time
 * and the event log. Fed batch by batch (a run's `batches$`, or a finished posterior); each
 * page gets frames of what changed since the frame it acknowledged (`frame(cursor)`).
 *
 * Work per batch: the kept points only (count / stride), plus one pass over its energies
 * and a native scan of its divergence flags. Nothing here waits or acknowledges anything.
 */
import type { ChainProgress, OnlineDiagnostics, RunEvent } from "../../../actors/events.js";
import { autocovariance } from "../../diagnostics/autocovariance.js";
import { DrawSet, essBulkDS, essTailDS, rhatDS } from "../../diagnostics/convergence.js";
import { EBFMI_THRESHOLD, ESS_PER_CHAIN, RHAT_THRESHOLD } from "../../diagnostics/diagnose.js";
import type { DashboardMeta, DiagnosticsPoint, DivergentPoints, Frame, LoggedEvent, Num, PageFinding, SummaryLine, TraceAppend } from "./protocol.js";
import type { ParamDiagnostics } from "../../../actors/events.js";

/** What the collector reads of a batch (a `DrawBatch` is one). */
export interface BatchLike {
  /** Every quantity of the model, in the order of `quantity(k)`. */
  readonly names: readonly string[];
  readonly chain: number;
  /** Iteration of the first draw (warmup and sampling counted together). */
  readonly start: number;
  readonly count: number;
  readonly phase: "warmup" | "sampling";
  readonly placeholder: boolean;
  /** Model quantity k's draws in this batch (`count` long). */
  quantity(k: number): ArrayLike<number>;
  readonly lp: ArrayLike<number>;
  readonly energy: ArrayLike<number>;
  readonly divergent: Uint8Array;
}

export interface CollectorOptions {
  /**
   * Every quantity the model reports (the batches' order); when not given, taken from the
   * first batch (a run's names are known once its model is loaded).
   */
  readonly names?: readonly string[];
  readonly chains: number;
  /** Quantities to keep for drawing (default: the first `maxQuantities`). */
  readonly quantities?: readonly string[];
  readonly maxQuantities?: number;
  /** Points per chain in the thinned copy (1000). */
  readonly capacity?: number;
  /** Latest sampling draws per chain for the autocorrelation (1000), and lags shown (100). */
  readonly acfWindow?: number;
  readonly acfLags?: number;
  /** Divergent draws kept per chain (2000; decimated beyond). */
  readonly maxDivergent?: number;
  /** Check points kept (4000; every other older one dropped beyond). */
  readonly maxDiagnostics?: number;
  /** Events kept (the latest 500). */
  readonly maxEvents?: number;
  /** Iteration of the grid's first point (0; a report without warmup draws starts at numWarmup). */
  readonly origin?: number;
  /**
   * Seconds between the dashboard's own check points over its kept copy (2), made while the
   * run's own are older than that (without early stop the run tables only what 1% of its time
   * allows); 0: none (reports).
   */
  readonly pageCheckSeconds?: number;
  readonly title: string;
  readonly earlyStop: DashboardMeta["earlyStop"];
  readonly theme: "dark" | "light";
  readonly kind: "live" | "report";
}

/** What a page has: the state of the frame it acknowledged. */
export interface Cursor {
  seq: number;
  metaVersion: number;
  stride: number;
  lens: number[];
  divEpoch: number;
  divLens: number[];
  diagEpoch: number;
  diagLen: number;
  paramsVersion: number;
  acfVersion: number;
  eventSeq: number;
  dropped: number;
}

export function freshCursor(): Cursor {
  return { seq: 0, metaVersion: -1, stride: 0, lens: [], divEpoch: -1, divLens: [], diagEpoch: -1, diagLen: 0, paramsVersion: -1, acfVersion: -1, eventSeq: -1, dropped: 0 };
}

class ChainCopy {
  len = 0;
  readonly values: Float64Array[];
  readonly lp: Float64Array;
  readonly energy: Float64Array;
  readonly energyDiff: Float64Array;
  /** Energy of the last iteration seen (for the next batch's first difference). */
  lastEnergy = NaN;
  nextIteration: number;
  // E-BFMI sums over sampling draws, shifted by the first energy for accuracy.
  shift = NaN;
  n = 0;
  sum = 0;
  sumSq = 0;
  sumDiffSq = 0;
  // The latest sampling draws, a ring per kept quantity.
  readonly ring: Float64Array[];
  ringPos = 0;
  ringCount = 0;
  divIterations: number[] = [];
  divValues: number[][];

  constructor(q: number, capacity: number, window: number, origin: number) {
    this.values = Array.from({ length: q }, () => new Float64Array(capacity));
    this.lp = new Float64Array(capacity);
    this.energy = new Float64Array(capacity);
    this.energyDiff = new Float64Array(capacity);
    this.ring = Array.from({ length: q }, () => new Float64Array(window));
    this.divValues = Array.from({ length: q }, () => []);
    this.nextIteration = origin;
  }

  /** Keeps every other point (the grid's stride doubles). */
  halve(): void {
    const n = Math.ceil(this.len / 2);
    for (const a of [...this.values, this.lp, this.energy, this.energyDiff]) for (let j = 0; j < n; j++) a[j] = a[2 * j]!;
    this.len = n;
  }
}

const num = (x: number): Num => (Number.isFinite(x) ? x : null);
const nums = (a: ArrayLike<number>, from: number, to: number): Num[] => {
  const out: Num[] = new Array(to - from);
  for (let i = from; i < to; i++) out[i - from] = num(a[i]!);
  return out;
};

export class DashboardCollector {
  meta: DashboardMeta;
  private metaVersion = 0;
  /** Model index of each kept quantity (empty until the names are known). */
  private keep: number[] = [];
  private readonly options: CollectorOptions;
  private readonly capacity: number;
  private readonly window: number;
  private readonly lags: number;
  private readonly maxDivergent: number;
  private readonly maxDiagnostics: number;
  private readonly maxEvents: number;
  private readonly origin: number;
  private chains: ChainCopy[] = [];
  private stride = 1;
  private divEpoch = 0;
  private diagEpoch = 0;
  private readonly diagnosticsLog: DiagnosticsPoint[] = [];
  private latestParams: readonly ParamDiagnostics[] | null = null;
  private params: ParamDiagnostics[] | null = null;
  private paramsVersion = 0;
  private acf: Num[][][] | null = null;
  private acfVersion = 0;
  private acfDirty = false;
  private acfAt = -Infinity;
  private readonly events: LoggedEvent[] = [];
  private eventSeq = 0;
  private readonly progress: (ChainProgress | null)[];
  private status: Frame["status"] = "running";
  private readonly t0 = performance.now();
  private endSeconds: number | null = null;
  private paramsAt: Frame["paramsAt"] = null;
  /** When the latest check point (the run's or the page's) came, and the common length it covered. */
  private checkAt = -Infinity;
  private checkedDraws = 0;
  private readonly pageCheckSeconds: number;
  private findingsFinal: PageFinding[] | null = null;
  /** Bumped by every input: a page that has seen this version needs no frame. */
  version = 0;
  summary: SummaryLine[] | undefined = undefined;

  constructor(options: CollectorOptions) {
    this.options = options;
    this.capacity = Math.max(16, options.capacity ?? 1000) & ~1;
    this.window = options.acfWindow ?? 1000;
    this.lags = options.acfLags ?? 100;
    this.maxDivergent = options.maxDivergent ?? 2000;
    this.maxDiagnostics = options.maxDiagnostics ?? 4000;
    this.maxEvents = options.maxEvents ?? 500;
    this.origin = options.origin ?? 0;
    this.pageCheckSeconds = options.pageCheckSeconds ?? (options.kind === "live" ? 2 : 0);
    this.progress = new Array<ChainProgress | null>(options.chains).fill(null);
    this.meta = this.makeMeta([], 0);
    if (options.names !== undefined) this.setNames(options.names);
  }

  private makeMeta(names: readonly string[], total: number): DashboardMeta {
    const o = this.options;
    return { title: o.title, names, totalQuantities: total, chains: o.chains, earlyStop: o.earlyStop, capacity: this.capacity, origin: this.origin, acfWindow: this.window, theme: o.theme, kind: o.kind };
  }

  private setNames(all: readonly string[]): void {
    const index = new Map(all.map((n, k) => [n, k]));
    const chosen = this.options.quantities ?? all.slice(0, this.options.maxQuantities ?? 32);
    this.keep = chosen.map((n) => {
      const k = index.get(n);
      if (k === undefined) throw new Error(`dashboard: unknown quantity "${n}" (the model has ${all.slice(0, 10).join(", ")}${all.length > 10 ? ", ..." : ""})`);
      return k;
    });
    this.chains = Array.from({ length: this.options.chains }, () => new ChainCopy(this.keep.length, this.capacity, this.window, this.origin));
    this.meta = this.makeMeta(chosen, all.length);
    this.metaVersion++;
    if (this.latestParams !== null) this.tableParams(this.latestParams);
  }

  get namesKnown(): boolean {
    return this.metaVersion > 0;
  }

  // ---- input --------------------------------------------------------------------------

  batch(b: BatchLike): void {
    if (!this.namesKnown) this.setNames(b.names);
    this.version++;
    const c = this.chains[b.chain];
    if (c === undefined || b.count === 0) return;
    const cols = this.keep.map((k) => b.quantity(k));
    this.thin(c, b, cols);
    if (b.phase === "sampling" && !b.placeholder) {
      this.energySums(c, b);
      this.recent(c, b, cols);
      this.divergences(c, b, cols);
    }
    const last = b.energy[b.count - 1]!;
    c.lastEnergy = last;
    c.nextIteration = b.start + b.count;
  }

  /** Puts the batch's draws that fall on the grid into the chain's copy (halving every copy when one is full). */
  private thin(c: ChainCopy, b: BatchLike, cols: ArrayLike<number>[]): void {
    const energy = b.energy;
    const onGrid = (i: number) => i + ((this.stride - ((b.start + i - this.origin) % this.stride)) % this.stride);
    for (let i = onGrid(Math.max(0, this.origin - b.start)); i < b.count; ) {
      const j = (b.start + i - this.origin) / this.stride;
      if (j >= this.capacity) {
        this.halveAll();
        i = onGrid(i);
        continue;
      }
      if (j >= c.len) {
        // A gap (never expected: batches of a chain are contiguous) stays empty.
        while (c.len < j) this.blank(c, c.len++);
        for (let q = 0; q < cols.length; q++) c.values[q]![j] = cols[q]![i]!;
        c.lp[j] = b.lp[i]!;
        c.energy[j] = energy[i]!;
        const prev = i > 0 ? energy[i - 1]! : b.start === c.nextIteration ? c.lastEnergy : NaN;
        c.energyDiff[j] = energy[i]! - prev;
        c.len = j + 1;
      }
      i += this.stride;
    }
  }

  private blank(c: ChainCopy, j: number): void {
    for (const v of c.values) v[j] = NaN;
    c.lp[j] = c.energy[j] = c.energyDiff[j] = NaN;
  }

  private halveAll(): void {
    for (const c of this.chains) c.halve();
    this.stride *= 2;
  }

  private energySums(c: ChainCopy, b: BatchLike): void {
    const e = b.energy;
    if (Number.isNaN(c.shift)) c.shift = e[0]!;
    const s = c.shift;
    let prev = c.n > 0 && b.start === c.nextIteration ? c.lastEnergy : NaN;
    let sum = 0;
    let sumSq = 0;
    let diffSq = 0;
    for (let i = 0; i < b.count; i++) {
      const x = e[i]!;
      const d = x - s;
      sum += d;
      sumSq += d * d;
      if (prev === prev) diffSq += (x - prev) * (x - prev);
      prev = x;
    }
    c.n += b.count;
    c.sum += sum;
    c.sumSq += sumSq;
    c.sumDiffSq += diffSq;
  }

  private recent(c: ChainCopy, b: BatchLike, cols: ArrayLike<number>[]): void {
    const w = this.window;
    const from = Math.max(0, b.count - w);
    for (let q = 0; q < cols.length; q++) {
      const ring = c.ring[q]!;
      const col = cols[q]!;
      let p = c.ringPos;
      for (let i = from; i < b.count; i++) {
        ring[p] = col[i]!;
        p = p + 1 === w ? 0 : p + 1;
      }
    }
    c.ringPos = (c.ringPos + (b.count - from)) % w;
    c.ringCount = Math.min(w, c.ringCount + b.count - from);
    this.acfDirty = true;
  }

  private divergences(c: ChainCopy, b: BatchLike, cols: ArrayLike<number>[]): void {
    const flags = b.divergent;
    for (let i = flags.indexOf(1); i >= 0; i = flags.indexOf(1, i + 1)) {
      c.divIterations.push(b.start + i);
      for (let q = 0; q < cols.length; q++) c.divValues[q]!.push(cols[q]![i]!);
    }
    if (c.divIterations.length > this.maxDivergent) {
      const every = (a: number[]) => a.filter((_, i) => i % 2 === 0);
      c.divIterations = every(c.divIterations);
      c.divValues = c.divValues.map(every);
      this.divEpoch++;
    }
  }

  /** A run event, at `t` seconds (default: now, since the collector started; null: unknown). */
  event(e: RunEvent, t: number | null = (performance.now() - this.t0) / 1000): void {
    this.version++;
    this.events.push({ seq: this.eventSeq++, t, event: e });
    if (this.events.length > this.maxEvents) this.events.splice(0, this.events.length - this.maxEvents);
    if (e.type === "run-completed") {
      this.status = e.status;
      this.endSeconds = e.seconds;
    } else if (e.type === "paused" && this.status === "running") this.status = "paused";
    else if (e.type === "resumed" && this.status === "paused") this.status = "running";
  }

  chainProgress(p: ChainProgress): void {
    this.version++;
    if (p.chain >= 0 && p.chain < this.progress.length) this.progress[p.chain] = p;
  }

  /** A check point of the run (over every draw). */
  diagnostics(d: OnlineDiagnostics): void {
    this.addPoint({ draws: d.draws, source: "run", stride: 1, maxRhat: num(d.maxRhat), minEssBulk: num(d.minEssBulk), minEssTail: num(d.minEssTail), converged: d.converged }, d.params);
  }

  private addPoint(point: DiagnosticsPoint, params: readonly ParamDiagnostics[]): void {
    // Points stay in draw order: a run's table computed late for an older point is not drawn back in time.
    const last = this.diagnosticsLog[this.diagnosticsLog.length - 1];
    if (last !== undefined && point.draws < last.draws) return;
    this.checkAt = performance.now() / 1000;
    this.diagnosticsLog.push(point);
    this.paramsAt = { draws: point.draws, source: point.source, stride: point.stride };
    if (this.diagnosticsLog.length > this.maxDiagnostics) {
      const kept = this.diagnosticsLog.filter((_, i) => i % 2 === 0 || i === this.diagnosticsLog.length - 1);
      this.diagnosticsLog.length = 0;
      this.diagnosticsLog.push(...kept);
      this.diagEpoch++;
    }
    this.tableParams(params);
    this.version++;
  }

  /**
   * The dashboard's own check point over its kept copy, when the latest one is older than
   * `pageCheckSeconds` and the chains' common sampling length has grown: R-hat and bulk/tail
   * ESS of each kept quantity over the sampling points every healthy chain has (the same
   * length for all). Its cost is bounded by the copy's size, whatever the run's length.
   */
  private refreshChecks(): void {
    if (this.pageCheckSeconds <= 0 || !this.running || this.options.earlyStop !== null) return;
    const now = performance.now() / 1000;
    if (now - this.checkAt < this.pageCheckSeconds) return;
    const numWarmup = this.progress.find((p) => p !== null)?.numWarmup;
    if (numWarmup === undefined) return;
    const chains = this.chains.map((c, i) => ({ c, i })).filter(({ i }) => this.progress[i] !== null && this.progress[i]!.status !== "failed");
    if (chains.length < 2) return;
    const first = Math.max(0, Math.ceil((numWarmup - this.origin) / this.stride));
    const n = Math.min(...chains.map(({ c }) => c.len - first));
    if (n < 20) return;
    // In draws, not grid points: the grid's stride doubles as the run grows.
    const draws = this.origin + (first + n - 1) * this.stride - numWarmup + 1;
    if (draws <= this.checkedDraws) return;
    this.checkedDraws = draws;
    const params: ParamDiagnostics[] = this.meta.names.map((name, q) => {
      const ds = new DrawSet(chains.map(({ c }) => c.values[q]!.subarray(first, first + n)));
      return { name, rhat: rhatDS(ds), essBulk: essBulkDS(ds), essTail: essTailDS(ds) };
    });
    const extreme = (xs: number[], f: (...v: number[]) => number) => {
      const ok = xs.filter((x) => Number.isFinite(x));
      return ok.length > 0 ? f(...ok) : NaN;
    };
    this.addPoint(
      {
        draws,
        source: "page",
        stride: this.stride,
        maxRhat: num(extreme(params.map((p) => p.rhat), Math.max)),
        minEssBulk: num(extreme(params.map((p) => p.essBulk), Math.min)),
        minEssTail: num(extreme(params.map((p) => p.essTail), Math.min)),
        converged: false,
      },
      params,
    );
  }

  /**
   * The finished run: its summary table and `diagnose`'s findings (shown instead of the live
   * checks), and, from the table, a last check point over every draw at `draws` per chain, so
   * that no figure stays at an earlier point.
   */
  final(summary: SummaryLine[], findings: PageFinding[], draws: number | null = null): void {
    this.summary = summary;
    this.findingsFinal = findings;
    const last = this.diagnosticsLog[this.diagnosticsLog.length - 1];
    if (draws !== null && draws > 0 && (last === undefined || last.draws < draws)) {
      const byName = new Map(summary.map((r) => [r.name, r]));
      const params: ParamDiagnostics[] = this.meta.names.map((name) => {
        const r = byName.get(name);
        return { name, rhat: r?.rhat ?? NaN, essBulk: r?.essBulk ?? NaN, essTail: r?.essTail ?? NaN };
      });
      const pick = (xs: number[], f: (...v: number[]) => number) => {
        const ok = xs.filter((x) => Number.isFinite(x));
        return ok.length > 0 ? f(...ok) : NaN;
      };
      this.addPoint(
        {
          draws,
          source: "run",
          stride: 1,
          maxRhat: num(pick(params.map((p) => p.rhat), Math.max)),
          minEssBulk: num(pick(params.map((p) => p.essBulk), Math.min)),
          minEssTail: num(pick(params.map((p) => p.essTail), Math.min)),
          converged: false,
        },
        params,
      );
    }
    this.version++;
  }

  /**
   * The live checks, by diagnose's thresholds: divergences so far, E-BFMI so far, and the
   * latest check point's R-hat and ESS (with the draws it was computed at).
   */
  private liveFindings(): PageFinding[] {
    const out: PageFinding[] = [];
    const started = this.progress.filter((p): p is ChainProgress => p !== null);
    if (started.length === 0) return out;
    const div = started.reduce((a, p) => a + p.divergences, 0);
    const sampling = started.reduce((a, p) => a + Math.max(0, p.iteration - p.numWarmup), 0);
    out.push(div > 0 ? { level: "bad", check: "divergences", text: `divergent transitions after warmup so far: ${div}` } : { level: "ok", check: "divergences", text: "no divergent transitions so far" });
    const bf = this.ebfmi();
    const low = bf.map((b, c) => [b, c] as const).filter(([b]) => b !== null && b < EBFMI_THRESHOLD);
    if (sampling > 0 && bf.some((b) => b !== null)) {
      out.push(
        low.length > 0
          ? { level: "warn", check: "ebfmi", text: `E-BFMI below ${EBFMI_THRESHOLD}: ${low.map(([b, c]) => `chain ${c} ${b!.toFixed(2)}`).join(", ")} (poor energy exploration)` }
          : { level: "ok", check: "ebfmi", text: `E-BFMI >= ${EBFMI_THRESHOLD} in every chain so far` },
      );
    }
    const last = this.diagnosticsLog[this.diagnosticsLog.length - 1];
    if (last !== undefined) {
      const at = `at ${last.draws} draws per chain${last.source === "page" ? ` (kept copy, every ${last.stride}th draw)` : ""}`;
      const rhat = this.options.earlyStop?.rhat ?? RHAT_THRESHOLD;
      const ess = this.options.earlyStop?.essBulk ?? ESS_PER_CHAIN * this.options.chains;
      if (last.maxRhat !== null) out.push({ level: last.maxRhat < rhat ? "ok" : "bad", check: "rhat", text: `max R-hat ${last.maxRhat.toFixed(3)} ${at} (target < ${rhat})` });
      if (last.minEssBulk !== null) out.push({ level: last.minEssBulk >= ess ? "ok" : "warn", check: "ess-bulk", text: `min bulk ESS ${last.minEssBulk.toFixed(0)} ${at} (target >= ${ess})` });
    }
    return out;
  }

  private tableParams(all: readonly ParamDiagnostics[]): void {
    this.latestParams = all;
    const byName = new Map(all.map((p) => [p.name, p]));
    this.params = this.meta.names.map((n) => byName.get(n) ?? { name: n, rhat: NaN, essBulk: NaN, essTail: NaN });
    this.paramsVersion++;
  }

  /** A finished run's status and length (reports). */
  finish(status: Frame["status"], seconds: number): void {
    this.version++;
    this.status = status;
    this.endSeconds = seconds;
  }

  // ---- output -------------------------------------------------------------------------

  get running(): boolean {
    return this.status === "running" || this.status === "paused";
  }

  /** Recomputes the autocorrelations when new draws came and `minSeconds` passed since the last time. */
  private refreshAcf(minSeconds: number): void {
    const now = performance.now() / 1000;
    if (!this.acfDirty || now - this.acfAt < minSeconds) return;
    this.acfDirty = false;
    this.acfAt = now;
    const w = this.window;
    this.acf = this.chains.map((c) =>
      c.ring.map((ring) => {
        const n = c.ringCount;
        if (n < 4) return [];
        const ordered = new Float64Array(n);
        for (let i = 0; i < n; i++) ordered[i] = ring[(c.ringPos - n + i + w) % w]!;
        const acov = autocovariance(ordered);
        const lags = Math.min(this.lags, n - 1);
        const out: Num[] = new Array(lags + 1);
        for (let k = 0; k <= lags; k++) out[k] = acov[0]! > 0 ? num(acov[k]! / acov[0]!) : null;
        return out;
      }),
    );
    this.acfVersion++;
  }

  /** E-BFMI per chain over its sampling draws so far. */
  ebfmi(): Num[] {
    return this.chains.map((c) => {
      if (c.n < 3) return null;
      const variance = c.sumSq - (c.sum * c.sum) / c.n;
      return variance > 0 ? num(c.sumDiffSq / variance) : null;
    });
  }

  /**
   * What a page that acknowledged `cursor` lacks; advances `cursor` to the frame's state (the
   * frame is the new state once the page acknowledges it).
   */
  frame(cursor: Cursor, acfEverySeconds = 1.5): Frame {
    this.refreshAcf(this.running ? acfEverySeconds : 0);
    this.refreshChecks();
    const reset = cursor.seq === 0;
    const metaChanged = reset || cursor.metaVersion !== this.metaVersion;
    // A page that has not seen the names yet gets every point.
    const factor = cursor.stride === 0 || metaChanged ? 0 : this.stride / cursor.stride;
    const traces: TraceAppend[] = this.chains.map((c, chain) => {
      const had = reset || factor === 0 ? 0 : Math.ceil((cursor.lens[chain] ?? 0) / factor);
      const from = Math.min(had, c.len);
      return {
        chain,
        from,
        values: c.values.map((v) => nums(v, from, c.len)),
        lp: nums(c.lp, from, c.len),
        energy: nums(c.energy, from, c.len),
        energyDiff: nums(c.energyDiff, from, c.len),
      };
    });
    let divergent: Frame["divergent"] = null;
    const divReset = metaChanged || cursor.divEpoch !== this.divEpoch;
    if (divReset || this.chains.some((c, i) => c.divIterations.length !== (cursor.divLens[i] ?? 0))) {
      divergent = {
        reset: divReset,
        chains: this.chains.map((c, chain): DivergentPoints => {
          const from = divReset ? 0 : (cursor.divLens[chain] ?? 0);
          return { chain, iterations: c.divIterations.slice(from), values: c.divValues.map((v) => nums(v, from, v.length)) };
        }),
      };
    }
    let diagnostics: Frame["diagnostics"] = null;
    const diagReset = reset || cursor.diagEpoch !== this.diagEpoch;
    if (diagReset || cursor.diagLen !== this.diagnosticsLog.length) {
      diagnostics = { reset: diagReset, points: this.diagnosticsLog.slice(diagReset ? 0 : cursor.diagLen) };
    }
    const params = metaChanged || cursor.paramsVersion !== this.paramsVersion ? this.params : null;
    const acf = metaChanged || cursor.acfVersion !== this.acfVersion ? this.acf : null;
    const events = this.events.filter((e) => e.seq > cursor.eventSeq);
    const frame: Frame = {
      seq: cursor.seq + 1,
      reset,
      ...(metaChanged ? { meta: this.meta } : {}),
      stride: this.stride,
      traces,
      divergent,
      acf,
      ebfmi: this.ebfmi(),
      diagnostics,
      params: params === null ? null : params.map((p) => ({ name: p.name, rhat: num(p.rhat) ?? NaN, essBulk: num(p.essBulk) ?? NaN, essTail: num(p.essTail) ?? NaN })),
      paramsAt: this.paramsAt,
      findings: this.findingsFinal ?? this.liveFindings(),
      progress: [...this.progress],
      status: this.status,
      elapsedSeconds: this.endSeconds ?? (performance.now() - this.t0) / 1000,
      events,
      dropped: cursor.dropped,
      ...(this.summary !== undefined ? { summary: this.summary } : {}),
    };
    cursor.seq = frame.seq;
    cursor.metaVersion = this.metaVersion;
    cursor.stride = this.stride;
    cursor.lens = this.chains.map((c) => c.len);
    cursor.divEpoch = this.divEpoch;
    cursor.divLens = this.chains.map((c) => c.divIterations.length);
    cursor.diagEpoch = this.diagEpoch;
    cursor.diagLen = this.diagnosticsLog.length;
    cursor.paramsVersion = this.paramsVersion;
    cursor.acfVersion = this.acfVersion;
    cursor.eventSeq = this.eventSeq - 1;
    return frame;
  }

  /** Points per chain in the thinned copy (tests, and a bound on memory). */
  keptPoints(): number[] {
    return this.chains.map((c) => c.len);
  }

  get currentStride(): number {
    return this.stride;
  }
}
