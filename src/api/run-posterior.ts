/**
 * The result of `sample`: the same `Posterior` as `sampleSync` returns, plus how the run
 * went (per-chain status, restarts, placeholders, the last online diagnostics).
 *
 * A failed chain keeps its real draws and is padded with placeholders (NaN values, flagged
 * per draw in `placeholder`, marked divergent). Summaries, divergence counts and E-BFMI
 * leave out failed chains (R-hat needs chains of one length, and a chain that crashed is
 * suspect anyway); `draws(name)` still returns every chain.
 */
import type { ChainStatusKind, OnlineDiagnostics, RunStatusKind } from "../../actors/events.js";
import type { RunOutcome } from "../../supervisors/run-supervisor.js";
import type { BackendChoice, ModelInfo } from "../compile/types.js";
import { ebfmi, type SummaryOptions } from "../diagnostics/index.js";
import { totalOdeFailures } from "../ode/index.js";
import { Posterior, type ChainResult, type PosteriorInit } from "./posterior.js";

export interface ChainStatus {
  readonly chain: number;
  readonly status: ChainStatusKind;
  /** Chunk restarts (watchdog or failures) the chain needed. */
  readonly restarts: number;
  /** Iteration from which a failed chain's draws are placeholders; null otherwise. */
  readonly failedAt: number | null;
  readonly error: string | null;
  /** Placeholder draws (warmup + sampling) in this chain of the result. */
  readonly placeholders: number;
}

export interface RunChainResult extends ChainResult {
  /** 1 where a sampling draw is a placeholder. */
  readonly placeholder: Uint8Array;
  /** 1 where a warmup iteration is a placeholder. */
  readonly warmupPlaceholder: Uint8Array;
  readonly status: ChainStatus;
}

export interface RunInfo {
  readonly status: RunStatusKind;
  readonly abortReason: string | null;
  readonly threads: number;
  readonly seconds: number;
  readonly pooledWarmup: boolean;
  readonly warmupExtensions: number;
  readonly diagnostics: OnlineDiagnostics | null;
  /** The adaptive warmup length's cap (the `warmup` option), or null when warmup was fixed. */
  readonly warmupCap?: number | null;
  /** A cluster run: each runner that ran chunks, with its worker threads. */
  readonly runners?: ReadonlyMap<string, number> | null;
}

export class RunPosterior extends Posterior {
  declare readonly chains: readonly RunChainResult[];
  readonly status: RunStatusKind;
  readonly abortReason: string | null;
  readonly chainStatus: readonly ChainStatus[];
  /** Worker threads the chains ran on: the run's own or shared pool's, or on the cluster the sum of its runners' threads. */
  readonly threads: number;
  /** A cluster run: each runner that ran chunks (host:port), with its worker threads; null on local threads. */
  readonly runners: ReadonlyMap<string, number> | null;
  /** Wall-clock seconds of the run (pool start to pool end). */
  readonly seconds: number;
  readonly pooledWarmup: boolean;
  readonly warmupExtensions: number;
  /** The last online diagnostics (null if no check point was reached). */
  readonly onlineDiagnostics: OnlineDiagnostics | null;
  /** The adaptive warmup length's cap, or null when warmup had the fixed length asked for. */
  readonly warmupCap: number | null;

  constructor(init: Omit<PosteriorInit, "chains"> & { readonly chains: readonly RunChainResult[] }, info: RunInfo) {
    super(init);
    this.status = info.status;
    this.abortReason = info.abortReason;
    this.chainStatus = init.chains.map((c) => c.status);
    this.runners = info.runners ?? null;
    this.threads = this.runners === null ? info.threads : [...this.runners.values()].reduce((a, b) => a + b, 0);
    this.seconds = info.seconds;
    this.pooledWarmup = info.pooledWarmup;
    this.warmupExtensions = info.warmupExtensions;
    this.onlineDiagnostics = info.diagnostics;
    this.warmupCap = info.warmupCap ?? null;
  }

