/**
 * The dashboard page: live (frames over a WebSocket from serveDashboard) or a static report
 * (one frame embedded in the file). Draws when a frame changed something, at most once per
 * animation frame: frames that arrive meanwhile are merged into the state, never queued for
 * drawing. Acknowledges each frame so that the server sends the next one.
 */
import "uplot/dist/uPlot.min.css";
import "./style.css";
import type { RunEvent } from "../../../actors/events.js";
import { describeOdeFailures } from "../../ode/types.js";
import type { Frame } from "../dashboard/protocol.js";
import { Chart, drawPoints, legend, px } from "./plots.js";
import { PageState } from "./state.js";
import { extent, finite, hdi, histograms, mean, pooled, rankHistograms } from "./stats.js";
import { chainColor, THEMES, type Theme, type ThemeName } from "./theme.js";

const state = new PageState();
let theme: Theme = THEMES[(document.documentElement.dataset.theme as ThemeName) ?? "dark"] ?? THEMES.dark;
let charts: Chart[] = [];
let selected: number[] = [];
let builtFor = "";
let dirty = false;
let renders = 0;
let connection = "connecting";

interface PageStats {
  frames: number;
  /** Check points the page holds, and the draws per chain of the latest. */
  checkPoints: number;
  checkDraws: number;
  renders: number;
  status: string;
  connection: string;
  events: number;
  dropped: number;
  theme: ThemeName;
}
declare global {
  interface Window {
    __dashboard: PageStats;
  }
}

function publishStats(): void {
  const last = state.diagnostics[state.diagnostics.length - 1];
  window.__dashboard = { frames: state.frames, checkPoints: state.diagnostics.length, checkDraws: last?.draws ?? 0, renders, status: state.status, connection, events: state.events.length, dropped: state.dropped, theme: theme.name };
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};

const fmt = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? "–" : Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(2) : x.toFixed(d));

// ---- page skeleton ------------------------------------------------------------------------

const app = document.getElementById("app")!;
const header = el("header");
const titleEl = el("h1");
const statusEl = el("span", { id: "status", class: "badge" });
const clockEl = el("span", { id: "clock" });
const themeButton = el("button", { id: "theme-toggle", type: "button", title: "dark / light" });
const connectionEl = el("span", { id: "connection" });
const chainLegend = el("span", { id: "chain-legend" });
header.append(titleEl, statusEl, clockEl, connectionEl, chainLegend, themeButton);
const checksSection = el("section", { id: "checks-section" });
const checksList = el("ul", { id: "checks" });
checksSection.append(el("h2", {}, "Checks"), checksList);
const convergence = el("section", { id: "convergence" });
const convergenceNote = el("p", { class: "note" });
const convergencePlots = el("div", { class: "row" });
convergence.append(el("h2", {}, "Convergence over time (R-hat and ESS at each check point, by draws per chain)"), convergenceNote, convergencePlots);
const chainsSection = el("section", { id: "chains" });
const progressTable = el("table", { id: "progress" });
const eventLog = el("ol", { id: "events" });
const chainsRow = el("div", { class: "row" });
const progressBox = el("div", { class: "box" });
progressBox.append(el("h3", {}, "Chains"), progressTable);
const eventsBox = el("div", { class: "box", id: "events-box" });
eventsBox.append(el("h3", {}, "Events"), eventLog);
chainsRow.append(progressBox, eventsBox);
chainsSection.append(chainsRow);
const picker = el("fieldset", { id: "quantities" });
const rows = el("section", { id: "rows" });
const joint = el("section", { id: "joint" });
const tables = el("section", { id: "tables" });
app.append(header, checksSection, convergence, chainsSection, picker, rows, joint, tables);

themeButton.addEventListener("click", () => {
  theme = theme.name === "dark" ? THEMES.light : THEMES.dark;
  document.documentElement.dataset.theme = theme.name;
  try {
    localStorage.setItem("bayests-theme", theme.name);
  } catch {
    // Storage may be unavailable (a file:// report): the choice lasts for this visit.
  }
  builtFor = "";
  schedule();
});
try {
  const saved = localStorage.getItem("bayests-theme");
  if (saved === "dark" || saved === "light") {
    theme = THEMES[saved];
    document.documentElement.dataset.theme = saved;
  }
} catch {
  // No storage: the server's default theme.
}

// ---- drawing ------------------------------------------------------------------------------

function schedule(): void {
  if (dirty) return;
  dirty = true;
  requestAnimationFrame(() => {
    dirty = false;
    render();
  });
}

function pageWidth(): number {
  return Math.max(720, Math.min(document.documentElement.clientWidth - 32, 1800));
}

function buildPicker(): void {
  const meta = state.meta!;
  picker.replaceChildren(el("legend", {}, `Quantities (${meta.names.length} of ${meta.totalQuantities} kept for drawing)`));
  meta.names.forEach((name, k) => {
    const label = el("label");
    const box = el("input", { type: "checkbox", value: String(k) });
    box.checked = selected.includes(k);
    box.addEventListener("change", () => {
      selected = box.checked ? [...selected, k].sort((a, b) => a - b) : selected.filter((x) => x !== k);
      builtFor = "";
      schedule();
    });
    label.append(box, document.createTextNode(` ${name}`));
    picker.appendChild(label);
  });
}

