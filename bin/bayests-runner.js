#!/usr/bin/env node
// A runner of a @bayests/runtime cluster: see `bayests-runner --help` and the README.
import("../dist/supervisors/cluster/cli.js").catch((e) => {
  process.stderr.write(`bayests-runner: ${e instanceof Error ? e.message : String(e)} (in a checkout, run npm run build first)\n`);
  process.exit(2);
});
