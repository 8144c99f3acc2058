import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ebfmi,
  essBasic,
  essBulk,
  essMean,
  essQuantile,
  essSd,
  essTail,
  formatSummary,
  mcseMean,
  mcseQuantile,
  mcseSd,
  mean,
  quantile,
  rhat,
  rhatBasic,
  sd,
  summary,
  hdi,
  mad,
} from "../src/diagnostics/index.js";
import { autocovariance, centreSequences, LazyAutocovariance } from "../src/diagnostics/autocovariance.js";
import { splitView } from "../src/diagnostics/draws.js";
import { qbeta, pbeta } from "../src/diagnostics/beta.js";
import { qnorm } from "../src/diagnostics/normal.js";
import { Workspace } from "../src/diagnostics/workspace.js";
import { mulberry32 } from "./helpers/random.js";

const TOL = 1e-8;

/** Relative error; NaN is expected exactly where R gives NA, infinities must match. */
function relErr(actual: number, expected: number | null): number {
  if (expected === null || Number.isNaN(expected)) return Number.isNaN(actual) ? 0 : Infinity;
  if (!Number.isFinite(expected)) return actual === expected ? 0 : Infinity;
  if (!Number.isFinite(actual)) return Infinity;
  if (expected === 0) return Math.abs(actual);
  return Math.abs(actual - expected) / Math.abs(expected);
}

function expectClose(label: string, actual: number, expected: number | null): void {
  const err = relErr(actual, expected);
  if (!(err <= TOL)) throw new Error(`${label}: got ${actual}, expected ${expected} (rel err ${err})`);
}

const FIELDS: Record<string, (chains: number[][]) => number> = {
  rhat: (c) => rhat(c),
  rhat_basic: (c) => rhatBasic(c),
  ess_bulk: (c) => essBulk(c),
  ess_tail: (c) => essTail(c),
  ess_basic: (c) => essBasic(c),
  ess_mean: (c) => essMean(c),
  ess_sd: (c) => essSd(c),
  ess_q05: (c) => essQuantile(c, 0.05),
  ess_q95: (c) => essQuantile(c, 0.95),
  mcse_mean: (c) => mcseMean(c),
  mcse_sd: (c) => mcseSd(c),
  mcse_q05: (c) => mcseQuantile(c, 0.05),
  mean: (c) => mean(c),
  sd: (c) => sd(c),
  q05: (c) => quantile(c, 0.05),
  q50: (c) => quantile(c, 0.5),
  q95: (c) => quantile(c, 0.95),
};

// ---- reference fixture ---------------------------------------------------------------

interface FixtureCase {
  name: string;
  note: string;
  chains: number;
  draws_per_chain: number;
  draws: number[][];
  expected: Record<string, number | null>;
}

const fixture = JSON.parse(
  readFileSync(new URL("./fixtures/diagnostics-reference.json", import.meta.url), "utf8"),
) as { source: string; cases: FixtureCase[] };

describe("diagnostics agree with R posterior 1.4.0 fixtures", () => {
  it("fixture has the expected shape", () => {
    expect(fixture.source).toContain("posterior 1.4.0");
    expect(fixture.cases.length).toBe(10);
    for (const c of fixture.cases) {
      expect(c.draws.length).toBe(c.chains);
      for (const ch of c.draws) expect(ch.length).toBe(c.draws_per_chain);
      for (const field of Object.keys(FIELDS)) expect(c.expected).toHaveProperty(field);
    }
  });

  for (const c of fixture.cases) {
    describe(c.name, () => {
      for (const [field, fn] of Object.entries(FIELDS)) {
        it(field, () => expectClose(`${c.name}.${field}`, fn(c.draws), c.expected[field] ?? null));
      }

      it("summary row matches the reference", () => {
        const [row] = summary([{ name: c.name, chains: c.draws }]);
        const e = c.expected;
        expectClose("mean", row!.mean, e.mean ?? null);
        expectClose("sd", row!.sd, e.sd ?? null);
        expectClose("q5", row!.q5, e.q05 ?? null);
        expectClose("q50", row!.q50, e.q50 ?? null);
        expectClose("q95", row!.q95, e.q95 ?? null);
        expectClose("mcseMean", row!.mcseMean, e.mcse_mean ?? null);
        expectClose("mcseSd", row!.mcseSd, e.mcse_sd ?? null);
        expectClose("essBulk", row!.essBulk, e.ess_bulk ?? null);
        expectClose("essTail", row!.essTail, e.ess_tail ?? null);
        expectClose("rhat", row!.rhat, e.rhat ?? null);
      });

      it("accepts Float64Array chains", () => {
        const typed = c.draws.map((ch) => Float64Array.from(ch));
        expectClose("rhat", rhat(typed), c.expected.rhat ?? null);
        expectClose("ess_bulk", essBulk(typed), c.expected.ess_bulk ?? null);
      });
    });
  }
});

