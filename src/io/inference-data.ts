/**
 * InferenceData, the layout ArviZ works with: named groups (posterior, sample_stats,
 * log_likelihood, posterior_predictive, prior, prior_predictive, observed_data, constant_data,
 * warmup_*), each a set of variables over named dimensions (`chain`, `draw`, then the model's
 * own: `school`, not `theta_dim_0`) with coordinates.
 *
 * `inferenceData(posterior, options)` builds the groups in memory; `writeInferenceData(path,
 * posterior, options)` writes them as a netCDF-4 file (HDF5 with netCDF's dimension scales),
 * the format of ArviZ's own `to_netcdf`, so `arviz.from_netcdf(path)` opens it with no code on
 * the user's side (DECISIONS.md D45). The HDF5 library is h5wasm (the HDF Group's C library in
 * WebAssembly), loaded only when a file is written.
 *
 * Predictive draws come in as `priorPredictive` / `posteriorPredictive` results (D78) or as
 * plain arrays.
 */
import type { Posterior } from "../api/posterior.js";
import type { PredictiveDraws, PredictiveVariable } from "../api/predictive.js";
import type { ShapedValue } from "../compile/types.js";
import type { SamplerStatsArrays } from "../inference/stats.js";

/** Draws of one variable: `[chain][draw]`, each a value (scalar) or the flattened (row-major) element array. */
export type DrawsArray = ArrayLike<ArrayLike<ArrayLike<number> | number>>;

/** A variable of an extra group: its draws, with a shape and dims when they cannot be inferred. */
export type GroupVariable = DrawsArray | ShapedDraws;

export interface ShapedDraws {
  readonly draws: DrawsArray;
  /** Shape of one draw (default: an observed node's or a posterior variable's of that name, else a vector). */
  readonly shape?: readonly number[];
  readonly dims?: readonly string[];
}

/** A group given as plain arrays: variable name -> draws. */
export type DrawsGroup = Readonly<Record<string, GroupVariable>>;

export interface InferenceDataOptions {
  /** Coordinate values of named dimensions, e.g. `{ school: ["Choate", "Deerfield", ...] }` (default 0, 1, ...). */
  readonly coords?: Readonly<Record<string, readonly (string | number)[]>>;
  /**
   * Posterior predictive draws: `posteriorPredictive(model, posterior)`'s result, whose
   * replicated observed nodes and random generated quantities (draws, and expressions of draws)
   * go to posterior_predictive and whose generated expressions of the parameters alone go to
   * posterior; or plain arrays for posterior_predictive (same chains and draws as the posterior).
   */
  readonly posteriorPredictive?: DrawsGroup | PredictiveDraws;
  /** Prior draws of the parameters as plain arrays (their own chains and draws); a `priorPredictive` result fills this group itself. */
  readonly prior?: DrawsGroup;
  /**
   * Prior predictive draws: `priorPredictive(model)`'s result, whose parameters (and generated
   * expressions of them) go to prior and whose observed nodes and random generated quantities go
   * to prior_predictive; or plain arrays for prior_predictive alone.
   */
  readonly priorPredictive?: DrawsGroup | PredictiveDraws;
  /** The pointwise log-likelihood group (default true when the model has observed nodes). */
  readonly logLikelihood?: boolean;
  /** observed_data: default the model's observed values; false leaves the group out. */
  readonly observedData?: Readonly<Record<string, ShapedValue | ArrayLike<number>>> | false;
  /** constant_data: default the model's named data (`m.data`); false leaves the group out. */
  readonly constantData?: Readonly<Record<string, ShapedValue | ArrayLike<number>>> | false;
  /** warmup_posterior, warmup_sample_stats, warmup_log_likelihood (default: when warmup draws were kept). */
  readonly warmup?: boolean;
  /** Extra attributes for every group. */
  readonly attrs?: Readonly<Record<string, string | number>>;
}

export type VariableData = Float64Array | BigInt64Array | Int8Array;