interface Views {
  rhat: Chart;
  ess: Chart;
  quantity: { k: number; trace: Chart; hist: Chart; rank: Chart; acf: Chart }[];
  pair: { i: number; j: number; chart: Chart }[];
  forest: Chart;
  energy: Chart;
}
let views: Views | null = null;
// Data the draw hooks read (set before each setData).
const hookData = {
  divergent: new Map<number, { its: number[]; vals: number[] }>(),
  pair: new Map<string, { xs: number[][]; ys: number[][]; dx: number[]; dy: number[] }>(),
  forest: { rows: [] as { y: number; color: string; mean: number; h50: [number, number]; h94: [number, number]; width: number }[] },
};

function build(): void {
  for (const c of charts) c.destroy();
  charts = [];
  const meta = state.meta!;
  const W = pageWidth();
  const C = meta.chains;
  const chainSeries = (kind?: "line" | "step") => Array.from({ length: C }, (_, c) => ({ label: `chain ${c}`, color: chainColor(theme, c), width: 1.2, ...(kind ? { kind } : {}) }));
  const add = (_parent: HTMLElement, c: Chart) => {
    charts.push(c);
    return c;
  };
  convergencePlots.replaceChildren();
  const es = meta.earlyStop;
  const rhatTarget = es?.rhat ?? 1.01;
  const essTarget = es?.essBulk ?? 100 * meta.chains;
  const half = Math.floor((W - 40) / 2); // two panels: 10 px of padding and border each, 8 px apart
  const rhat = add(
    convergencePlots,
    new Chart(convergencePlots, { id: "rhat", title: "max R-hat", legend: true, width: half, height: 220, xLabel: "draws per chain", series: [{ label: "max R-hat", color: theme.text, width: 2, markers: true }, { label: `target < ${rhatTarget}${es ? "" : " (reference)"}`, color: theme.target, dash: [6, 4] }], yRange: () => {
      const ys = finite(state.diagnostics.map((d) => d.maxRhat ?? NaN));
      return [Math.min(1, ...ys, rhatTarget) - 0.002, Math.max(rhatTarget + 0.01, ...ys) * 1.002];
    } }, theme),
  );
  const ess = add(
    convergencePlots,
    new Chart(convergencePlots, { id: "ess", title: "min bulk / tail ESS", legend: true, width: half, height: 220, xLabel: "draws per chain", series: [{ label: "min bulk ESS", color: theme.text, width: 2, markers: true }, { label: "min tail ESS", color: theme.pooled, width: 2, dash: [3, 3], markers: true }, { label: `target >= ${essTarget}${es ? "" : " (reference)"}`, color: theme.target, dash: [6, 4] }], yRange: () => {
      const ys = finite(state.diagnostics.flatMap((d) => [d.minEssBulk ?? NaN, d.minEssTail ?? NaN]));
      return [0, Math.max(essTarget * 1.2, ...ys) * 1.05];
    } }, theme),
  );

  rows.replaceChildren(el("h2", {}, "Per quantity: trace (warmup shaded, divergences in red), density per chain, rank histograms, autocorrelation"));
  chainLegend.replaceChildren(document.createTextNode("chains:"), ...Array.from({ length: C }, (_, c) => {
    const item = el("span", { class: "chain-chip" });
    const chip = el("span", { class: "chip" });
    chip.style.background = chainColor(theme, c);
    item.append(chip, document.createTextNode(String(c)));
    return item;
  }), (() => {
    const item = el("span");
    const chip = el("span", { class: "chip" });
    chip.style.background = theme.divergent;
    item.append(chip, document.createTextNode("divergent"));
    return item;
  })());
  const wTrace = Math.floor(W * 0.43);
  const wSmall = Math.floor((W - wTrace - 4 * 10 - 3 * 8) / 3);
  const quantity = selected.map((k) => {
    const name = meta.names[k]!;
    const row = el("div", { class: "row quantity" });
    rows.appendChild(row);
    const trace = add(row, new Chart(row, {
      id: `trace-${k}`, title: `${name}: trace`, width: wTrace, height: 170, xLabel: "iteration", series: chainSeries(),
      under: (u) => {
        const w = state.numWarmup;
        if (w <= 0) return;
        const x0 = u.bbox.left;
        const x1 = Math.min(u.bbox.left + u.bbox.width, Math.max(x0, px(u, w, "x")));
        u.ctx.fillStyle = theme.warmup;
        u.ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
      },
      over: (u) => {
        const d = hookData.divergent.get(k);
        if (d === undefined || d.its.length === 0) return;
        drawPoints(u, d.its, d.vals, theme.divergent, 3.5);
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = theme.divergent;
        ctx.lineWidth = devicePixelRatio;
        const bottom = u.bbox.top + u.bbox.height;
        ctx.beginPath();
        for (const it of d.its) {
          const x = px(u, it, "x");
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.moveTo(x, bottom);
          ctx.lineTo(x, bottom - 6 * devicePixelRatio);
        }
        ctx.stroke();
        ctx.restore();
      },
    }, theme));
    const hist = add(row, new Chart(row, { id: `hist-${k}`, title: `${name}: density per chain`, width: wSmall, height: 170, series: chainSeries("step") }, theme));
    const rank = add(row, new Chart(row, { id: `rank-${k}`, title: `${name}: rank histograms (common length)`, width: wSmall, height: 170, xLabel: "rank bin", series: [...chainSeries("step"), { label: "uniform", color: theme.muted, dash: [4, 4] }], yRange: () => null }, theme));
    const acf = add(row, new Chart(row, { id: `acf-${k}`, title: `${name}: autocorrelation, last ${meta.acfWindow} draws`, width: wSmall, height: 170, xLabel: "lag", series: chainSeries(), yRange: () => [-0.2, 1] }, theme));
    return { k, trace, hist, rank, acf };
  });

  joint.replaceChildren(el("h2", {}, "Joint: pair plot (divergent draws in red), forest (mean, 50% and 94% HDI per chain and pooled), energy"));
  const pairRow = el("div", { class: "row" });
  const otherRow = el("div", { class: "row" });
  joint.append(pairRow, otherRow);
  const pairK = selected.slice(0, 4);
  const pair: Views["pair"] = [];
  const size = Math.max(180, Math.min(300, Math.floor((W - 40) / Math.max(1, pairK.length - 1)) - 12));
  const grid = el("div", { id: "pair", class: "pair-grid" });
  grid.style.gridTemplateColumns = `repeat(${Math.max(1, pairK.length - 1)}, ${size}px)`;
  pairRow.appendChild(grid);
  for (let i = 1; i < pairK.length; i++) {
    for (let j = 0; j < pairK.length - 1; j++) {
      if (j >= i) {
        grid.appendChild(el("div"));
        continue;
      }
      const key = `${i}-${j}`;
      const [kx, ky] = [pairK[j]!, pairK[i]!];
      const ranges = () => {
        const d = hookData.pair.get(key);
        return d;
      };
      const chart = new Chart(grid, {
        id: `pair-${key}`, title: `${meta.names[ky]} vs ${meta.names[kx]}`, width: size, height: size, series: [{ label: "", color: "transparent" }],
        over: (u) => {
          const d = ranges();
          if (d === undefined) return;
          let n = 0;
          d.xs.forEach((xs, c) => (n += drawPoints(u, xs, d.ys[c]!, withAlpha(chainColor(theme, c), 0.55), 2)));
          const red = drawPoints(u, d.dx, d.dy, theme.divergent, 4);
          chartOf(`pair-${key}`)?.panel.setAttribute("data-drawn", String(n + red));
        },
      }, theme);
      charts.push(chart);
      pair.push({ i, j, chart });
    }
  }
  const forestH = Math.max(160, 26 * Math.min(selected.length, 16) + 60);
  const forest = add(otherRow, new Chart(otherRow, {
    id: "forest", yAxisSize: 8 + 7 * (Math.max(4, ...selected.map((k) => meta.names[k]!.length)) + 24), title: "forest: mean, 50% and 94% HDI per chain, then pooled", width: Math.floor(W * 0.55), height: forestH, yTicks: () => forestTicks(),
    series: [{ label: "", color: "transparent" }],
    yRange: () => [-0.6, Math.max(1, Math.min(selected.length, 16)) - 0.4],
    over: (u) => {
      const ctx = u.ctx;
      ctx.save();
      for (const r of hookData.forest.rows) {
        const y = px(u, r.y, "y");
        ctx.strokeStyle = r.color;
        ctx.lineWidth = r.width * devicePixelRatio;
        ctx.beginPath();
        ctx.moveTo(px(u, r.h94[0], "x"), y);
        ctx.lineTo(px(u, r.h94[1], "x"), y);
        ctx.stroke();
        ctx.lineWidth = (r.width + 2) * devicePixelRatio;
        ctx.beginPath();
        ctx.moveTo(px(u, r.h50[0], "x"), y);
        ctx.lineTo(px(u, r.h50[1], "x"), y);
        ctx.stroke();
        ctx.fillStyle = r.color;
        ctx.beginPath();
        ctx.arc(px(u, r.mean, "x"), y, 2.5 * devicePixelRatio, 0, 2 * Math.PI);
        ctx.fill();
      }
      ctx.restore();
    },
  }, theme));
  forest.panel.insertBefore(legend([...Array.from({ length: C }, (_, c) => ({ label: `chain ${c}`, color: chainColor(theme, c), width: 2 })), { label: "pooled", color: theme.pooled, width: 3 }]), forest.panel.children[1]!);
  const energy = add(otherRow, new Chart(otherRow, { id: "energy", title: "energy", legend: true, width: Math.floor(W * 0.4), height: 260, xLabel: "energy - mean", series: [{ label: "marginal energy (centred)", color: theme.text, width: 2, kind: "step" }, { label: "energy transitions (change between draws)", color: theme.target, width: 2, kind: "step", dash: [5, 3] }] }, theme));
  views = { rhat, ess, quantity, pair, forest, energy };
  builtFor = `${theme.name}|${selected.join(",")}|${W}|${meta.names.join(",")}`;
}

