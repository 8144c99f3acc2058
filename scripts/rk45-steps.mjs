// Every try of our rk45 (src/ode/erk.ts) on posteriordb's lotka_volterra with sensitivities to
// (y0, theta), in the lines scripts/stan-rk45-steps.cpp prints from Stan's own code, so that
// the two can be diffed step by step (issue 22, DECISIONS.md D225). Needs the build (dist/).
//
//   node scripts/rk45-steps.mjs rtol atol maxSteps theta1..4 z1 z2 t1 ... tN > ours.txt
//   /tmp/stan-rk45-steps    rtol atol maxSteps theta1..4 z1 z2 t1 ... tN > stan.txt
//   diff <(grep ^try ours.txt) <(grep ^try stan.txt)
//
// Lines: `try <tNew> <dt> <err> <accepted>`, then `out <t> <y, dy/dy0 by column, dy/dtheta
// by column>` (Stan's coupled layout, which is ours) at each output time.
import { AugmentedSystem } from "../dist/src/ode/augmented.js";
import { DORMAND_PRINCE, ExplicitWorkspace, integrateExplicit } from "../dist/src/ode/erk.js";
import { OdeOutput } from "../dist/src/ode/output.js";

const args = process.argv.slice(2).map(Number);
if (args.length < 10 || args.some((v) => !Number.isFinite(v))) {
  console.error("usage: node scripts/rk45-steps.mjs rtol atol maxSteps theta1..4 z1 z2 t1 ... tN");
  process.exit(2);
}
const [rtol, atol, maxSteps] = args;
const theta = Float64Array.from(args.slice(3, 7));
const y0 = Float64Array.from(args.slice(7, 9));
const ts = Float64Array.from(args.slice(9));

/** The program's dz_dt and its Jacobian (J_y, J_p), in the operations Stan's reverse pass does. */
const problem = {
  n: 2,
  np: 4,
  rhs(_t, z, p, dz) {
    dz[0] = (p[0] - p[1] * z[1]) * z[0];
    dz[1] = (-p[2] + p[3] * z[0]) * z[1];
  },
  jacobian(_t, z, p, jy, jp) {
    const [u, v] = [z[0], z[1]];
    jy[0] = p[0] - p[1] * v;
    jy[1] = -(u * p[1]);
    jy[2] = v * p[3];
    jy[3] = -p[2] + p[3] * u;
    jp.set([u, -(u * v), 0, 0, 0, 0, -v, v * u]);
  },
};

const sys = new AugmentedSystem(problem, theta, true);
const work = new ExplicitWorkspace(sys.size, DORMAND_PRINCE);
const out = new OdeOutput(2, sys.m);
const y = new Float64Array(ts.length * 2);
const sens = new Float64Array(ts.length * 2 * sys.m);
out.target(y, sens);
const g = (v) => v.toPrecision(17);
work.trace = (tNew, h, err, accepted) => console.log(`try ${g(tNew)} ${g(h)} ${g(err)} ${accepted ? 1 : 0}`);
const failure = integrateExplicit(sys, work, sys.initial(y0, new Float64Array(sys.size)), 0, ts, { rtol, atol, maxSteps }, out);
if (failure !== null) console.log(`failed ${failure.reason} at ${failure.t}`);
else
  for (let i = 0; i < ts.length; i++) {
    const z = [y[2 * i], y[2 * i + 1], ...sens.subarray(i * 2 * sys.m, (i + 1) * 2 * sys.m)];
    console.log(`out ${g(ts[i])} ${z.map(g).join(" ")}`);
  }