  /** Where the chains ran: "2 threads", or on the cluster "2 runners with 3 threads (a:1, b:2)". */
  private where(): string {
    const threads = `${this.threads} thread${this.threads === 1 ? "" : "s"}`;
    if (this.runners === null) return threads;
    const each = [...this.runners].map(([runner, t]) => `${runner}: ${t}`).join(", ");
    return `${this.runners.size} runner${this.runners.size === 1 ? "" : "s"} with ${threads} (${each})`;
  }

  /** Chains that did not fail (their draws are all real). */
  healthyChains(): number[] {
    return this.chains.filter((c) => c.status.status !== "failed").map((c) => c.chain);
  }

  /** Gradient evaluations of all chains (warmup and sampling). */
  get gradientEvaluations(): number {
    return this.chains.reduce((a, c) => a + c.gradientEvaluations, 0);
  }

  /** Real (not placeholder) sampling draws per chain: all of a chain that did not fail, those before the failure of one that did. */
  realDraws(): number[] {
    return this.chains.map((c) => realCount(c.placeholder));
  }

  /**
   * When every chain failed: the real sampling draws per chain that `summary()` covers (the
   * shortest among the chains with at least 4), flagged in `formatSummary`; null otherwise (and
   * when no chain reached 4 sampling draws: then `summary()` has no rows).
   */
  get failedChainsSummaryDraws(): number | null {
    if (this.healthyChains().length > 0) return null;
    const real = this.realDraws().filter((n) => n >= 4);
    return real.length === 0 ? null : Math.min(...real);
  }

  protected override summaryChains(): number[] {
    const healthy = this.healthyChains();
    if (healthy.length > 0) return healthy;
    // Every chain failed: what is there is summarised (the chains that made at least 4 real draws).
    return this.failedChainsSummaryDraws === null ? [] : this.chains.filter((c) => realCount(c.placeholder) >= 4).map((c) => c.chain);
  }

  protected override summaryLength(): number | null {
    return this.failedChainsSummaryDraws;
  }

  /** Divergent sampling transitions per chain, placeholders not counted. */
  override divergences(): number[] {
    return this.chains.map((c) => {
      let n = 0;
      for (let i = 0; i < c.stats.divergent.length; i++) if (c.placeholder[i] === 0) n += c.stats.divergent[i]!;
      return n;
    });
  }

  override treeDepthHits(maxTreeDepth: number): number[] {
    return this.chains.map((c) => {
      let n = 0;
      for (let i = 0; i < c.stats.treeDepth.length; i++) if (c.placeholder[i] === 0 && c.stats.treeDepth[i]! >= maxTreeDepth) n++;
      return n;
    });
  }

  /** E-BFMI per chain over its real draws (NaN for a chain without any). */
  override ebfmi(): number[] {
    return this.chains.map((c) => {
      const real = realCount(c.placeholder);
      return real < 2 ? NaN : ebfmi(c.stats.energy.subarray(0, real));
    });
  }

  override formatSummary(names?: readonly string[], options: SummaryOptions = {}): string {
    const lines = [super.formatSummary(names, options)];
    const h = this.healthyChains();
    lines.push(
      `run: ${this.status}${this.abortReason !== null ? ` (${this.abortReason})` : ""}, ${this.where()}, ` +
        `${this.seconds.toFixed(2)} s, ${this.gradientEvaluations} gradients, warmup ${this.pooledWarmup ? "pooled" : "per chain"}` +
        (this.warmupExtensions > 0 ? `, extended ${this.warmupExtensions}x` : "") +
        (this.warmupCap !== null ? `, warmup length adaptive: ${this.numWarmup} of at most ${this.warmupCap}` : `, warmup length fixed: ${this.numWarmup}`),
    );
    for (const s of this.chainStatus) {
      if (s.status === "failed") {
        lines.push(`chain ${s.chain}: FAILED at iteration ${s.failedAt} after ${s.restarts} restart(s): ${s.error}; ${s.placeholders} placeholder draws, left out of the table`);
      } else if (s.restarts > 0) {
        lines.push(`chain ${s.chain}: ${s.status} after ${s.restarts} restart(s)`);
      }
    }
    const partial = this.failedChainsSummaryDraws;
    if (partial !== null) {
      lines.push(`every chain failed: the table summarises the first ${partial} real draws of chains ${this.summaryChains().join(", ")}, made before the failures; it is not a posterior`);
    } else if (h.length < this.numChains) lines.push(`summary over chains ${h.join(", ")}`);
    return lines.join("\n");
  }
}