/** The range holding all but `tail` of the values at each end (a heavy tail would squeeze the histogram). */
function centralRange(values: number[], tail: number): [number, number] {
  if (values.length === 0) return [0, 1];
  const s = [...values].sort((a, b) => a - b);
  const lo = s[Math.floor(tail * (s.length - 1))]!;
  const hi = s[Math.ceil((1 - tail) * (s.length - 1))]!;
  return lo < hi ? [lo, hi] : extent(s);
}

function withAlpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

function chartOf(id: string): Chart | undefined {
  return charts.find((c) => c.id === id);
}

function forestTicks(): { at: number[]; labels: string[] } {
  const meta = state.meta;
  if (meta === null) return { at: [], labels: [] };
  const shown = selected.slice(0, 16);
  const params = state.params;
  return {
    at: shown.map((_, i) => shown.length - 1 - i), // the first quantity on top
    labels: shown.map((k) => {
      const p = params?.[k];
      return `${meta.names[k]}${p ? `  R̂ ${fmt(p.rhat, 3)}  ESS ${fmt(p.essBulk, 0)}` : ""}`;
    }),
  };
}

function update(): void {
  const v = views!;
  const meta = state.meta!;
  const C = meta.chains;
  // Online diagnostics over time.
  const diag = state.diagnostics;
  const dx = diag.map((d) => d.draws);
  const rhatTarget = meta.earlyStop?.rhat ?? 1.01;
  const essTarget = meta.earlyStop?.essBulk ?? 100 * meta.chains;
  const last = diag[diag.length - 1];
  const at = { draws: last?.draws ?? 0 };
  v.rhat.update([dx, diag.map((d) => d.maxRhat), dx.map(() => rhatTarget)], { points: diag.length, ...at });
  v.ess.update([dx, diag.map((d) => d.minEssBulk), diag.map((d) => d.minEssTail), dx.map(() => essTarget)], { points: diag.length, ...at });
  v.rhat.setCaption(last === undefined ? "max R-hat" : `max R-hat: ${fmt(last.maxRhat, 3)} at ${last.draws} draws per chain`);
  v.ess.setCaption(last === undefined ? "min bulk / tail ESS" : `min bulk / tail ESS: ${fmt(last.minEssBulk, 0)} / ${fmt(last.minEssTail, 0)} at ${last.draws} draws per chain`);
  const running = state.status === "running" || state.status === "paused";
  const targets = meta.earlyStop ? "early-stop targets" : running && meta.kind === "live" ? "no early stop: targets for reference" : "reference targets";
  const pageNote = "the dashboard's own check points come from its kept copy of the draws (every k-th draw): R-hat as usual, ESS of those kept draws (a lower bound)";
  convergenceNote.textContent =
    last === undefined
      ? "No check point yet (the first comes once every chain has made `checkEvery` sampling draws)."
      : `${diag.length} check point${diag.length === 1 ? "" : "s"}; the latest at ${last.draws} draws per chain${last.source === "page" ? ` (over every ${last.stride}th draw)` : ""}: max R-hat ${fmt(last.maxRhat, 3)} (< ${rhatTarget}), min bulk ESS ${fmt(last.minEssBulk, 0)}, min tail ESS ${fmt(last.minEssTail, 0)} (>= ${essTarget}; ${targets})${last.converged ? ": targets met" : ""}.${diag.some((d) => d.source === "page") ? ` Without early stop, ${pageNote}.` : ""}`;
  const anySampling = state.samplingDraws(0).some((d) => d.length > 0);
  const waitText = anySampling ? null : "waiting for sampling draws (warmup)";

  // Divergent draws per kept quantity (for the trace marks and the pair plot).
  hookData.divergent.clear();
  const divIts = state.divergent.flatMap((d) => d.iterations);
  for (const q of v.quantity) hookData.divergent.set(q.k, { its: divIts, vals: state.divergent.flatMap((d) => d.values[q.k] ?? []) });

  const maxLen = Math.max(0, ...state.traces.map((t) => t.values[0]?.length ?? 0));
  const xs = Array.from({ length: maxLen }, (_, j) => state.iteration(j));
  for (const q of v.quantity) {
    const ys = state.traces.map((t) => {
      const a = t.values[q.k]!;
      return xs.map((_, j) => (j < a.length && Number.isFinite(a[j]!) ? a[j]! : null));
    });
    const points = ys.reduce((s, y) => s + y.filter((x) => x !== null).length, 0);
    q.trace.update([xs, ...ys], { points, lastIteration: xs.length > 0 ? xs[xs.length - 1]! : 0, divergent: divIts.length });
    const draws = state.samplingDraws(q.k);
    const total = draws.reduce((s, d) => s + d.length, 0);
    for (const c of [q.hist, q.rank, q.acf]) c.setWaiting(waitText);
    const h = histograms(draws, 30, centralRange(draws.flat(), 0.005));
    const bins = h.densities.reduce((s, d) => s + d.filter((x) => x > 0).length, 0);
    q.hist.update([h.edges, ...h.densities.map((d) => [...d, d[d.length - 1] ?? 0])], { bins, total });
    // Ranks over the length every chain has: a chain ahead would otherwise fill more of every bin.
    const lens = draws.map((d) => d.length).filter((n) => n > 0);
    const common = lens.length > 0 ? Math.min(...lens) : 0;
    const r = rankHistograms(draws.map((d) => d.slice(0, common)), 20);
    const rx = Array.from({ length: 21 }, (_, i) => i);
    const perChain = r.counts.map((c) => c.reduce((a, b) => a + b, 0));
    q.rank.update([rx, ...r.counts.map((c) => [...c, c[c.length - 1] ?? 0]), rx.map(() => r.expected)], {
      bins: r.counts.reduce((s, c) => s + c.filter((x) => x > 0).length, 0),
      total: perChain.reduce((a, b) => a + b, 0),
      perChainMin: Math.min(...perChain),
      perChainMax: Math.max(...perChain),
      // The largest departure of a bin from the uniform count, in its binomial standard deviations.
      maxZ: r.expected > 0 ? Math.max(0, ...r.counts.flat().map((x) => Math.abs(x - r.expected) / Math.sqrt(r.expected * (1 - 1 / 20)))) : 0,
    });
    q.rank.setCaption(`${meta.names[q.k]}: rank histograms over ${common} kept draws per chain`);
    const acf = state.acf;
    const lags = Math.max(0, ...(acf?.map((c) => c[q.k]?.length ?? 0) ?? [0]));
    const lx = Array.from({ length: lags }, (_, i) => i);
    q.acf.update([lx, ...Array.from({ length: C }, (_, c) => lx.map((i) => acf?.[c]?.[q.k]?.[i] ?? null))], { lags });
  }

  // Pair plot: thinned sampling draws, divergent ones in red.
  const pairK = selected.slice(0, 4);
  const w = state.numWarmup;
  for (const p of v.pair) {
    const [kx, ky] = [pairK[p.j]!, pairK[p.i]!];
    const d = {
      xs: state.traces.map((t) => t.values[kx]!.filter((_, j) => state.iteration(j) >= w)),
      ys: state.traces.map((t) => t.values[ky]!.filter((_, j) => state.iteration(j) >= w)),
      dx: state.divergent.flatMap((s) => s.values[kx] ?? []),
      dy: state.divergent.flatMap((s) => s.values[ky] ?? []),
    };
    hookData.pair.set(`${p.i}-${p.j}`, d);
    const [x0, x1] = extent([...pooled(d.xs), ...finite(d.dx)]);
    const [y0, y1] = extent([...pooled(d.ys), ...finite(d.dy)]);
    const points = d.xs.reduce((s, a, c) => s + a.filter((x, i) => Number.isFinite(x) && Number.isFinite(d.ys[c]![i]!)).length, 0);
    const divergent = d.dx.filter((x, i) => Number.isFinite(x) && Number.isFinite(d.dy[i]!)).length;
    p.chart.update([[x0, x1], [y0, y1]], { points, divergent });
    p.chart.setWaiting(waitText);
  }

  // Forest.
  const shown = selected.slice(0, 16);
  const rowsF: typeof hookData.forest.rows = [];
  let lo = Infinity;
  let hi = -Infinity;
  shown.forEach((k, i) => {
    const draws = state.samplingDraws(k);
    const y0 = shown.length - 1 - i - 0.35;
    const step = 0.7 / (C + 1);
    draws.forEach((d, c) => {
      if (d.length < 2) return;
      const h94 = hdi(d, 0.94);
      rowsF.push({ y: y0 + c * step, color: chainColor(theme, c), mean: mean(d), h50: hdi(d, 0.5), h94, width: 1 });
      lo = Math.min(lo, h94[0]);
      hi = Math.max(hi, h94[1]);
    });
    const all = draws.flat();
    if (all.length >= 2) rowsF.push({ y: y0 + C * step, color: theme.pooled, mean: mean(all), h50: hdi(all, 0.5), h94: hdi(all, 0.94), width: 2 });
  });
  hookData.forest.rows = rowsF;
  const [f0, f1] = Number.isFinite(lo) ? [lo, hi] : [0, 1];
  v.forest.update([[f0, f1], [0, 0]], { rows: rowsF.length, ...(state.paramsAt ? { draws: state.paramsAt.draws } : {}) });
  v.forest.setWaiting(waitText);
  v.forest.setCaption(`forest: mean, 50% and 94% HDI per chain, then pooled${state.paramsAt ? `; R-hat and bulk ESS at ${state.paramsAt.draws} draws per chain${state.paramsAt.source === "page" ? ` (every ${state.paramsAt.stride}th draw)` : ""}` : ""}`);

  // Energy: centred marginal energy and energy transitions, pooled over chains.
  const energy = state.samplingStat((t) => t.energy);
  const diffs = state.samplingStat((t) => t.energyDiff);
  const centred = energy.flatMap((e) => {
    const m = mean(e);
    return e.map((x) => x - m);
  });
  const dE = diffs.flat();
  const he = histograms([centred, dE], 40);
  const bf = state.ebfmi;
  const lowBfmi = bf.some((b) => b !== null && b < 0.3);
  v.energy.setCaption(`energy; E-BFMI per chain ${bf.map((b) => fmt(b, 2)).join(", ")}${lowBfmi ? " — below 0.3: poor energy exploration" : " (>= 0.3: fine)"}`);
  v.energy.panel.classList.toggle("flag-bad", lowBfmi);
  v.energy.setWaiting(waitText);
  v.energy.update([he.edges, ...he.densities.map((d) => [...d, d[d.length - 1] ?? 0])], { total: centred.length, bins: he.densities.reduce((s, d) => s + d.filter((x) => x > 0).length, 0) });
}

