// Browser side of the plotting-library measurement (bundled per library by measure.mjs).
// 20 trace plots, 4 chains each, N draws per chain; then frames that append `step` draws
// to every series and redraw everything, as the live dashboard does.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import * as echarts from "echarts";
import * as Plot from "@observablehq/plot";
import vegaEmbed from "vega-embed";

const Q = 20, C = 4, W = 420, H = 140;
const colors = ["#ffb000", "#ff6a00", "#ffd700", "#cc5500"];

function series(n, seed) {
  // AR(1) draws, a cheap stand-in for MCMC traces.
  let s = seed * 9301 + 49297, x = 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 9301 + 49297) % 233280;
    x = 0.7 * x + (s / 233280 - 0.5);
    out[i] = x;
  }
  return out;
}

const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));

function containers() {
  document.body.innerHTML = "";
  return Array.from({ length: Q }, () => {
    const d = document.createElement("div");
    d.style.width = W + "px";
    d.style.height = H + "px";
    document.body.appendChild(d);
    return d;
  });
}

function makeData(n) {
  return Array.from({ length: Q }, (_, q) => Array.from({ length: C }, (_, c) => series(n, q * 10 + c + 1)));
}

const libs = {
  uplot: {
    create(el, xs, ys) {
      const opts = { width: W, height: H, legend: { show: false }, cursor: { show: false }, scales: { x: { time: false } },
        series: [{}, ...ys.map((_, c) => ({ stroke: colors[c], width: 1, points: { show: false } }))] };
      return new uPlot(opts, [xs, ...ys], el);
    },
    update(chart, xs, ys) { chart.setData([xs, ...ys]); },
  },
  echarts: {
    create(el, xs, ys) {
      const chart = echarts.init(el, null, { renderer: "canvas", width: W, height: H });
      this.update(chart, xs, ys);
      return chart;
    },
    update(chart, xs, ys) {
      chart.setOption({ animation: false, grid: { left: 30, right: 5, top: 5, bottom: 20 }, xAxis: { type: "value" }, yAxis: { type: "value" },
        series: ys.map((y, c) => ({ type: "line", showSymbol: false, sampling: "lttb", lineStyle: { width: 1, color: colors[c] }, data: Array.from(y, (v, i) => [xs[i], v]) })) });
    },
  },
  plot: {
    create(el, xs, ys) { this.el = el; return this.update(el, xs, ys); },
    update(el, xs, ys) {
      const n = xs.length, x = new Float64Array(n * C), y = new Float64Array(n * C), z = new Int32Array(n * C);
      ys.forEach((s, c) => { x.set(xs, c * n); y.set(s, c * n); z.fill(c, c * n, (c + 1) * n); });
      const svg = Plot.plot({ width: W, height: H, marks: [Plot.line({ length: n * C }, { x, y, z, stroke: (_, i) => colors[z[i]], strokeWidth: 1 })] });
      el.replaceChildren(svg);
      return el;
    },
  },
  vegalite: {
    async create(el, xs, ys) {
      const values = [];
      ys.forEach((s, c) => s.forEach((v, i) => values.push({ x: xs[i], y: v, c })));
      const spec = { $schema: "https://vega.github.io/schema/vega-lite/v6.json", width: W - 60, height: H - 40, data: { name: "d", values },
        mark: { type: "line", strokeWidth: 1 }, encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, color: { field: "c", type: "nominal", legend: null } } };
      const r = await vegaEmbed(el, spec, { renderer: "canvas", actions: false });
      r.seen = xs.length;
      return r;
    },
    async update(r, xs, ys) {
      const vega = r.view.changeset();
      const add = [];
      ys.forEach((s, c) => { for (let i = r.seen; i < xs.length; i++) add.push({ x: xs[i], y: s[i], c }); });
      r.seen = xs.length;
      await r.view.change("d", vega.insert(add)).runAsync();
    },
  },
};

window.measure = async (name, n, step, frames) => {
  const lib = libs[name];
  const total = n + step * frames;
  const full = makeData(total);
  const xsFull = Float64Array.from({ length: total }, (_, i) => i);
  await frame();
  const t0 = performance.now(); await frame(); const idle = performance.now() - t0;
  const els = containers();
  const t1 = performance.now();
  const charts = [];
  for (let q = 0; q < Q; q++) charts.push(await lib.create(els[q], xsFull.subarray(0, n), full[q].map((s) => s.subarray(0, n))));
  const createSync = performance.now() - t1;
  await frame();
  const create = performance.now() - t1 - idle;
  const updates = [];
  for (let f = 1; f <= frames; f++) {
    const m = n + step * f;
    const t = performance.now();
    for (let q = 0; q < Q; q++) await lib.update(charts[q], xsFull.subarray(0, m), full[q].map((s) => s.subarray(0, m)));
    await frame();
    updates.push(performance.now() - t - idle);
  }
  updates.sort((a, b) => a - b);
  return { name, createSync, create, frameMedian: updates[updates.length >> 1], frameMax: updates[updates.length - 1], idle };
};