// ---- edge cases, values from R posterior 1.4.0 -------------------------------------------

/**
 * Draws built only from IEEE +, -, *, / and floor (Park-Miller LCG scaled by
 * 2^-31), so R and JavaScript produce bit-identical draws. The expectations
 * were computed with R 4.2.2, posterior 1.4.0, on exactly these draws
 * (NaN where posterior returns NA).
 */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (16807 * s) % 2147483647;
    return s / 2147483648;
  };
}

function makeDraws(kind: string, m: number, n: number, seed: number, mod?: string): number[][] {
  const u = lcg(seed);
  const iidz = (): number => (u() + u() + u() + u() - 2) * 1.7;
  const x: number[][] = [];
  for (let c = 1; c <= m; c++) {
    let prev = 0;
    const ch: number[] = [];
    for (let i = 1; i <= n; i++) {
      let v: number;
      switch (kind) {
        case "const":
          v = 1.5;
          break;
        case "chainconst":
          v = c;
          break;
        case "iid":
          v = iidz();
          break;
        case "ar":
          prev = 0.8 * prev + iidz();
          v = prev;
          break;
        case "anti":
          v = (i % 2 === 0 ? 1 : -1) * (1 + 0.1 * u());
          break;
        case "disc5":
          v = Math.floor(u() * 5);
          break;
        case "disc3":
          v = Math.floor(u() * 3);
          break;
        default:
          throw new Error(kind);
      }
      ch.push(v);
    }
    x.push(ch);
  }
  if (mod === "constchain") x[3] = x[3]!.map(() => 0.25);
  if (mod === "nan") x[1]![7] = Number.NaN;
  if (mod === "inf") x[2]![3] = Infinity;
  return x;
}

interface EdgeCase {
  name: string;
  kind: string;
  m: number;
  n: number;
  seed: number;
  mod?: string;
  expected: Record<string, number>;
}