export interface IdVariable {
  readonly name: string;
  readonly dims: readonly string[];
  readonly shape: readonly number[];
  /** Row-major values; `Int8Array` holds booleans (0/1). */
  readonly data: VariableData;
}

export interface IdGroup {
  readonly name: string;
  readonly variables: readonly IdVariable[];
  /** Coordinate values of every dimension the group's variables use, in order of first use. */
  readonly coords: ReadonlyMap<string, readonly (string | number)[]>;
  readonly attrs: Readonly<Record<string, string | number>>;
}

/** ArviZ's sample_stats names for ours. */
const SAMPLE_STATS: readonly [keyof SamplerStatsArrays, string, "float" | "int" | "bool"][] = [
  ["lp", "lp", "float"],
  ["acceptStat", "acceptance_rate", "float"],
  ["stepSize", "step_size", "float"],
  ["treeDepth", "tree_depth", "int"],
  ["nLeapfrog", "n_steps", "int"],
  ["divergent", "diverging", "bool"],
  ["energy", "energy", "float"],
];

const PACKAGE = "@bayests/runtime";

/** Collects variables and checks that each dimension has one length and fitting coordinates. */
class GroupBuilder {
  readonly variables: IdVariable[] = [];
  private readonly sizes = new Map<string, { size: number; by: string }>();

  constructor(
    readonly name: string,
    private readonly coords: InferenceDataOptions["coords"],
  ) {}

  add(name: string, dims: readonly string[], shape: readonly number[], data: VariableData): void {
    if (dims.length !== shape.length) throw new RangeError(`InferenceData ${this.name}/${name}: ${dims.length} dims for shape [${shape.join(", ")}]`);
    dims.forEach((d, k) => {
      const seen = this.sizes.get(d);
      if (seen !== undefined && seen.size !== shape[k]) {
        throw new RangeError(`InferenceData ${this.name}: dimension ${d} has length ${seen.size} in ${seen.by} but ${shape[k]} in ${name}`);
      }
      this.sizes.set(d, { size: shape[k]!, by: name });
    });
    this.variables.push({ name, dims, shape, data });
  }

  build(attrs: Record<string, string | number>): IdGroup {
    for (const v of this.variables) {
      if (this.sizes.has(v.name)) throw new RangeError(`InferenceData ${this.name}: ${v.name} is both a variable and a dimension name`);
    }
    const coords = new Map<string, readonly (string | number)[]>();
    for (const [dim, { size, by }] of this.sizes) {
      const given = this.coords?.[dim];
      if (given !== undefined && given.length !== size) {
        throw new RangeError(`InferenceData: coords.${dim} has ${given.length} values, dimension ${dim} of ${this.name}/${by} has length ${size}`);
      }
      coords.set(dim, given ?? Array.from({ length: size }, (_, i) => i));
    }
    return { name: this.name, variables: this.variables, coords, attrs };
  }
}

function defaultDims(name: string, shape: readonly number[], dims: readonly string[] | undefined): string[] {
  return dims !== undefined ? [...dims] : shape.map((_, k) => `${name}_dim_${k}`);
}

/** A group variable in its wrapped form (shape and dims undefined when not given). */
export function shapedDraws(v: GroupVariable): ShapedDraws {
  return typeof v === "object" && v !== null && "draws" in v && !Array.isArray(v) ? (v as ShapedDraws) : { draws: v as DrawsArray };
}

