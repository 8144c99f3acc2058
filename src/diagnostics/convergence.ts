/**
 * Public convergence diagnostics with posterior 1.4.0 semantics. Each takes
 * chains as chains[c][i] (equal lengths) and returns a number, NaN where
 * posterior returns NA.
 *
 * Internally a DrawSet holds one parameter's draws in shared scratch buffers
 * and caches the sorted draws, so summary() can compute every column from
 * one copy and one sort. A DrawSet is only valid until the next one is made.
 */
import {
  hasNaN,
  meanOf,
  quantileSorted,
  shouldReturnNA,
  splitView,
  toDraws,
  varianceOf,
  viewCoversAll,
  viewHasNaN,
  type SplitView,
} from "./draws.js";
import { essView } from "./ess.js";
import { foldZScaleSorted, sortView, zScaleSorted, type SortedView } from "./rank.js";
import { rhatView } from "./rhat.js";
import { qbeta } from "./beta.js";
import { sharedWorkspace, type Workspace } from "./workspace.js";

export type Chains = ArrayLike<number>[];

export class DrawSet {
  readonly data: Float64Array;
  readonly m: number;
  readonly n: number;
  readonly view: SplitView;
  readonly ws: Workspace;
  private sortedViewCache: SortedView | undefined;
  private sortedAllCache: Float64Array | undefined;
  private nanCache: boolean | undefined;

  constructor(chains: Chains, ws: Workspace = sharedWorkspace) {
    this.ws = ws;
    const d = toDraws(chains, ws.get("draws.data", chainsSize(chains)));
    this.data = d.data;
    this.m = d.m;
    this.n = d.n;
    this.view = splitView(d.m, d.n);
  }

  get total(): number {
    return this.data.length;
  }

  hasNaN(): boolean {
    if (this.nanCache === undefined) this.nanCache = hasNaN(this.data);
    return this.nanCache;
  }

  /** The split draws' argsort (call only without NaN among them). */
  sortedView(): SortedView {
    if (this.sortedViewCache === undefined) {
      this.sortedViewCache = sortView(
        this.data,
        this.view,
        this.ws.get("draws.viewSorted", this.total),
        this.ws.getInt32("draws.viewOrder", this.total),
      );
    }
    return this.sortedViewCache;
  }

  /** All draws ascending (call only without NaN). Shares the split sort when n is even. */
  sortedAll(): Float64Array {
    if (this.sortedAllCache === undefined) {
      if (viewCoversAll(this.view, this.total)) {
        this.sortedAllCache = this.sortedView().sorted;
      } else {
        const all: SplitView = { starts: Int32Array.of(0), count: 1, len: this.total, stride: 1 };
        this.sortedAllCache = sortView(
          this.data,
          all,
          this.ws.get("draws.allSorted", this.total),
          this.ws.getInt32("draws.allOrder", this.total),
        ).sorted;
      }
    }
    return this.sortedAllCache;
  }

  /** A transform buffer of the draws' size, owned by the current computation. */
  work(): Float64Array {
    return this.ws.get("draws.work", this.total).subarray(0, this.total);
  }
}

function chainsSize(chains: Chains): number {
  return chains.length === 0 ? 0 : chains.length * chains[0]!.length;
}

function checkProb(prob: number): void {
  if (!(prob >= 0 && prob <= 1)) throw new RangeError(`prob must be in [0, 1], got ${prob}`);
}

// ---- statistics over all draws ------------------------------------------------

export function meanDS(d: DrawSet): number {
  return meanOf(d.data);
}

export function sdDS(d: DrawSet): number {
  return Math.sqrt(varianceOf(d.data));
}

/** R's quantile(type = 7) over all draws; NaN if any draw is NaN (quantile2). */
export function quantileDS(d: DrawSet, prob: number): number {
  checkProb(prob);
  if (d.total === 0 || d.hasNaN()) return Number.NaN;
  return quantileSorted(d.sortedAll(), prob);
}

// ---- R-hat ---------------------------------------------------------------------

export function rhatBasicDS(d: DrawSet): number {
  return rhatView(d.data, d.view, d.ws);
}

/** max(rank-normalised split R-hat, rank-normalised folded split R-hat). */
export function rhatDS(d: DrawSet): number {
  // A NaN anywhere makes the median, hence the folded draws, NA in posterior.
  if (d.total === 0 || d.hasNaN()) return Number.NaN;
  const bulk = rhatView(zScaled(d), d.view, d.ws);
  const tail = rhatView(foldedZ(d), d.view, d.ws);
  return Math.max(bulk, tail);
}

// ---- ESS -----------------------------------------------------------------------

export function essBasicDS(d: DrawSet): number {
  return essView(d.data, d.view, d.ws);
}

export function essBulkDS(d: DrawSet): number {
  if (d.total === 0 || viewHasNaN(d.data, d.view)) return Number.NaN;
  return essView(zScaled(d), d.view, d.ws);
}

export function essQuantileDS(d: DrawSet, prob: number): number {
  checkProb(prob);
  if (d.total === 0 || shouldReturnNA(d.data)) return Number.NaN;
  // posterior moves prob = 1 just inside, so the indicator is not all TRUE.
  const p = prob === 1 ? (d.total - 0.5) / d.total : prob;
  const q = quantileSorted(d.sortedAll(), p);
  const x = d.data;
  const ind = d.work();
  for (let i = 0; i < ind.length; i++) ind[i] = x[i]! <= q ? 1 : 0;
  return essView(ind, d.view, d.ws);
}

export function essTailDS(d: DrawSet): number {
  return Math.min(essQuantileDS(d, 0.05), essQuantileDS(d, 0.95));
}