const EDGE_CASES: EdgeCase[] = [
  { name: "const_4x10", kind: "const", m: 4, n: 10, seed: 1,
    expected: { rhat: NaN, rhat_basic: NaN, ess_bulk: NaN, ess_tail: NaN, ess_basic: NaN, ess_mean: NaN, ess_sd: NaN, ess_q05: NaN, ess_q95: NaN, ess_q0: NaN, ess_q100: NaN, mcse_mean: NaN, mcse_sd: NaN, mcse_q05: NaN, mcse_q50: NaN, mcse_q100: NaN, mean: 1.5, sd: 0, q05: 1.5, q50: 1.5, q95: 1.5 } },
  { name: "chainconst_4x10", kind: "chainconst", m: 4, n: 10, seed: 1,
    expected: { rhat: Infinity, rhat_basic: Infinity, ess_bulk: 20, ess_tail: NaN, ess_basic: 20, ess_mean: 20, ess_sd: 20, ess_q05: 20, ess_q95: NaN, ess_q0: 20, ess_q100: NaN, mcse_mean: 0.253184841770917, mcse_sd: 0.1, mcse_q05: 0, mcse_q50: 0.5, mcse_q100: NaN, mean: 2.5, sd: 1.1322770341446, q05: 1, q50: 2.5, q95: 4 } },
  { name: "one_const_chain_4x50", kind: "iid", m: 4, n: 50, seed: 11, mod: "constchain",
    expected: { rhat: 1.53200696357064, rhat_basic: 0.987717048187505, ess_bulk: 207.249618852833, ess_tail: 144.195484177352, ess_basic: 224.114428962697, ess_mean: 224.114428962697, ess_sd: 32.8898714206552, ess_q05: 229.025953989097, ess_q95: 144.195484177352, ess_q0: 218.150087260035, ess_q100: 200.642054574639, mcse_mean: 0.0506568542877536, mcse_sd: 0.0666843411251384, mcse_q05: 0.208946194779128, mcse_q50: 0.0221466852352023, mcse_q100: 0.148339592968114, mean: 0.129518042255426, sd: 0.758355998612484, q05: -1.2276247628429, q50: 0.25, q95: 1.32587298394646 } },
  { name: "nan_4x50", kind: "iid", m: 4, n: 50, seed: 12, mod: "nan",
    expected: { rhat: NaN, rhat_basic: NaN, ess_bulk: NaN, ess_tail: NaN, ess_basic: NaN, ess_mean: NaN, ess_sd: NaN, ess_q05: NaN, ess_q95: NaN, ess_q0: NaN, ess_q100: NaN, mcse_mean: NaN, mcse_sd: NaN, mcse_q05: NaN, mcse_q50: NaN, mcse_q100: NaN, mean: NaN, sd: NaN, q05: NaN, q50: NaN, q95: NaN } },
  { name: "inf_4x50", kind: "iid", m: 4, n: 50, seed: 13, mod: "inf",
    expected: { rhat: 1.00755110550864, rhat_basic: NaN, ess_bulk: 248.275354613058, ess_tail: NaN, ess_basic: NaN, ess_mean: NaN, ess_sd: NaN, ess_q05: NaN, ess_q95: NaN, ess_q0: NaN, ess_q100: NaN, mcse_mean: NaN, mcse_sd: NaN, mcse_q05: NaN, mcse_q50: NaN, mcse_q100: NaN, mean: Infinity, sd: NaN, q05: -1.54995274687884, q50: 0.104955495754257, q95: 1.77274484899826 } },
  { name: "n1_4x1", kind: "iid", m: 4, n: 1, seed: 21,
    expected: { rhat: NaN, rhat_basic: NaN, ess_bulk: NaN, ess_tail: NaN, ess_basic: NaN, ess_mean: NaN, ess_sd: NaN, ess_q05: NaN, ess_q95: NaN, ess_q0: NaN, ess_q100: NaN, mcse_mean: NaN, mcse_sd: NaN, mcse_q05: NaN, mcse_q50: NaN, mcse_q100: NaN, mean: -0.182783534855116, sd: 0.603064567895053, q05: -0.871179188860115, q50: -0.097398380911909, q95: 0.386072903629392 } },
  { name: "n2_4x2", kind: "iid", m: 4, n: 2, seed: 22,
    expected: { rhat: 0.873385420238352, rhat_basic: 0.866159740231372, ess_bulk: 4, ess_tail: 4, ess_basic: 4, ess_mean: 4, ess_sd: 4, ess_q05: 4, ess_q95: 4, ess_q0: 4, ess_q100: 4, mcse_mean: 0.330899275439482, mcse_sd: 0.167238829835581, mcse_q05: 0.207362083927728, mcse_q50: 0.224196646362543, mcse_q100: 0.567516577220522, mean: -0.231368147901958, sd: 0.661798550878965, q05: -0.925642562820576, q50: -0.373064809967764, q95: 0.782647711399477 } },
  { name: "n3_4x3", kind: "iid", m: 4, n: 3, seed: 23,
    expected: { rhat: 1.63225971868263, rhat_basic: 1.54813553691742, ess_bulk: 4, ess_tail: 4, ess_basic: 4, ess_mean: 4, ess_sd: 4, ess_q05: 4, ess_q95: 4, ess_q0: 4, ess_q100: 4, mcse_mean: 0.587459790641563, mcse_sd: 0.255038367410328, mcse_q05: 0.740217594755813, mcse_q50: 1.05680667168926, mcse_q100: 0.616739078564569, mean: -0.300990904227365, sd: 1.17491958128313, q05: -1.9451033451152, q50: 0.0970726156840101, q95: 1.17794015828054 } },
  { name: "n5_4x5", kind: "iid", m: 4, n: 5, seed: 25,
    expected: { rhat: 0.963761232537233, rhat_basic: 0.918728677813956, ess_bulk: NaN, ess_tail: NaN, ess_basic: NaN, ess_mean: NaN, ess_sd: NaN, ess_q05: NaN, ess_q95: NaN, ess_q0: NaN, ess_q100: NaN, mcse_mean: NaN, mcse_sd: NaN, mcse_q05: NaN, mcse_q50: NaN, mcse_q100: NaN, mean: 0.166392304368783, sd: 1.08214526364307, q05: -1.5898151292582, q50: -0.0386312010232359, q95: 1.6471225862042 } },
  { name: "n6_4x6", kind: "iid", m: 4, n: 6, seed: 26,
    expected: { rhat: 1.06282641645931, rhat_basic: 1.02586877485351, ess_bulk: 12, ess_tail: 12, ess_basic: 12, ess_mean: 12, ess_sd: 12, ess_q05: 12, ess_q95: 12, ess_q0: 12, ess_q100: 12, mcse_mean: 0.230475555574536, mcse_sd: 0.153080158302714, mcse_q05: 0.620741632580757, mcse_q50: 0.433291053771973, mcse_q100: 0.28500469555147, mean: 0.106838859547861, sd: 0.798390744315522, q05: -1.47389847805025, q50: 0.270993108907714, q95: 1.10681596182287 } },
  { name: "n7_4x7", kind: "iid", m: 4, n: 7, seed: 27,
    expected: { rhat: 1.3790438626349, rhat_basic: 1.41139455003197, ess_bulk: 12, ess_tail: 12, ess_basic: 12, ess_mean: 12, ess_sd: 12, ess_q05: 12, ess_q95: 12, ess_q0: 12, ess_q100: 12, mcse_mean: 0.249685849647451, mcse_sd: 0.160015410868583, mcse_q05: 0.557504876027815, mcse_q50: 0.209405861259438, mcse_q100: 0.455469463416375, mean: 0.151026959464486, sd: 0.864937155040778, q05: -1.13042694296688, q50: 0.186310124630108, q95: 1.44004066377645 } },
  { name: "n12_2x12", kind: "iid", m: 2, n: 12, seed: 28,
    expected: { rhat: 1.03625527407348, rhat_basic: 0.939393473187855, ess_bulk: 26.0335864573253, ess_tail: 33.1250698010785, ess_basic: 25.9300249311267, ess_mean: 25.9300249311267, ess_sd: 19.3165251997381, ess_q05: 33.1250698010785, ess_q95: 33.1250698010785, ess_q0: 33.1250698010785, ess_q100: 33.1250698010785, mcse_mean: 0.148710438236562, mcse_sd: 0.0904988355004274, mcse_q05: 0.0309041315922514, mcse_q50: 0.184236766281538, mcse_q100: 0.346570908161811, mean: -0.119237638204747, sd: 0.757256344436395, q05: -1.04897995723644, q50: -0.246514689410105, q95: 1.03231974638766 } },
  { name: "single_1x7", kind: "iid", m: 1, n: 7, seed: 29,
    expected: { rhat: 1.06664375912833, rhat_basic: 1.08507752090224, ess_bulk: 3, ess_tail: 3, ess_basic: 3, ess_mean: 3, ess_sd: 3, ess_q05: 3, ess_q95: 3, ess_q0: 3, ess_q100: 3, mcse_mean: 0.539344804515684, mcse_sd: 0.230570732511013, mcse_q05: 0.640673482837156, mcse_q50: 0.931734400684945, mcse_q100: 0.509123790450394, mean: -0.446075311363009, sd: 0.934172604219469, q05: -1.70525107677095, q50: -0.252557190088555, q95: 0.580089555992744 } },
  { name: "single_1x2", kind: "iid", m: 1, n: 2, seed: 30,
    expected: { rhat: NaN, rhat_basic: NaN, ess_bulk: NaN, ess_tail: NaN, ess_basic: NaN, ess_mean: NaN, ess_sd: NaN, ess_q05: NaN, ess_q95: NaN, ess_q0: NaN, ess_q100: NaN, mcse_mean: NaN, mcse_sd: NaN, mcse_q05: NaN, mcse_q50: NaN, mcse_q100: NaN, mean: 0.597639047214761, sd: 0.0540448092126736, q05: 0.563245141240768, q50: 0.597639047214761, q95: 0.632032953188755 } },
  { name: "anti_4x100", kind: "anti", m: 4, n: 100, seed: 31,
    expected: { rhat: 0.999300363629388, rhat_basic: 0.989958405412355, ess_bulk: 1040.82399653119, ess_tail: 449.654946252634, ess_basic: 1040.82399653119, ess_mean: 1040.82399653119, ess_sd: 395.021183792355, ess_q05: 449.654946252634, ess_q95: 449.892111509841, ess_q0: 417.014178482068, ess_q100: 417.014178482068, mcse_mean: 0.0325786484443531, mcse_sd: 0.00144867242825623, mcse_q05: 0.00182538356166329, mcse_q50: 1.00702373436652, mcse_q100: 0.000333873881027125, mean: -0.00185390946769621, sd: 1.05104597029106, q05: -1.09070519815432, q50: 0.000104703637771375, q95: 1.08777147663524 } },
  { name: "disc5_4x101", kind: "disc5", m: 4, n: 101, seed: 32,
    expected: { rhat: 1.00519174501586, rhat_basic: 1.00158855395389, ess_bulk: 381.344502079111, ess_tail: NaN, ess_basic: 370.969370586594, ess_mean: 370.969370586594, ess_sd: 358.936742735311, ess_q05: 482.582799773921, ess_q95: NaN, ess_q0: 482.582799773921, ess_q100: NaN, mcse_mean: 0.0745362747983009, mcse_sd: 0.030269027918983, mcse_q05: 0, mcse_q50: 0, mcse_q100: NaN, mean: 1.94059405940594, sd: 1.43561077812454, q05: 0, q50: 2, q95: 4 } },
  { name: "disc3_3x40", kind: "disc3", m: 3, n: 40, seed: 33,
    expected: { rhat: 1.0040599849364, rhat_basic: 1.00410760474725, ess_bulk: 139.68048437126, ess_tail: NaN, ess_basic: 139.655995650701, ess_mean: 139.655995650701, ess_sd: 211.932129861386, ess_q05: 192.288279078682, ess_q95: NaN, ess_q0: 192.288279078682, ess_q100: NaN, mcse_mean: 0.0680641753612091, mcse_sd: 0.0206479875595607, mcse_q05: 0, mcse_q50: 0, mcse_q100: NaN, mean: 0.991666666666667, sd: 0.804356137241587, q05: 0, q50: 1, q95: 2 } },
  { name: "ar_2x1000", kind: "ar", m: 2, n: 1000, seed: 34,
    expected: { rhat: 1.00342363591085, rhat_basic: 0.99997045275237, ess_bulk: 199.731247590842, ess_tail: 393.184866402897, ess_basic: 200.093489175118, ess_mean: 200.093489175118, ess_sd: 369.122557733643, ess_q05: 393.184866402897, ess_q95: 416.137977512288, ess_q0: 2008.04825741572, ess_q100: 2008.04825741572, mcse_mean: 0.124820880561434, mcse_sd: 0.0645669917161172, mcse_q05: 0.215339743548245, mcse_q50: 0.133830906349946, mcse_q100: 0.108720336384899, mean: 0.0919150263078758, sd: 1.76564634900507, q05: -2.68967846798893, q50: -0.0150291291440304, q95: 3.18275294392301 } },
];