function chainRows(): void {
  const meta = state.meta;
  const head = el("tr");
  for (const h of ["chain", "status", "phase", "progress", "iterations", "divergences", "step size", "grad/draw", "restarts"]) head.appendChild(el("th", {}, h));
  const body: HTMLElement[] = [head];
  const n = meta?.chains ?? state.progress.length;
  for (let c = 0; c < n; c++) {
    const p = state.progress[c] ?? null;
    const tr = el("tr", { class: `chain status-${p?.status ?? "starting"}` });
    const planned = p === null ? 0 : p.numWarmup + p.numDraws;
    const frac = p === null || planned === 0 ? 0 : Math.min(1, p.iteration / planned);
    const barCell = el("td");
    const bar = el("div", { class: "bar" });
    const fill = el("div", { class: "fill" });
    fill.style.width = `${(100 * frac).toFixed(1)}%`;
    fill.style.background = chainColor(theme, c);
    bar.appendChild(fill);
    barCell.appendChild(bar);
    tr.append(
      el("td", {}, String(c)),
      el("td", {}, p?.status ?? "starting"),
      el("td", {}, p?.phase ?? "–"),
      barCell,
      el("td", {}, p === null ? "–" : `${p.iteration} / ${planned}`),
      el("td", { class: p !== null && p.divergences > 0 ? "bad" : "" }, String(p?.divergences ?? 0)),
      el("td", {}, fmt(p?.stepSize, 3)),
      el("td", {}, p === null || p.iteration === 0 ? "–" : (p.gradientEvaluations / p.iteration).toFixed(1)),
      el("td", { class: p !== null && p.restarts > 0 ? "warn" : "" }, String(p?.restarts ?? 0)),
    );
    body.push(tr);
  }
  progressTable.replaceChildren(...body);
}

