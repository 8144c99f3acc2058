/**
 * The guide documents the package as published: every value the package root exports (function,
 * class, constant, namespace) is named, in backquotes, on some page of the guide (types are in
 * the API reference, `npm run docs`). Moved here from the README's test when the README became short.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import * as api from "../../src/index.js";

const guide = fileURLToPath(new URL("../../docs/guide/", import.meta.url));
const pages = readdirSync(guide)
  .filter((f) => f.endsWith(".md"))
  .map((f) => readFileSync(join(guide, f), "utf8"))
  .join("\n");

test("the guide names every exported function, class, constant and namespace", () => {
  const missing = Object.keys(api).filter((name) => !pages.includes(`\`${name}\``) && !pages.includes(`\`${name}(`) && !pages.includes(`\`${name}.`));
  expect(missing).toEqual([]);
});
