// A fingerprint of every ODE model's results, to show that a change to the solvers or their
// generated code leaves them the same to the bit (DECISIONS.md D233, D234): for each model, the
// log density (gradient pass and value pass), the gradient and constrain at 40 fixed
// pseudo-random points, hashed. Run it on two builds and diff the outputs:
//
//   node scripts/ode-results-hash.mjs [dist folder, default ./dist] > new.txt
//   node scripts/ode-results-hash.mjs /path/to/other/checkout/dist > old.txt; diff old.txt new.txt
//
// Models: the builder's lotka_volterra (rk45, ckrk, bdf, adams at 1e-6 and as the program) and
// one_comp_mm_elim_abs (bdf, rk45), and the Stan programs of posteriordb's four ODE posteriors.
// Data are read from this checkout, so both builds see the same.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = resolve(process.argv[2] ?? join(root, "dist"));
const load = (path) => import(pathToFileURL(join(dist, path)).href);
const { compile, stanModel } = await load("src/index.js");
const { lotkaVolterra } = await load("bench/ode-models.js");
const { oneCompMmElimAbsOde } = await load("test/posteriordb/models.js");
const corpus = await load("test/stan/corpus.js");
const readJson = (path) => JSON.parse(readFileSync(join(root, path), "utf8"));
const lvData = readJson("bench/ode/lotka_volterra/data.json");
const ocData = readJson("test/posteriordb/one_comp_mm_elim_abs-one_comp_mm_elim_abs/data.json");

const models = {};
for (const method of ["rk45", "ckrk", "bdf", "adams"]) models[`lotka_volterra ${method} 1e-6`] = compile(lotkaVolterra(lvData, { method, rtol: 1e-6, atol: 1e-6, maxSteps: 1e6 }));
models["lotka_volterra as the program"] = compile(lotkaVolterra(lvData));
for (const method of ["bdf", "rk45"]) models[`one_comp_mm_elim_abs ${method}`] = compile(oneCompMmElimAbsOde(ocData, { method }));
const manifest = corpus.loadManifest();
for (const name of ["soil_carbon-soil_incubation", "sir-sir", "hudson_lynx_hare-lotka_volterra", "one_comp_mm_elim_abs-one_comp_mm_elim_abs"]) {
  const entry = manifest.find((p) => p.posterior === name);
  models[`stan ${name}`] = compile(stanModel(corpus.programSource(entry.model), corpus.dataText(entry.data), { file: corpus.programPath(entry.model), onWarning: () => undefined }));
}

// A fixed linear congruential sequence: the same points on every build.
let seed = 12345;
const uniform = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
for (const [name, ld] of Object.entries(models)) {
  const hash = createHash("sha256");
  let notFinite = 0;
  for (let k = 0; k < 40; k++) {
    // Half the points near the origin of the unconstrained space, half as far as Stan's inits go.
    const q = Float64Array.from({ length: ld.dim }, () => (uniform() * 4 - 2) * (k < 20 ? 0.3 : 1));
    const g = new Float64Array(ld.dim);
    const lp = ld.logDensityGradient(q, g);
    if (!Number.isFinite(lp)) notFinite++;
    hash.update(new Float64Array([lp, ld.logDensity(q), ...g]));
    hash.update(Float64Array.from(ld.constrain(q)));
  }
  console.log(`${name.padEnd(60)} ${hash.digest("hex").slice(0, 16)} (${notFinite} of 40 points not finite)`);
}
