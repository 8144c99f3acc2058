#!/usr/bin/env node
// Stan programs from the command line: see `bayests --help` and docs/guide/stan.md.
import("../dist/src/cli/run.js").catch((e) => {
  process.stderr.write(`bayests: ${e instanceof Error ? e.message : String(e)} (in a checkout, run npm run build first)\n`);
  process.exit(2);
});