const EDGE_FIELDS: Record<string, (chains: number[][]) => number> = {
  ...FIELDS,
  ess_q0: (c) => essQuantile(c, 0),
  ess_q100: (c) => essQuantile(c, 1),
  mcse_q50: (c) => mcseQuantile(c, 0.5),
  mcse_q100: (c) => mcseQuantile(c, 1),
};

describe("edge cases agree with R posterior 1.4.0", () => {
  for (const c of EDGE_CASES) {
    it(c.name, () => {
      const draws = makeDraws(c.kind, c.m, c.n, c.seed, c.mod);
      for (const [field, fn] of Object.entries(EDGE_FIELDS)) {
        expect(c.expected).toHaveProperty(field);
        expectClose(`${c.name}.${field}`, fn(draws), c.expected[field]!);
      }
    });
  }

  it("antithetic chains hit posterior's ESS cap N log10 N", () => {
    const draws = makeDraws("anti", 4, 100, 31);
    const S = 400;
    expect(essBulk(draws)).toBeCloseTo(S * Math.log10(S), 9);
  });
});

// ---- folded R-hat tie handling -----------------------------------------------------------

describe("folded ranks", () => {
  it("follow R's floating-point steps: median in double, abs(x - median) in double, ties by equality", () => {
    // Four chains of 20 draws (the fourth three times wider) from the LCG above, bit for bit
    // what R makes from the same arithmetic. For these seeds the two draws either side of the
    // even-count median are equidistant from it in exact arithmetic but not after rounding:
    // ranking exactly (as this module did before) gave 1.12956663838185 and 1.29074585599300.
    // Expected values: R 4.2.2, posterior 1.4.0, rhat() on the same draws.
    const expected: Record<number, number> = { 4: 1.13203672750047, 7: 1.2880062813163 };
    for (const [seed, value] of Object.entries(expected)) {
      const u = lcg(Number(seed));
      const draws = Array.from({ length: 4 }, (_, c) =>
        Array.from({ length: 20 }, () => (u() + u() + u() + u() - 2) * 1.7 * (c === 3 ? 3 : 1)),
      );
      expectClose(`seed ${seed} rhat`, rhat(draws), value);
    }
  });
});