function describe(e: RunEvent): { text: string; level: "info" | "warn" | "bad" | "good" } {
  switch (e.type) {
    case "run-started":
      return { text: `run started: ${e.chains} chains on ${e.threads} threads, seed ${e.seed}`, level: "info" };
    case "chain-started":
      return { text: `chain ${e.chain} started`, level: "info" };
    case "chunk-failed":
      return { text: `chain ${e.chain} crashed (${e.reason}) in the chunk from iteration ${e.fromIteration} (try ${e.attempt + 1}): ${e.message}`, level: "bad" };
    case "chain-restarted":
      return { text: e.fromIteration >= 0 ? `chain ${e.chain} restarted from its checkpoint at iteration ${e.fromIteration} (restart ${e.attempt})` : `chain ${e.chain} needed ${e.attempt} restart(s)`, level: "warn" };
    case "chain-failed":
      return { text: `chain ${e.chain} FAILED at iteration ${e.atIteration} after ${e.restarts} restarts: ${e.message}`, level: "bad" };
    case "placeholders":
      return { text: `chain ${e.chain}: ${e.count} placeholder ${e.phase} draws from iteration ${e.start}`, level: "bad" };
    case "window-end":
      return { text: `warmup window ${e.window} ended at iteration ${e.iteration}${e.pooled ? ` (metric pooled over chains ${e.chains.join(", ")})` : ""}`, level: "info" };
    case "ode-failures":
      return { text: `chain ${e.chain}: ODE solves failed in ${e.phase} iterations ${e.iteration}..${e.iteration + e.count - 1} (${describeOdeFailures(e.failures)}): those proposals were rejected`, level: "warn" };
    case "metric-kept":
      return { text: `chain ${e.chain} kept its previous metric at iteration ${e.iteration} (${e.count} new one${e.count === 1 ? "" : "s"} not applied: ${e.reason})`, level: "warn" };
    case "warmup-extended":
      return { text: `warmup extended by ${e.by} to ${e.numWarmup} (R-hat of the last window ${fmt(e.maxRhat, 3)})`, level: "warn" };
    case "warmup-ended":
      return { text: `warmup ends at iteration ${e.numWarmup}: the metric stopped moving at ${e.iteration} (change ${fmt(e.change, 3)}, R-hat ${fmt(e.maxRhat, 3)})`, level: "info" };
    case "reparameterised":
      return { text: `parameterisation learned at iteration ${e.iteration}: lambda ${e.lambda.map((l) => fmt(l, 2)).join(", ")}`, level: "info" };
    case "early-stop":
      return { text: `converged: early stop at ${e.draws} draws per chain (max R-hat ${fmt(e.maxRhat, 3)}, min ESS ${fmt(e.minEssBulk, 0)} / ${fmt(e.minEssTail, 0)})`, level: "good" };
    case "pathfinder-init":
      return e.fallback !== null
        ? { text: `Pathfinder gave no inits (${e.fallback}): random inits`, level: "warn" }
        : { text: `chains start from Pathfinder (${e.draws} distinct draws, Pareto k ${fmt(e.paretoK, 2)}, ${e.gradientEvaluations + e.densityEvaluations} evaluations, ${fmt(e.seconds, 2)} s)`, level: "info" };
    case "paused":
      return { text: "paused", level: "warn" };
    case "resumed":
      return { text: "resumed", level: "info" };
    case "aborted":
      return { text: `aborted: ${e.reason}`, level: "warn" };
    case "run-completed":
      return { text: `run ${e.status} in ${fmt(e.seconds, 2)} s`, level: e.status === "failed" ? "bad" : e.status === "aborted" ? "warn" : "good" };
    case "subscriber-error":
      return { text: `a ${e.stream} subscriber threw and was dropped: ${e.message}`, level: "warn" };
    case "cluster-connected":
      return { text: `cluster run ${e.run}: runners ${e.runners.join(", ")}${e.database === null ? "" : ` (database ${e.database})`}`, level: "info" };
    case "chain-placed":
      return { text: `chain ${e.chain} runs on ${e.runner}`, level: "info" };
    case "chain-moved":
      return { text: `chain ${e.chain} moved from ${e.from} to ${e.to}, resumed from its checkpoint at iteration ${e.fromIteration} (${fmt(e.waitedSeconds, 1)} s)`, level: "warn" };
    case "cluster-stats":
      return { text: `cluster: ${e.chunks} chunks, ${fmt(e.requestBytes / Math.max(1, e.chunks), 0)} B request and ${fmt(e.replyBytes / Math.max(1, e.chunks), 0)} B reply per chunk, ${e.moved} moved`, level: "info" };
  }
}

