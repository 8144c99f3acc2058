/** Colours of the page: dark (true black, warm chain colours, red divergences) and light. */
export type ThemeName = "dark" | "light";

export interface Theme {
  readonly name: ThemeName;
  readonly background: string;
  readonly panel: string;
  readonly text: string;
  readonly muted: string;
  readonly grid: string;
  readonly axis: string;
  /** Shading of the warmup iterations on trace plots. */
  readonly warmup: string;
  readonly divergent: string;
  readonly target: string;
  readonly pooled: string;
  readonly chains: readonly string[];
}

export const THEMES: Record<ThemeName, Theme> = {
  dark: {
    name: "dark",
    background: "#000000",
    panel: "#0b0703",
    text: "#ffb000",
    muted: "#a8741a",
    grid: "#2b1c05",
    axis: "#c98a12",
    warmup: "rgba(255, 176, 0, 0.09)",
    divergent: "#ff1a1a",
    target: "#7fd4ff",
    pooled: "#fff3d6",
    // amber, deep orange, gold, burnt orange, tangerine, then lighter and darker kin
    chains: ["#ffb000", "#ff5f00", "#ffd700", "#cc5500", "#f28500", "#ffcc66", "#b36b00", "#ff8c42"],
  },
  light: {
    name: "light",
    background: "#ffffff",
    panel: "#faf7f2",
    text: "#2b1d0e",
    muted: "#7a6650",
    grid: "#e9e1d6",
    axis: "#5c4a36",
    warmup: "rgba(120, 90, 40, 0.10)",
    divergent: "#d00000",
    target: "#0069a8",
    pooled: "#000000",
    chains: ["#b8860b", "#d2500f", "#8b6d00", "#8b3a0f", "#e07000", "#6b4f1d", "#c47f3a", "#5a2e00"],
  },
};

export function chainColor(theme: Theme, chain: number): string {
  return theme.chains[chain % theme.chains.length]!;
}
