/**
 * The guide's site (VitePress, DECISIONS.md D114). Its pages and their order come from
 * docs/pages.mjs; the API reference is TypeDoc's HTML, built into docs/public/api by
 * `npm run docs` (scripts/build-docs.mjs) and linked from the navigation bar.
 */
import { defineConfig } from "vitepress";
import { guidePages } from "../pages.mjs";

const link = (file: string) => `/${file.replace(/\.md$/, "")}`;

export default defineConfig({
  title: "@bayests/runtime",
  description: "Bayesian models in TypeScript: compiled log-densities, Stan-grade NUTS, supervised multi-chain runs.",
  cleanUrls: false,
  // Pages outside the guide that VitePress should not build.
  srcExclude: ["api/**", "README.md"],
  themeConfig: {
    nav: [
      { text: "Guide", link: "/guide/" },
      { text: "API reference", link: "/api/index.html", target: "_self" },
    ],
    sidebar: [
      {
        text: "Guide",
        items: [{ text: "Contents", link: "/guide/" }, ...guidePages.map((p) => ({ text: p.title, link: link(p.file) }))],
      },
      { text: "Reference", items: [{ text: "API (TypeDoc)", link: "/api/index.html", target: "_self" }] },
    ],
    outline: { level: [2, 3] },
    search: { provider: "local" },
  },
  markdown: { lineNumbers: false },
});
