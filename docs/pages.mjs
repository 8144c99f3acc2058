/**
 * The guide's pages, in the order a user meets them: the one list the site's sidebar, the
 * guide's contents (docs/guide/index.md) and the README's are made from (`npm run docs` writes
 * the two contents; `npm test` checks them).
 *
 * A page being written elsewhere is listed with `pending` (what brings it): the contents name it
 * without a link. When it lands, delete its `pending`. Every gap is an error that names the page
 * (test/docs/pages.test.ts, and `npm run docs` stops): a listed page that does not exist, a
 * pending page that does, a page in docs/guide/ that is not listed.
 */
export const guidePages = [
  { file: "guide/getting-started.md", title: "Getting started" },
  { file: "guide/models.md", title: "Writing models" },
  { file: "guide/stan.md", title: "Stan programs" },
  { file: "guide/sampling.md", title: "Sampling and the runtime" },
  { file: "guide/adaptation.md", title: "Warmup adaptation" },
  { file: "guide/seeing-a-run.md", title: "Seeing a run" },
  { file: "guide/diagnose.md", title: "Diagnosing a run" },
  { file: "guide/checking.md", title: "Checking and comparing fits" },
  { file: "guide/approximations.md", title: "Approximations: Pathfinder, ADVI, SMC" },
  { file: "guide/abc.md", title: "Likelihood-free inference: ABC" },
  { file: "guide/large-data.md", title: "Large data: the tfjs backend" },
  { file: "guide/ode.md", title: "Differential equations" },
  { file: "guide/several-machines.md", title: "Several machines" },
  { file: "guide/cluster-faults.md", title: "Cluster faults, tested" },
  { file: "guide/limits.md", title: "Input rules and limits" },
  { file: "guide/exports.md", title: "Exports: ArviZ and Stan CSV" },
];
