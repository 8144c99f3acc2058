/**
 * Plots on uPlot (canvas; chosen by measurement, DECISIONS.md D49): a chart is a titled
 * panel with one uPlot whose series are lines or steps; scatter, forest and marks are drawn
 * in uPlot's draw hook on its scales. Each panel publishes what it drew (points, bins) in
 * data- attributes, which the browser tests read.
 */
import uPlot from "uplot";
import type { Theme } from "./theme.js";

export interface SeriesSpec {
  readonly label: string;
  readonly color: string;
  readonly width?: number;
  readonly dash?: number[];
  /** "line" (default), "step" (histograms: values per bin, x = left edges plus the last right edge). */
  readonly kind?: "line" | "step";
  /** A mark at every point (so that a single point shows). */
  readonly markers?: boolean;
  /** Left out of the panel's legend. */
  readonly noLegend?: boolean;
}

export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly width: number;
  readonly height: number;
  readonly series: readonly SeriesSpec[];
  readonly xLabel?: string;
  readonly yLabel?: string;
  /** Fixed ranges (otherwise fitted to the data). */
  readonly xRange?: () => [number, number] | null;
  readonly yRange?: () => [number, number] | null;
  /** Drawn under the series (after the background), and over them, in canvas pixels. */
  readonly under?: (u: uPlot) => void;
  readonly over?: (u: uPlot) => void;
  /** Width of the y axis in px (labels of the forest plot). */
  readonly yAxisSize?: number;
  /** y-axis labels at integer positions (forest plot). */
  readonly yTicks?: () => { readonly at: number[]; readonly labels: string[] } | null;
  /** A legend of the series (colour and dash) under the caption. */
  readonly legend?: boolean;
}

export class Chart {
  readonly panel: HTMLElement;
  readonly plot: uPlot;
  private readonly caption: HTMLElement;
  private readonly waiting: HTMLElement;

  constructor(parent: HTMLElement, private readonly spec: ChartSpec, theme: Theme) {
    this.panel = document.createElement("figure");
    this.panel.className = "panel";
    this.panel.id = spec.id;
    this.panel.style.width = `${spec.width}px`; // a long caption is cut, not widening the panel
    this.caption = document.createElement("figcaption");
    this.caption.textContent = spec.title;
    this.panel.appendChild(this.caption);
    if (spec.legend === true) this.panel.appendChild(legend(spec.series.filter((x) => x.noLegend !== true)));
    // Shown instead of empty axes until the plot has something to draw.
    this.waiting = document.createElement("div");
    this.waiting.className = "waiting";
    this.waiting.hidden = true;
    this.panel.appendChild(this.waiting);
    parent.appendChild(this.panel);
    const axis = (label?: string): uPlot.Axis => ({
      stroke: theme.axis,
      grid: { stroke: theme.grid, width: 1 },
      ticks: { stroke: theme.grid, width: 1 },
      font: "11px ui-monospace, monospace",
      labelFont: "11px ui-monospace, monospace",
      ...(label !== undefined ? { label, labelSize: 16 } : {}),
    });
    const yTicks = spec.yTicks;
    const yAxis: uPlot.Axis = yTicks
      ? {
          ...axis(spec.yLabel),
          size: spec.yAxisSize ?? 90,
          splits: () => yTicks()?.at ?? [],
          values: (_u, splits) => splits.map((s) => {
            const t = yTicks();
            const i = t?.at.indexOf(s) ?? -1;
            return i >= 0 ? t!.labels[i]! : "";
          }),
        }
      : axis(spec.yLabel);
    const range = (f: (() => [number, number] | null) | undefined): uPlot.Scale["range"] =>
      f === undefined
        ? undefined
        : (_u, min, max) => {
            const r = f();
            if (r !== null) return r;
            return min === max ? [min - 1, max + 1] : [min, max];
          };
    const xr = range(spec.xRange);
    const yr = range(spec.yRange);
    const opts: uPlot.Options = {
      width: spec.width,
      height: spec.height,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, ...(xr ? { range: xr } : {}) }, y: { ...(yr ? { range: yr } : {}) } },
      axes: [axis(spec.xLabel), yAxis],
      series: [
        {},
        ...spec.series.map((s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 1,
          ...(s.dash ? { dash: s.dash } : {}),
          points: s.markers === true ? { show: true, size: 6, fill: s.color } : { show: false },
          spanGaps: false,
          ...(s.kind === "step" ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
        })),
      ],
      hooks: {
        drawClear: spec.under ? [(u) => spec.under!(u)] : [],
        draw: spec.over ? [(u) => spec.over!(u)] : [],
      },
    };
    this.plot = new uPlot(opts, [[], ...spec.series.map(() => [])] as uPlot.AlignedData, this.panel);
  }

  /** New data (x first, one array per series; null or NaN: a gap) and what was drawn, for the tests. */
  update(data: (ArrayLike<number | null> | number[])[], drawn: Record<string, number>): void {
    this.plot.setData(data as uPlot.AlignedData);
    for (const [k, v] of Object.entries(drawn)) this.panel.dataset[k] = String(v);
  }

  setCaption(text: string): void {
    this.caption.textContent = text;
  }

  /** `text` over the panel instead of its (empty) axes, or null: the plot. */
  setWaiting(text: string | null): void {
    this.waiting.hidden = text === null;
    this.waiting.textContent = text ?? "";
    this.panel.classList.toggle("is-waiting", text !== null);
    this.panel.dataset.waiting = text === null ? "0" : "1";
  }

  destroy(): void {
    this.plot.destroy();
    this.panel.remove();
  }

  get id(): string {
    return this.spec.id;
  }
}

/** Canvas position of a value on a scale (uPlot's, in device pixels). */
export function px(u: uPlot, v: number, scale: "x" | "y"): number {
  return u.valToPos(v, scale, true);
}

/** Small squares at (xs[i], ys[i]) inside the plot area. */
export function drawPoints(u: uPlot, xs: ArrayLike<number>, ys: ArrayLike<number>, color: string, size: number): number {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const s = size * devicePixelRatio;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.fillStyle = color;
  let n = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    ctx.fillRect(px(u, x, "x") - s / 2, px(u, y, "y") - s / 2, s, s);
    n++;
  }
  ctx.restore();
  return n;
}

/** Swatches (colour, dash) and labels of `series`. */
export function legend(series: readonly SeriesSpec[]): HTMLElement {
  const box = document.createElement("div");
  box.className = "legend";
  for (const s of series) {
    const item = document.createElement("span");
    item.className = "legend-item";
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.borderTop = `${Math.max(2, s.width ?? 1)}px ${s.dash ? "dashed" : "solid"} ${s.color}`;
    item.append(swatch, document.createTextNode(s.label));
    box.appendChild(item);
  }
  return box;
}