// ---- statistical properties ---------------------------------------------------------------

function normals(seed: number): () => number {
  const u = mulberry32(seed);
  return () => {
    const u1 = 1 - u();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u());
  };
}

function iidChains(seed: number, m: number, n: number, shift: (c: number) => number = () => 0): Float64Array[] {
  const z = normals(seed);
  return Array.from({ length: m }, (_, c) => Float64Array.from({ length: n }, () => z() + shift(c)));
}

function ar1Chains(seed: number, m: number, n: number, rho: number): Float64Array[] {
  const z = normals(seed);
  const sdInnov = Math.sqrt(1 - rho * rho);
  return Array.from({ length: m }, () => {
    const ch = new Float64Array(n);
    let prev = z();
    for (let i = 0; i < n; i++) {
      prev = rho * prev + sdInnov * z();
      ch[i] = prev;
    }
    return ch;
  });
}

describe("statistical properties", () => {
  it("well-mixed iid chains: R-hat near 1 and ESS near the draw count", () => {
    for (const seed of [1, 2, 3]) {
      const chains = iidChains(seed, 4, 2000);
      const S = 8000;
      expect(Math.abs(rhat(chains) - 1)).toBeLessThan(0.01);
      expect(Math.abs(rhatBasic(chains) - 1)).toBeLessThan(0.01);
      for (const ess of [essBulk(chains), essBasic(chains), essTail(chains), essSd(chains)]) {
        expect(ess / S).toBeGreaterThan(0.85);
        expect(ess / S).toBeLessThan(1.15);
      }
      // MCSE of the mean of iid N(0, 1) draws is about 1 / sqrt(S).
      expect(mcseMean(chains) * Math.sqrt(S)).toBeGreaterThan(0.9);
      expect(mcseMean(chains) * Math.sqrt(S)).toBeLessThan(1.1);
    }
  });

  it("chains stuck at different locations: R-hat well above 1.01", () => {
    const chains = iidChains(7, 4, 1000, (c) => (c === 0 ? 3 : 0));
    expect(rhat(chains)).toBeGreaterThan(1.2);
    expect(essBulk(chains)).toBeLessThan(100);
  });

  it("AR(1) chains: ESS close to N (1 - rho) / (1 + rho)", () => {
    for (const rho of [0.5, 0.9]) {
      const chains = ar1Chains(11, 4, 5000, rho);
      const expected = (20000 * (1 - rho)) / (1 + rho);
      expect(essBasic(chains) / expected).toBeGreaterThan(0.75);
      expect(essBasic(chains) / expected).toBeLessThan(1.25);
      expect(essBulk(chains) / expected).toBeGreaterThan(0.75);
      expect(essBulk(chains) / expected).toBeLessThan(1.25);
    }
  });
});

