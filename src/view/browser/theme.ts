/**
 * Colours of the page: dark (true black, amber text, red divergences) and light. Chain colours
 * stay clear of the divergence red and of each other (amber first, then teal, grey, lavender,
 * gold, green, pink, brown): no chain reads as a divergence.
 */
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
    chains: ["#ffb000", "#4fd1c5", "#e6e6e6", "#b39ddb", "#ffe066", "#9ccc65", "#f0a8d0", "#bc9a84"],
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
    chains: ["#b8860b", "#00897b", "#5e35b1", "#455a64", "#7c6a00", "#558b2f", "#8e24aa", "#6d4c41"],
  },
};

export function chainColor(theme: Theme, chain: number): string {
  return theme.chains[chain % theme.chains.length]!;
}
