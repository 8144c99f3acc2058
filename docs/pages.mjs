/**
 * The guide's pages, in the order a user meets them: the one list the site's sidebar, the
 * guide's contents (docs/guide/index.md) and the README's are made from (`npm run docs` writes
 * the two contents; `npm test` checks them). When a page lands, add (or uncomment) its line here.
 * A listed page that does not exist stops `npm run docs`, and a page in docs/guide/ that is not
 * listed fails `npm test` (test/docs/pages.test.ts): no page is silently left out.
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
  // { file: "guide/ode.md", title: "Differential equations" }, // h22's page: uncomment when it lands
  { file: "guide/several-machines.md", title: "Several machines" },
  { file: "guide/cluster-faults.md", title: "Cluster faults, tested" },
  { file: "guide/limits.md", title: "Input rules and limits" },
  { file: "guide/exports.md", title: "Exports: ArviZ and Stan CSV" },
];