// ---- internals -----------------------------------------------------------------------------

function naiveAutocovariance(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  let mu = 0;
  for (let i = 0; i < n; i++) mu += x[i]!;
  mu /= n;
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let s = 0;
    for (let i = 0; i + k < n; i++) s += (x[i]! - mu) * (x[i + k]! - mu);
    out[k] = s / n;
  }
  return out;
}

describe("internals", () => {
  it("FFT autocovariance equals the direct sum", () => {
    const z = normals(5);
    for (const n of [1, 2, 3, 7, 64, 100, 333, 1025]) {
      const x = Float64Array.from({ length: n }, () => z() + 10);
      const fast = autocovariance(x);
      const slow = naiveAutocovariance(x);
      for (let k = 0; k < n; k++) expect(Math.abs(fast[k]! - slow[k]!)).toBeLessThan(1e-12 * slow[0]! + 1e-300);
    }
    expect(Array.from(autocovariance([2, 2, 2]))).toEqual([0, 0, 0]);
  });

  it("direct and FFT lags agree inside the lazy autocovariance", () => {
    const chains = ar1Chains(3, 3, 2000, 0.95);
    const flat = Float64Array.from(chains.flatMap((c) => Array.from(c)));
    const view = splitView(3, 2000);
    const ws = new Workspace();
    const yc = new Float64Array(view.count * view.len);
    const means = new Float64Array(view.count);
    expect(centreSequences(flat, view, yc, means)).toBe(false);
    const direct = new LazyAutocovariance(new Float64Array(view.len), yc, view.count, view.len, ws);
    direct.ensure(7);
    expect(direct.available).toBeLessThan(view.len); // computed by direct sums
    const viaFft = new LazyAutocovariance(new Float64Array(view.len), yc, view.count, view.len, ws);
    viaFft.ensure(view.len - 1);
    expect(viaFft.available).toBe(view.len);
    for (let k = 0; k < 8; k++) {
      expect(Math.abs(direct.acov[k]! - viaFft.acov[k]!)).toBeLessThan(1e-13 * direct.acov[0]!);
    }
  });

  it("qnorm and qbeta invert their distributions", () => {
    expect(qnorm(0.5)).toBe(0);
    expect(qnorm(0.975)).toBeCloseTo(1.959963984540054, 14);
    expect(qnorm(1e-10)).toBeCloseTo(-6.361340902404056, 12);
    expect(qnorm(0)).toBe(-Infinity);
    for (const [a, b] of [
      [1, 1],
      [2.5, 7],
      [200, 3800],
    ] as const) {
      for (const p of [0.1586553, 0.5, 0.8413447]) expect(pbeta(qbeta(p, a, b), a, b)).toBeCloseTo(p, 12);
    }
  });
});