/** ESS of |x - mean(x)|. */
export function essSdDS(d: DrawSet): number {
  if (d.total === 0) return Number.NaN;
  const mu = meanOf(d.data);
  const x = d.data;
  const w = d.work();
  for (let i = 0; i < w.length; i++) w[i] = Math.abs(x[i]! - mu);
  return essView(w, d.view, d.ws);
}

// ---- MCSE ----------------------------------------------------------------------

export function mcseMeanDS(d: DrawSet, essMean: number = essBasicDS(d)): number {
  return sdDS(d) / Math.sqrt(essMean);
}

/**
 * MCSE of the SD: variance of the variance estimate (Kenney & Keeping) with
 * the ESS of the squared centred draws, then a first-order delta method.
 */
export function mcseSdDS(d: DrawSet): number {
  if (d.total === 0) return Number.NaN;
  const x = d.data;
  const mu = meanOf(x);
  const sq = d.work();
  for (let i = 0; i < sq.length; i++) {
    const c = x[i]! - mu;
    sq[i] = c * c;
  }
  const ess = essView(sq, d.view, d.ws);
  if (Number.isNaN(ess)) return Number.NaN;
  const eVar = meanOf(sq);
  // mean(sims_c^4) = mean of squares of sq; reuse sq in place.
  for (let i = 0; i < sq.length; i++) sq[i] = sq[i]! * sq[i]!;
  const m4 = meanOf(sq);
  const varVar = (m4 - eVar * eVar) / ess;
  return Math.sqrt(varVar / eVar / 4);
}

/** Standard-normal +-1 sd probabilities, with the digits posterior hard-codes. */
const P_LO = 0.1586553;
const P_HI = 0.8413447;

export function mcseQuantileDS(d: DrawSet, prob: number): number {
  const ess = essQuantileDS(d, prob);
  if (Number.isNaN(ess)) return Number.NaN;
  const a = ess * prob + 1;
  const b = ess * (1 - prob) + 1;
  const lo = qbeta(P_LO, a, b);
  const hi = qbeta(P_HI, a, b);
  const sorted = d.sortedAll();
  const S = sorted.length;
  const th1 = sorted[Math.max(Math.floor(lo * S), 1) - 1]!;
  const th2 = sorted[Math.min(Math.ceil(hi * S), S) - 1]!;
  return (th2 - th1) / 2;
}

// ---- shared rank-normalisation steps -------------------------------------------

/** z_scale over the split draws, written to the work buffer. */
function zScaled(d: DrawSet): Float64Array {
  const out = d.work();
  zScaleSorted(d.sortedView(), out);
  return out;
}

/**
 * z_scale(split(|x - median(x)|)) in the work buffer, or NaN when the median
 * is not finite (posterior then gets NA from Inf - Inf).
 */
function foldedZ(d: DrawSet): Float64Array {
  const all = d.sortedAll();
  const S = all.length;
  const half = (S + 1) >> 1;
  const pa = all[half - 1]!;
  const pb = S % 2 === 1 ? pa : all[half]!;
  const w = d.work();
  if (!Number.isFinite(pa) || !Number.isFinite(pb)) {
    w.fill(Number.NaN);
    return w;
  }
  foldZScaleSorted(d.sortedView(), pa, pb, w, d.ws.getInt32("fold.merged", d.total));
  return w;
}

// ---- public API ----------------------------------------------------------------

/** Mean of all draws. */
export function mean(chains: Chains): number {
  return meanDS(new DrawSet(chains));
}

/** Standard deviation of all draws (n - 1 denominator). */
export function sd(chains: Chains): number {
  return sdDS(new DrawSet(chains));
}

/** Quantile of all draws pooled, R's default type 7. */
export function quantile(chains: Chains, prob: number): number {
  return quantileDS(new DrawSet(chains), prob);
}

/** Rank-normalised split R-hat, maximum of bulk and folded (tail) versions. */
export function rhat(chains: Chains): number {
  return rhatDS(new DrawSet(chains));
}

/** Classic split R-hat on the raw draws. */
export function rhatBasic(chains: Chains): number {
  return rhatBasicDS(new DrawSet(chains));
}

/** Bulk ESS: ESS of the rank-normalised split draws. */
export function essBulk(chains: Chains): number {
  return essBulkDS(new DrawSet(chains));
}

/** Tail ESS: the smaller of the 5% and 95% quantile ESS. */
export function essTail(chains: Chains): number {
  return essTailDS(new DrawSet(chains));
}

/** ESS of the raw split draws. */
export function essBasic(chains: Chains): number {
  return essBasicDS(new DrawSet(chains));
}

/** ESS for the mean (same estimator as essBasic in posterior 1.4.0). */
export function essMean(chains: Chains): number {
  return essBasicDS(new DrawSet(chains));
}

/** ESS for the standard deviation: ESS of |x - mean(x)|. */
export function essSd(chains: Chains): number {
  return essSdDS(new DrawSet(chains));
}

/** ESS of the indicator x <= quantile(x, prob). */
export function essQuantile(chains: Chains, prob: number): number {
  return essQuantileDS(new DrawSet(chains), prob);
}

/** Monte Carlo standard error of the mean: sd / sqrt(essMean). */
export function mcseMean(chains: Chains): number {
  return mcseMeanDS(new DrawSet(chains));
}

/** Monte Carlo standard error of the standard deviation. */
export function mcseSd(chains: Chains): number {
  return mcseSdDS(new DrawSet(chains));
}

/** Monte Carlo standard error of a quantile, via order statistics. */
export function mcseQuantile(chains: Chains, prob: number): number {
  return mcseQuantileDS(new DrawSet(chains), prob);
}
