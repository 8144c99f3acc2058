/**
 * The README documents the package as published: imports name `@bayests/runtime`, and every
 * value the package root exports is mentioned (types are in the generated reference, `npm run docs`).
 */
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import * as api from "../src/index.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

test("README imports from @bayests/runtime only", () => {
  const sources = [...readme.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
  expect(sources.length).toBeGreaterThan(0);
  expect(sources.filter((s) => s !== "@bayests/runtime")).toEqual([]);
});

test("README mentions every exported function, class and constant", () => {
  const missing = Object.keys(api).filter((name) => !readme.includes(`\`${name}\``) && !readme.includes(`\`${name}(`));
  expect(missing).toEqual([]);
});