/** Gathers `[chain][draw]` values (numbers or flat arrays) into one row-major array. */
function gatherDraws(group: string, name: string, draws: DrawsArray): { chains: number; draws: number; size: number; data: Float64Array; scalar: boolean } {
  const chains = draws.length;
  if (chains === 0) throw new RangeError(`InferenceData ${group}/${name}: no chains`);
  const n = draws[0]!.length;
  const first = draws[0]![0];
  const scalar = typeof first === "number";
  const size = scalar ? 1 : (first as ArrayLike<number> | undefined)?.length ?? 0;
  const data = new Float64Array(chains * n * size);
  for (let c = 0; c < chains; c++) {
    const chain = draws[c]!;
    if (chain.length !== n) throw new RangeError(`InferenceData ${group}/${name}: chain ${c} has ${chain.length} draws, chain 0 has ${n}`);
    for (let d = 0; d < n; d++) {
      const v = chain[d]!;
      const at = (c * n + d) * size;
      if (typeof v === "number") {
        if (!scalar) throw new TypeError(`InferenceData ${group}/${name}: chain ${c}, draw ${d} is a number, the first draw is an array`);
        data[at] = v;
      } else {
        if (scalar || v.length !== size) throw new RangeError(`InferenceData ${group}/${name}: chain ${c}, draw ${d} has ${typeof v === "number" ? 1 : v.length} values, the first draw has ${size}`);
        for (let k = 0; k < size; k++) data[at + k] = v[k]!;
      }
    }
  }
  return { chains, draws: n, size, data, scalar };
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A `priorPredictive` / `posteriorPredictive` result, told apart from a plain group (whose values are arrays). */
export function isPredictiveDraws(x: unknown): x is PredictiveDraws {
  if (typeof x !== "object" || x === null) return false;
  const p = x as Partial<PredictiveDraws>;
  return (p.kind === "prior" || p.kind === "posterior") && Array.isArray(p.variables) && typeof p.numChains === "number" && typeof p.numDraws === "number";
}

/**
 * Predictive draws of the kind an option takes (posterior ones: as many chains and draws as
 * the posterior), split as ArviZ groups them: `fixed` beside the parameters (posterior or
 * prior), `random` among the predictions.
 */
export function checkedPredictive(
  what: string,
  draws: PredictiveDraws,
  kind: "prior" | "posterior",
  posterior: Posterior,
): { fixed: PredictiveVariable[]; random: PredictiveVariable[] } {
  if (draws.kind !== kind) {
    throw new TypeError(`${what} holds ${draws.kind} predictive draws (from ${draws.kind}Predictive); it takes ${kind}Predictive's result`);
  }
  if (kind === "posterior" && (draws.numChains !== posterior.numChains || draws.numDraws !== posterior.numDraws)) {
    throw new RangeError(
      `${what} has ${draws.numChains} chains x ${draws.numDraws} draws, the posterior ${posterior.numChains} x ${posterior.numDraws}: was it drawn from this posterior?`,
    );
  }
  return { fixed: draws.variables.filter((v) => !v.random), random: draws.variables.filter((v) => v.random) };
}

/** Adds predictive variables to a group, keeping chains `chains` (indices into the draws' chains). */
function addPredictive(g: GroupBuilder, variables: readonly PredictiveVariable[], numDraws: number, chains: readonly number[]): void {
  for (const v of variables) {
    const block = numDraws * product(v.shape);
    const data = new Float64Array(chains.length * block);
    chains.forEach((c, ci) => data.set(v.values.subarray(c * block, (c + 1) * block), ci * block));
    g.add(v.name, ["chain", "draw", ...defaultDims(v.name, v.shape, v.dims)], [chains.length, numDraws, ...v.shape], data);
  }
}

/** Shapes and dims known for a name: an observed node's values, else a posterior variable. */
function knownLayout(posterior: Posterior, name: string): { shape: readonly number[]; dims: readonly string[] | undefined } | undefined {
  const o = posterior.model?.observed.find((x) => x.name === name);
  if (o !== undefined) return { shape: o.value.shape, dims: o.dims };
  const v = posterior.variables.find((x) => x.name === name);
  return v === undefined ? undefined : { shape: v.shape, dims: v.dims };
}

function drawsGroup(name: string, given: DrawsGroup, posterior: Posterior, options: InferenceDataOptions, attrs: Record<string, string | number>): IdGroup {
  const g = new GroupBuilder(name, options.coords);
  for (const [v, value] of Object.entries(given)) {
    const wrapped = shapedDraws(value);
    const got = gatherDraws(name, v, wrapped.draws);
    const known = knownLayout(posterior, v);
    let shape: readonly number[];
    if (wrapped.shape !== undefined) shape = wrapped.shape;
    else if (known !== undefined && product(known.shape) === got.size) shape = known.shape;
    else shape = got.scalar ? [] : [got.size];
    if (product(shape) !== got.size) throw new RangeError(`InferenceData ${name}/${v}: shape [${shape.join(", ")}] does not hold ${got.size} values per draw`);
    const dims = wrapped.dims ?? (known !== undefined && known.shape.length === shape.length ? known.dims : undefined);
    g.add(v, ["chain", "draw", ...defaultDims(v, shape, dims)], [got.chains, got.draws, ...shape], got.data);
  }
  return g.build(attrs);
}

function dataGroup(name: string, values: Readonly<Record<string, ShapedValue | ArrayLike<number>>>, dimsOf: (v: string) => readonly string[] | undefined, options: InferenceDataOptions, attrs: Record<string, string | number>): IdGroup {
  const g = new GroupBuilder(name, options.coords);
  for (const [v, x] of Object.entries(values)) {
    const shaped = "values" in x && "shape" in x ? (x as ShapedValue) : { shape: [(x as ArrayLike<number>).length], values: Float64Array.from(x as ArrayLike<number>) };
    g.add(v, defaultDims(v, shaped.shape, dimsOf(v)), shaped.shape, Float64Array.from(shaped.values));
  }
  return g.build(attrs);
}

/** Chains to export: a run's healthy ones (as its summaries), else all. */
function exportedChains(posterior: Posterior): number[] {
  const h = (posterior as Posterior & { healthyChains?: () => number[] }).healthyChains?.();
  return h ?? posterior.chains.map((c) => c.chain);
}

/**
 * The posterior (and whatever `options` adds) as InferenceData groups, in ArviZ's names and
 * order. A run's failed chains are left out, as its summaries leave them out.
 */
export function inferenceData(posterior: Posterior, options: InferenceDataOptions = {}): IdGroup[] {
  const chains = exportedChains(posterior);
  if (chains.length === 0) throw new RangeError("InferenceData: the posterior has no chain whose draws are all real");
  const attrs: Record<string, string | number> = {
    created_at: new Date().toISOString(),
    inference_library: PACKAGE,
    model_name: posterior.modelName,
    sampling_seed: posterior.seed,
    ...options.attrs,
  };
  const groups: IdGroup[] = [];
  const warmup = (options.warmup ?? true) && posterior.chains.every((c) => c.warmupValues !== null) && posterior.numWarmup > 0;
  const chainCoords = { ...options.coords, chain: chains };

  const drawsOf = (n: number, values: (c: number) => Float64Array, name: string, predicted: readonly PredictiveVariable[] = []) => {
    const g = new GroupBuilder(name, chainCoords);
    for (const v of posterior.variables) {
      const data = new Float64Array(chains.length * n * v.size);
      chains.forEach((c, ci) => {
        const src = values(c);
        for (let k = 0; k < v.size; k++) {
          const q = (v.offset + k) * n;
          for (let d = 0; d < n; d++) data[(ci * n + d) * v.size + k] = src[q + d]!;
        }
      });
      g.add(v.name, ["chain", "draw", ...defaultDims(v.name, v.shape, v.dims)], [chains.length, n, ...v.shape], data);
    }
    addPredictive(g, predicted, n, chains);
    return g.build(attrs);
  };
  const statsOf = (n: number, stats: (c: number) => SamplerStatsArrays, name: string) => {
    const g = new GroupBuilder(name, chainCoords);
    for (const [ours, theirs, kind] of SAMPLE_STATS) {
      const data = kind === "float" ? new Float64Array(chains.length * n) : kind === "int" ? new BigInt64Array(chains.length * n) : new Int8Array(chains.length * n);
      chains.forEach((c, ci) => {
        const src = stats(c)[ours];
        for (let d = 0; d < n; d++) {
          if (data instanceof BigInt64Array) data[ci * n + d] = BigInt(src[d]!);
          else data[ci * n + d] = src[d]!;
        }
      });
      g.add(theirs, ["chain", "draw"], [chains.length, n], data);
    }
    return g.build(attrs);
  };
  const logLikOf = (ll: (name: string) => Float64Array[][] | null, name: string) => {
    const g = new GroupBuilder(name, chainCoords);
    for (const o of posterior.model!.observed) {
      const all = ll(o.name)!;
      const n = all[0]!.length;
      const data = new Float64Array(chains.length * n * o.size);
      chains.forEach((c, ci) => all[c]!.forEach((row, d) => data.set(row, (ci * n + d) * o.size)));
      const dims = o.shape.length === o.value.shape.length ? o.dims : undefined;
      g.add(o.name, ["chain", "draw", ...defaultDims(o.name, o.shape, dims)], [chains.length, n, ...o.shape], data);
    }
    return g.build(attrs);
  };

  const hasLogLik = (posterior.model?.observed.length ?? 0) > 0;
  const logLik = (options.logLikelihood ?? hasLogLik) && hasLogLik;
  if (options.logLikelihood === true && !hasLogLik) {
    throw new RangeError(`InferenceData: logLikelihood needs observed nodes; model ${posterior.modelName} has none${posterior.model === null ? " (a module model)" : ""}`);
  }

  // Predictive draws from the runtime's own functions: each variable to the group ArviZ users look in.
  const pp = options.posteriorPredictive;
  const postPred = isPredictiveDraws(pp) ? checkedPredictive("InferenceData: options.posteriorPredictive", pp, "posterior", posterior) : null;
  const priorDraws = isPredictiveDraws(options.priorPredictive) ? options.priorPredictive : null;
  const priorPred = priorDraws === null ? null : checkedPredictive("InferenceData: options.priorPredictive", priorDraws, "prior", posterior);
  if (priorPred !== null && options.prior !== undefined) {
    throw new RangeError("InferenceData: options.prior and the priorPredictive result both give the prior group; pass one of them");
  }
  const predictiveGroup = (name: string, variables: readonly PredictiveVariable[], draws: PredictiveDraws, keep: readonly number[], coords: InferenceDataOptions["coords"]) => {
    const g = new GroupBuilder(name, coords);
    addPredictive(g, variables, draws.numDraws, keep);
    return g.build({ ...attrs, predictive_seed: draws.seed });
  };
  const priorChains = Array.from({ length: priorDraws?.numChains ?? 0 }, (_, c) => c);
  const priorCoords = { ...options.coords, chain: priorChains };

  groups.push(drawsOf(posterior.numDraws, (c) => posterior.chains[c]!.values, "posterior", postPred?.fixed));
  if (postPred !== null) {
    if (postPred.random.length > 0) groups.push(predictiveGroup("posterior_predictive", postPred.random, pp as PredictiveDraws, chains, chainCoords));
  } else if (pp) groups.push(drawsGroup("posterior_predictive", pp as DrawsGroup, posterior, options, attrs));
  if (logLik) groups.push(logLikOf((name) => posterior.logLikelihood(name), "log_likelihood"));
  groups.push(statsOf(posterior.numDraws, (c) => posterior.chains[c]!.stats, "sample_stats"));
  if (priorPred !== null) {
    if (priorPred.fixed.length > 0) groups.push(predictiveGroup("prior", priorPred.fixed, priorDraws!, priorChains, priorCoords));
    if (priorPred.random.length > 0) groups.push(predictiveGroup("prior_predictive", priorPred.random, priorDraws!, priorChains, priorCoords));
  } else {
    if (options.prior) groups.push(drawsGroup("prior", options.prior, posterior, options, attrs));
    if (options.priorPredictive) groups.push(drawsGroup("prior_predictive", options.priorPredictive as DrawsGroup, posterior, options, attrs));
  }

  const observed =
    options.observedData === false
      ? null
      : options.observedData ?? Object.fromEntries((posterior.model?.observed ?? []).map((o) => [o.name, o.value]));
  if (observed !== null && Object.keys(observed).length > 0) {
    groups.push(dataGroup("observed_data", observed, (v) => posterior.model?.observed.find((o) => o.name === v)?.dims, options, attrs));
  }
  const constant = options.constantData === false ? null : options.constantData ?? Object.fromEntries((posterior.model?.data ?? []).map((d) => [d.name, d]));
  if (constant !== null && Object.keys(constant).length > 0) groups.push(dataGroup("constant_data", constant, () => undefined, options, attrs));

  if (warmup) {
    groups.push(drawsOf(posterior.numWarmup, (c) => posterior.chains[c]!.warmupValues!, "warmup_posterior"));
    if (logLik) groups.push(logLikOf((name) => posterior.warmupLogLikelihood(name), "warmup_log_likelihood"));
    groups.push(statsOf(posterior.numWarmup, (c) => posterior.chains[c]!.warmupStats, "warmup_sample_stats"));
  }
  return groups;
}

// ---- netCDF-4 ------------------------------------------------------------------------

type H5Module = typeof import("h5wasm/node");

let h5: Promise<H5Module["default"]> | null = null;

async function loadH5(): Promise<H5Module["default"]> {
  h5 ??= import("h5wasm/node").then(
    async (m) => {
      await m.default.ready;
      return m.default;
    },
    (e: unknown) => {
      h5 = null;
      // h5wasm is an optional peer dependency (only netCDF files need it).
      if ((e as { code?: string }).code === "ERR_MODULE_NOT_FOUND") throw new Error(`writing and reading netCDF-4 (InferenceData) needs the optional package h5wasm: npm install h5wasm`, { cause: e });
      throw e;
    },
  );
  return h5;
}

/**
 * Writes the posterior as InferenceData in a netCDF-4 file (`.nc`) that ArviZ opens with
 * `arviz.from_netcdf(path)` (and xarray with `open_dataset(path, group=..., engine="h5netcdf")`).
 * Resolves to the path. Options as `inferenceData`.
 */
export async function writeInferenceData(path: string, posterior: Posterior, options: InferenceDataOptions = {}): Promise<string> {
  const groups = inferenceData(posterior, options);
  const lib = await loadH5();
  const file = new lib.File(path, "w");
  try {
    for (const group of groups) writeGroup(file, group);
  } finally {
    file.close();
  }
  return path;
}

type H5Group = ReturnType<InstanceType<H5Module["default"]["File"]>["create_group"]>;
type H5Dataset = ReturnType<H5Group["create_dataset"]>;

function writeGroup(file: InstanceType<H5Module["default"]["File"]>, group: IdGroup): void {
  const g = file.create_group(group.name);
  for (const [k, v] of Object.entries(group.attrs)) {
    g.create_attribute(k, typeof v === "string" ? v : Number.isSafeInteger(v) ? BigInt64Array.of(BigInt(v)) : Float64Array.of(v));
  }
  // Every dimension gets a coordinate variable marked as a dimension scale (netCDF-4's dimensions).
  for (const [dim, values] of group.coords) {
    let data: string[] | BigInt64Array | Float64Array;
    if (values.some((v) => typeof v === "string")) data = values.map(String);
    else if (values.every((v) => Number.isInteger(v))) data = BigInt64Array.from(values as number[], (v) => BigInt(v));
    else data = Float64Array.from(values as number[]);
    (g.create_dataset({ name: dim, data, shape: [values.length] }) as H5Dataset).make_scale(dim);
  }
  for (const v of group.variables) {
    const ds = g.create_dataset({ name: v.name, data: v.data, shape: [...v.shape], ...(v.data instanceof Int8Array ? { dtype: "<b" } : {}) }) as H5Dataset;
    // xarray's encoding of booleans: int8 with dtype = "bool".
    if (v.data instanceof Int8Array) ds.create_attribute("dtype", "bool");
    v.dims.forEach((d, k) => ds.attach_scale(k, `/${group.name}/${d}`));
  }
}
