/** The page's copy of the run, built from the server's frames (see ../dashboard/protocol.ts). */
import type { ChainProgress, ParamDiagnostics } from "../../../actors/events.js";
import type { DashboardMeta, DiagnosticsPoint, Frame, LoggedEvent, Num, PageFinding, SummaryLine } from "../dashboard/protocol.js";

const toNum = (x: Num): number => (x === null ? NaN : x);

export interface ChainTrace {
  /** values[k][j]: kept quantity k at iteration origin + j * stride. */
  values: number[][];
  lp: number[];
  energy: number[];
  energyDiff: number[];
}

export interface DivergentSet {
  iterations: number[];
  values: number[][];
}

export class PageState {
  meta: DashboardMeta | null = null;
  stride = 1;
  traces: ChainTrace[] = [];
  divergent: DivergentSet[] = [];
  acf: Num[][][] | null = null;
  ebfmi: Num[] = [];
  diagnostics: DiagnosticsPoint[] = [];
  params: ParamDiagnostics[] | null = null;
  paramsAt: Frame["paramsAt"] = null;
  findings: readonly PageFinding[] | null = null;
  progress: (ChainProgress | null)[] = [];
  status: Frame["status"] = "running";
  elapsedSeconds = 0;
  events: LoggedEvent[] = [];
  summary: readonly SummaryLine[] | null = null;
  frames = 0;
  dropped = 0;

  apply(f: Frame): void {
    this.frames++;
    if (f.reset) {
      this.events = [];
      this.diagnostics = [];
    }
    if (f.meta !== undefined) {
      this.meta = f.meta;
      this.origin = f.meta.origin;
      this.traces = Array.from({ length: f.meta.chains }, () => ({ values: f.meta!.names.map(() => []), lp: [], energy: [], energyDiff: [] }));
      this.divergent = Array.from({ length: f.meta.chains }, () => ({ iterations: [], values: f.meta!.names.map(() => []) }));
      this.stride = f.stride;
    }
    if (f.stride > this.stride) {
      const factor = f.stride / this.stride;
      const keep = (a: number[]) => a.filter((_, j) => j % factor === 0);
      for (const t of this.traces) {
        t.values = t.values.map(keep);
        t.lp = keep(t.lp);
        t.energy = keep(t.energy);
        t.energyDiff = keep(t.energyDiff);
      }
      this.stride = f.stride;
    }
    for (const a of f.traces) {
      const t = this.traces[a.chain];
      if (t === undefined) continue;
      const put = (dst: number[], src: readonly Num[]) => {
        dst.length = a.from;
        for (const x of src) dst.push(toNum(x));
      };
      a.values.forEach((v, k) => put(t.values[k]!, v));
      put(t.lp, a.lp);
      put(t.energy, a.energy);
      put(t.energyDiff, a.energyDiff);
    }
    if (f.divergent !== null) {
      for (const d of f.divergent.chains) {
        const set = this.divergent[d.chain];
        if (set === undefined) continue;
        if (f.divergent.reset) {
          set.iterations = [];
          set.values = set.values.map(() => []);
        }
        set.iterations.push(...d.iterations);
        d.values.forEach((v, k) => set.values[k]!.push(...v.map(toNum)));
      }
    }
    if (f.acf !== null) this.acf = f.acf.map((c) => c.map((q) => [...q]));
    this.ebfmi = [...f.ebfmi];
    if (f.diagnostics !== null) {
      if (f.diagnostics.reset) this.diagnostics = [];
      this.diagnostics.push(...f.diagnostics.points);
    }
    if (f.params !== null) this.params = [...f.params];
    this.paramsAt = f.paramsAt;
    this.findings = f.findings;
    this.progress = [...f.progress];
    this.status = f.status;
    this.elapsedSeconds = f.elapsedSeconds;
    for (const e of f.events) if (this.events.length === 0 || e.seq > this.events[this.events.length - 1]!.seq) this.events.push(e);
    if (this.events.length > 500) this.events.splice(0, this.events.length - 500);
    if (f.summary !== undefined) this.summary = f.summary;
    this.dropped = f.dropped;
  }

  /** Iteration of grid point j. */
  iteration(j: number): number {
    return (this.origin ?? 0) + j * this.stride;
  }

  /** Iteration of the grid's first point (reports without warmup draws start at numWarmup). */
  origin = 0;

  /** Warmup iterations (from the chains' progress; 0 before any). */
  get numWarmup(): number {
    for (const p of this.progress) if (p !== null) return p.numWarmup;
    return 0;
  }

  /** Draws of kept quantity k per chain in the sampling phase (thinned copy). */
  samplingDraws(k: number): number[][] {
    const w = this.numWarmup;
    return this.traces.map((t) => {
      const out: number[] = [];
      const v = t.values[k]!;
      for (let j = 0; j < v.length; j++) if (this.iteration(j) >= w && Number.isFinite(v[j]!)) out.push(v[j]!);
      return out;
    });
  }

  /** A statistic's sampling-phase values per chain (thinned copy). */
  samplingStat(pick: (t: ChainTrace) => number[]): number[][] {
    const w = this.numWarmup;
    return this.traces.map((t) => {
      const a = pick(t);
      const out: number[] = [];
      for (let j = 0; j < a.length; j++) if (this.iteration(j) >= w && Number.isFinite(a[j]!)) out.push(a[j]!);
      return out;
    });
  }
}