function eventRows(): void {
  // Warmup windows end dozens of times: one line for each run of them (the latest window's).
  const shown: { le: (typeof state.events)[number]; windows: number[] }[] = [];
  for (const le of state.events.slice(-400)) {
    const prev = shown[shown.length - 1];
    if (le.event.type === "window-end" && prev !== undefined && prev.le.event.type === "window-end") {
      prev.windows.push(le.event.window);
      prev.le = le;
    } else shown.push({ le, windows: le.event.type === "window-end" ? [le.event.window] : [] });
  }
  const items = shown
    .slice(-200)
    .reverse()
    .map(({ le, windows }) => {
      const d = describe(le.event);
      const text = windows.length > 1 && le.event.type === "window-end" ? `warmup windows ${windows[0]}-${windows[windows.length - 1]} ended (${windows.length}); the last at iteration ${le.event.iteration}${le.event.pooled ? ", metric pooled over chains" : ""}` : d.text;
      return el("li", { class: `event ${d.level} type-${le.event.type}` }, `${le.t === null ? "     " : `${fmt(le.t, 1)} s`}  ${text}`);
    });
  eventLog.replaceChildren(...items);
}

function checkRows(): void {
  const f = state.findings;
  checksSection.hidden = f === null || f.length === 0;
  if (f === null) return;
  const final = state.summary !== null;
  checksList.replaceChildren(
    el("li", { class: "info" }, final ? "diagnose() of the finished run (the same as formatSummary prints):" : "so far (the final diagnose() comes when the run ends):"),
    ...f.map((x) => el("li", { class: `${x.level} check-${x.check}` }, x.text)),
  );
}