function realCount(flags: Uint8Array): number {
  let n = 0;
  while (n < flags.length && flags[n] === 0) n++;
  return n;
}

/** Number of ones among 0/1 flags (a chain without placeholders costs one native scan). */
function countFlags(flags: Uint8Array): number {
  const first = flags.indexOf(1);
  if (first < 0) return 0;
  let n = 0;
  for (let i = first; i < flags.length; i++) n += flags[i]!;
  return n;
}

/** Builds the run's result from what the run supervisor committed. */
export function runPosteriorFromOutcome(
  outcome: RunOutcome,
  meta: {
    backend?: BackendChoice | undefined;
    seed: number;
    metric: string;
    saveWarmup: boolean;
    threads: number;
    pooledWarmup: boolean;
    maxTreeDepth?: number;
    /** The adaptive warmup length's cap, or null: warmup was fixed. */
    warmupCap?: number | null;
    modelName?: string;
    model?: ModelInfo;
  },
): RunPosterior {
  const W = outcome.numWarmup;
  const D = outcome.numDraws;
  const chains: RunChainResult[] = outcome.actors.map((a) => {
    const trace = outcome.store.chains[a.chain]!;
    const samp = trace.sampling.snapshot(D);
    const warm = trace.warmup.snapshot(W);
    const placeholders = countFlags(samp.placeholder) + countFlags(warm.placeholder);
    const adaptation = a.adaptation();
    const status: ChainStatus = {
      chain: a.chain,
      status: a.status,
      restarts: a.restarts,
      failedAt: a.failedAt,
      error: a.error,
      placeholders,
    };
    return {
      chain: a.chain,
      values: samp.values,
      stats: samp.stats,
      warmupValues: meta.saveWarmup ? warm.values : null,
      warmupStats: warm.stats,
      stepSize: adaptation.stepSize,
      metric: adaptation.metric ?? { kind: "diag", inverse: new Float64Array(0) },
      // Those the result's draws took (not those of draws made past an early stop or an abort).
      gradientEvaluations: a.gradientEvaluations - a.gradientsBeyond(D),
      warmupSeconds: trace.warmup.seconds,
      samplingSeconds: trace.sampling.seconds,
      ...(Number.isFinite(trace.warmup.cpuSeconds + trace.sampling.cpuSeconds) ? { warmupCpuSeconds: trace.warmup.cpuSeconds, samplingCpuSeconds: trace.sampling.cpuSeconds } : {}),
      ...(totalOdeFailures(a.odeFailures.warmup) + totalOdeFailures(a.odeFailures.sampling) > 0 ? { odeFailures: { warmup: { ...a.odeFailures.warmup }, sampling: { ...a.odeFailures.sampling } } } : {}),
      placeholder: samp.placeholder,
      warmupPlaceholder: warm.placeholder,
      status,
    };
  });
  return new RunPosterior(
    {
      names: outcome.names,
      paramCount: outcome.paramCount,
      backend: meta.backend,
      numWarmup: W,
      numDraws: D,
      seed: meta.seed,
      metric: meta.metric,
      chains,
      ...(meta.maxTreeDepth !== undefined ? { maxTreeDepth: meta.maxTreeDepth } : {}),
      ...(meta.modelName !== undefined ? { modelName: meta.modelName } : {}),
      ...(meta.model ? { model: meta.model } : {}),
    },
    {
      status: outcome.status,
      abortReason: outcome.abortReason,
      threads: meta.threads,
      seconds: outcome.seconds,
      pooledWarmup: meta.pooledWarmup,
      warmupExtensions: outcome.warmupExtensions,
      diagnostics: outcome.diagnostics,
      warmupCap: meta.warmupCap ?? null,
      runners: outcome.runners,
    },
  );
}