// ---- API behaviour -------------------------------------------------------------------------

describe("API", () => {
  it("rejects ragged chains and probabilities outside [0, 1]", () => {
    expect(() => rhat([[1, 2, 3], [1, 2]])).toThrow(RangeError);
    expect(() => essQuantile([[1, 2, 3]], 1.5)).toThrow(RangeError);
    expect(() => mcseQuantile([[1, 2, 3]], -0.1)).toThrow(RangeError);
    expect(() => quantile([[1, 2, 3]], Number.NaN)).toThrow(RangeError);
  });

  it("returns NaN for empty input", () => {
    for (const fn of Object.values(FIELDS)) expect(fn([])).toBeNaN();
    expect(fn0()).toBeNaN();
    function fn0(): number {
      return essBulk([[], []]);
    }
  });

  it("formats an aligned summary table", () => {
    const rows = summary([
      { name: "mu", chains: iidChains(1, 4, 500) },
      { name: "tau[1]", chains: iidChains(2, 4, 500, (c) => c) },
      { name: "const", chains: [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]] },
    ]);
    const text = formatSummary(rows);
    const lines = text.split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^variable\s+mean\s+sd\s+hdi_3%\s+hdi_97%\s+median\s+mad\s+q5\s+q95\s+mcse_mean\s+mcse_sd\s+ess_bulk\s+ess_tail\s+rhat$/);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[1]!.startsWith("mu ")).toBe(true);
    expect(lines[3]).toMatch(/^const\s+1\.00\s+0\s+1\.00\s+1\.00\s+1\.00\s+0\s+1\.00\s+1\.00\s+NA\s+NA\s+NA\s+NA\s+NA$/);
    expect(formatSummary(summary([{ name: "mu", chains: iidChains(1, 4, 500) }], { hdiProb: 0.9 })).split("\n")[0]).toMatch(/hdi_5%\s+hdi_95%/);
    expect(rows[1]!.rhat).toBeGreaterThan(1.1);
  });
});