function tableRows(): void {
  const meta = state.meta!;
  tables.replaceChildren();
  if (state.summary !== null) {
    tables.appendChild(el("h2", {}, "Summary"));
    const t = el("table", { id: "summary" });
    const head = el("tr");
    // formatSummary's columns and names.
    const p = state.summary[0]?.hdiProb ?? 0.94;
    const hdiLo = `hdi_${Number((100 * (1 - p) / 2).toPrecision(6))}%`;
    const hdiHi = `hdi_${Number((100 * (1 + p) / 2).toPrecision(6))}%`;
    for (const h of ["variable", "mean", "sd", hdiLo, hdiHi, "median", "mad", "q5", "q95", "mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "rhat"]) head.appendChild(el("th", {}, h));
    t.appendChild(head);
    const essMin = 100 * (meta.chains || 1);
    for (const r of state.summary) {
      const tr = el("tr");
      tr.append(
        el("td", {}, r.name),
        ...[r.mean, r.sd, r.hdiLower, r.hdiUpper, r.median, r.mad, r.q5, r.q95].map((x) => el("td", {}, fmt(x, 3))),
        ...[r.mcseMean, r.mcseSd].map((x) => el("td", {}, fmt(x, 4))),
        el("td", { class: r.essBulk !== null && r.essBulk < essMin ? "warn" : "" }, fmt(r.essBulk, 0)),
        el("td", { class: r.essTail !== null && r.essTail < essMin ? "warn" : "" }, fmt(r.essTail, 0)),
        el("td", { class: r.rhat !== null && r.rhat >= 1.01 ? "bad" : "" }, fmt(r.rhat, 3)),
      );
      t.appendChild(tr);
    }
    tables.appendChild(t);
  } else if (state.params !== null) {
    const at = state.paramsAt;
    tables.appendChild(el("h2", { id: "params-heading" }, `Latest check point: at ${at?.draws ?? "?"} draws per chain${at?.source === "page" ? ` (the dashboard's, over every ${at.stride}th draw)` : ""}, kept quantities`));
    const t = el("table", { id: "params" });
    const head = el("tr");
    for (const h of ["", "R-hat", "ESS bulk", "ESS tail"]) head.appendChild(el("th", {}, h));
    t.appendChild(head);
    const es = meta.earlyStop;
    state.params.forEach((p) => {
      const tr = el("tr");
      tr.append(
        el("td", {}, p.name),
        el("td", { class: p.rhat >= (es?.rhat ?? 1.01) ? "bad" : "" }, fmt(p.rhat, 3)),
        el("td", { class: p.essBulk < (es?.essBulk ?? 100 * meta.chains) ? "warn" : "" }, fmt(p.essBulk, 0)),
        el("td", { class: p.essTail < (es?.essTail ?? 100 * meta.chains) ? "warn" : "" }, fmt(p.essTail, 0)),
      );
      t.appendChild(tr);
    });
    tables.appendChild(t);
  }
}

function render(): void {
  const meta = state.meta;
  themeButton.textContent = theme.name === "dark" ? "light theme" : "dark theme";
  statusEl.textContent = state.status + (meta?.kind === "report" ? " (report)" : "");
  const over = state.status !== "running" && state.status !== "paused";
  connectionEl.textContent =
    connection === "closed"
      ? over
        ? "server stopped: the final state is shown"
        : `disconnected from the server: the last state is shown (at ${fmt(state.elapsedSeconds, 1)} s)`
      : "";
  statusEl.className = `badge status-${state.status}`;
  clockEl.textContent = `${fmt(state.elapsedSeconds, 1)} s${state.dropped > 0 ? ` · ${state.dropped} frames skipped` : ""}`;
  chainRows();
  eventRows();
  checkRows();
  if (meta === null || meta.names.length === 0) {
    publishStats();
    return;
  }
  titleEl.textContent = meta.title;
  document.title = meta.title;
  if (selected.length === 0 || selected.some((k) => k >= meta.names.length)) selected = meta.names.map((_, k) => k).slice(0, 6);
  const key = `${theme.name}|${selected.join(",")}|${pageWidth()}|${meta.names.join(",")}`;
  if (key !== builtFor) {
    buildPicker();
    build();
  }
  update();
  tableRows();
  renders++;
  publishStats();
}

window.addEventListener("resize", () => {
  builtFor = "";
  schedule();
});

// ---- data ---------------------------------------------------------------------------------

function onFrame(f: Frame): void {
  state.apply(f);
  schedule();
}

const embedded = document.getElementById("bayests-data");
if (embedded !== null) {
  connection = "report";
  onFrame(JSON.parse(embedded.textContent ?? "{}") as Frame);
} else {
  const connect = (attempt: number) => {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    ws.onopen = () => {
      connection = "open";
      attempt = 0;
    };
    ws.onmessage = (m) => {
      const f = JSON.parse(String(m.data)) as Frame;
      onFrame(f);
      ws.send(JSON.stringify({ ack: f.seq }));
    };
    ws.onclose = () => {
      connection = "closed";
      schedule();
      // After the end the server has nothing more to send: the page keeps the final state. During
      // the run the server may be gone for good (its process ended): try a few times, then stay put.
      const over = state.status !== "running" && state.status !== "paused";
      if (!over && attempt < 5) setTimeout(() => connect(attempt + 1), 1000 * (attempt + 1));
    };
  };
  connect(0);
}
publishStats();