describe("HDI, median and MAD", () => {
  // 602 draws in 2 chains; expected values from ArviZ 0.23 (az.hdi) and R 4.2 (median, mad).
  const flat = Array.from({ length: 602 }, (_, i) => Math.sin(i * 1.7) ** 3 * (1 + (i % 7)));
  const chains = [flat.slice(0, 301), flat.slice(301)];

  it("hdi equals ArviZ's (94% by default) and the summary row carries it", () => {
    // (sin is not correctly rounded in every library: compare to 1e-12, not bit for bit)
    const close = (a: [number, number], b: [number, number]) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 12));
    close(hdi(chains), [-5.205601328442336, 5.391157054498608]);
    close(hdi(chains, 0.8), [-3.1741846201138113, 3.1466016399881784]);
    const row = summary([{ name: "x", chains }])[0]!;
    close([row.hdiLower, row.hdiUpper], [-5.205601328442336, 5.391157054498608]);
    expect(row.hdiProb).toBe(0.94);
    expect(summary([{ name: "x", chains }], { hdiProb: 0.8 })[0]!.hdiLower).toBe(hdi(chains, 0.8)[0]);
    expect(hdi([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], 0.5)).toEqual([1, 6]);
    expect(() => hdi(chains, 1)).toThrow(/hdiProb must be in \(0, 1\)/);
    expect(() => summary([{ name: "x", chains }], { hdiProb: 0 })).toThrow(RangeError);
  });

  it("median and mad equal R's", () => {
    const row = summary([{ name: "x", chains }])[0]!;
    expect(row.median).toBeCloseTo(-3.871911163089172e-10, 20);
    expect(row.mad).toBeCloseTo(1.4388418981555171, 14);
    expect(mad(chains)).toBe(row.mad);
    expect(mad([[1, 2, 3, 4, 100]])).toBeCloseTo(1.4826, 15);
    expect(hdi([[1, NaN, 2]])).toEqual([NaN, NaN]);
  });
});

describe("E-BFMI", () => {
  it("matches a hand computation", () => {
    // squared diffs 1 + 4 + 9 = 14; mean 1, squared deviations 1 + 0 + 4 + 1 = 6
    expect(ebfmi([0, 1, 3, 0])).toBeCloseTo(14 / 6, 15);
  });

  it("is about 2 for independent energies and small for a random walk", () => {
    const z = normals(9);
    const iid = Float64Array.from({ length: 20000 }, () => z());
    expect(ebfmi(iid)).toBeGreaterThan(1.9);
    expect(ebfmi(iid)).toBeLessThan(2.1);
    const walk = new Float64Array(20000);
    for (let i = 1; i < walk.length; i++) walk[i] = walk[i - 1]! + z();
    expect(ebfmi(walk)).toBeLessThan(0.01);
  });

  it("is NaN when undefined", () => {
    expect(ebfmi([])).toBeNaN();
    expect(ebfmi([1])).toBeNaN();
    expect(ebfmi([3, 3, 3])).toBeNaN();
  });
});
