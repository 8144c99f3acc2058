"""Opens an InferenceData file written by @bayests/runtime with ArviZ and compares az.summary and
az.loo with the runtime's own numbers (ours.json); checks the predictive groups written from
priorPredictive / posteriorPredictive (groups, dims, coordinates, values; az.plot_ppc and
az.loo_pit read them); reads the run's Stan CSV files with az.from_cmdstan too. Run by
`npm run check:arviz`.

    python3 scripts/arviz-roundtrip.py eight_schools.nc ours.json

Exit status 0 when every compared number agrees to 1e-9 relative (summary; ESS and R-hat go
through different FFTs) and 1e-10 (LOO with ArviZ's relative efficiency). R-hat folds the draws
around the median as R's posterior and NumPy round it (DECISIONS.md D29), so az.summary's r_hat
is compared as it is.
"""
import json
import sys
import warnings

import matplotlib

matplotlib.use("Agg")  # az.plot_ppc draws into memory: nothing is shown or written

import arviz as az
import matplotlib.pyplot as plt
import numpy as np

path, ours_path = sys.argv[1], sys.argv[2]
ours = json.load(open(ours_path))

idata = az.from_netcdf(path)
print(f"arviz {az.__version__}: az.from_netcdf({path!r})")
print(idata)
for group in idata.groups():
    ds = idata[group]
    print(f"  {group}: " + ", ".join(f"{v}{tuple(ds[v].dims)}" for v in ds.data_vars))

failures = []


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


def check(what, a, b, tol):
    d = rel(a, b)
    status = "ok" if d <= tol else "DIFFERENT"
    if d > tol:
        failures.append(what)
    print(f"  {what:<44} max relative difference {d:.2e}  {status}")


summary = az.summary(idata, round_to="none")
print("\naz.summary (94% HDI):")
with np.printoptions(precision=4):
    print(summary.to_string(float_format=lambda x: f"{x:.4f}"))

rows = {r["name"]: r for r in ours["summary"]}
# ArviZ's row labels: theta[Choate]; ours: theta[1] (Stan's names). Same order within a variable.
ours_rows = [rows[n] for n in rows]
columns = [
    ("mean", "mean"),
    ("sd", "sd"),
    ("hdi_3%", "hdiLower"),
    ("hdi_97%", "hdiUpper"),
    ("mcse_mean", "mcseMean"),
    ("mcse_sd", "mcseSd"),
    ("ess_bulk", "essBulk"),
    ("ess_tail", "essTail"),
    ("r_hat", "rhat"),
]
print("\naz.summary vs ours (every variable):")
assert len(summary) == len(ours_rows), (len(summary), len(ours_rows))
for theirs, mine in columns:
    check(f"summary {theirs}", [r[mine] for r in ours_rows], summary[theirs].values, 1e-9)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    az_loo = az.loo(idata, pointwise=True)
print("\naz.loo:")
print(az_loo)
mine = ours["looArvizReff"]
n = len(mine["pointwise"]["elpdLoo"])
print(f"\naz.loo vs ours (rEff = ArviZ's {ours['arvizReff']:.6f}, one value for all observations, as az.loo takes it):")
check("elpd_loo", mine["elpdLoo"], az_loo["elpd_loo"], 1e-10)
check("p_loo", mine["pLoo"], az_loo["p_loo"], 1e-10)
check("pointwise elpd_loo (loo_i)", mine["pointwise"]["elpdLoo"], az_loo["loo_i"].values, 1e-10)
check("pareto_k", mine["paretoK"], az_loo["pareto_k"].values, 1e-10)
# ArviZ's SE uses the population variance (ddof = 0), R's loo (and ours) the sample variance.
check("se (ArviZ ddof=0 = ours * sqrt((N-1)/N))", mine["seElpdLoo"] * np.sqrt((n - 1) / n), az_loo["se"], 1e-10)
default = ours["loo"]
print(f"\nours with R loo's per-observation r_eff: elpd_loo {default['elpdLoo']:.6f} (ArviZ {az_loo['elpd_loo']:.6f}), "
      f"p_loo {default['pLoo']:.6f}, se {default['seElpdLoo']:.6f}, max |k diff| "
      f"{np.max(np.abs(np.array(default['paretoK']) - az_loo['pareto_k'].values)):.3g}")

# Predictive groups: where ArviZ users look for each variable (PyMC's and from_cmdstan's layout:
# replicated observations and random generated quantities are predictions, parameters are
# prior draws), with the model's dims and coordinates, values equal to the PredictiveDraws'.
EXPECTED = {
    "posterior_predictive": ("posteriorPredictive", {"y": ("school",), "theta_new": ()}),
    "prior": ("priorPredictive", {"mu": (), "tau": (), "theta": ("school",)}),
    "prior_predictive": ("priorPredictive", {"y": ("school",), "theta_new": ()}),
}
print("\npredictive groups (from priorPredictive / posteriorPredictive) vs ours:")
for group, (source, variables) in EXPECTED.items():
    if group not in idata.groups():
        failures.append(f"{group} missing")
        print(f"  {group}: MISSING")
        continue
    ds = idata[group]
    if sorted(ds.data_vars) != sorted(variables):
        failures.append(f"{group} variables")
        print(f"  {group}: variables {sorted(ds.data_vars)}, expected {sorted(variables)}  DIFFERENT")
    for name, dims in variables.items():
        mine = ours[source][name]
        shape = (mine["chains"], mine["draws"], *mine["shape"])
        got = ds[name]
        layout_ok = got.dims == ("chain", "draw", *dims) and got.shape == shape
        if not layout_ok:
            failures.append(f"{group}/{name} layout")
        print(f"  {group + '/' + name:<44} dims {got.dims} shape {got.shape}  {'ok' if layout_ok else 'DIFFERENT'}")
        check(f"{group}/{name} values", got.values.ravel(), mine["values"], 0)
    if "school" in ds.coords and list(ds.coords["school"].values) != ours["schools"]:
        failures.append(f"{group} school coordinates")
        print(f"  {group}: school coordinates {list(ds.coords['school'].values)}  DIFFERENT")

# What az.plot_ppc reads: observed_data's y against the predictive y over the same dims; it
# flattens every dimension but chain and draw and pairs observations element by element.
for group, predictive in [("posterior", idata.posterior_predictive), ("prior", idata.prior_predictive)]:
    same = predictive["y"].dims[2:] == idata.observed_data["y"].dims and bool(
        (predictive["y"].coords["school"] == idata.observed_data["y"].coords["school"]).all()
    )
    ax = az.plot_ppc(idata, group=group, num_pp_samples=50, random_seed=1, show=False)
    lines = len(np.ravel(ax)[0].get_lines())
    plt.close("all")
    status = "ok" if same and lines >= 50 else "DIFFERENT"
    if status != "ok":
        failures.append(f"plot_ppc {group}")
    print(f"  az.plot_ppc(group={group!r}): y {predictive['y'].dims} against observed {idata.observed_data['y'].dims}, {lines} lines  {status}")
pp_samples = az.extract(idata, group="posterior_predictive", var_names="y")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pit = np.asarray(az.loo_pit(idata, y="y"))
pit_ok = pp_samples.dims == ("school", "sample") and pit.shape == (8,) and bool(((pit >= 0) & (pit <= 1)).all())
if not pit_ok:
    failures.append("extract / loo_pit")
print(f"  az.extract(posterior_predictive, y): dims {pp_samples.dims} shape {pp_samples.shape}; az.loo_pit(y='y'): {np.round(pit, 3)}  {'ok' if pit_ok else 'DIFFERENT'}")

# The Stan CSV files of the same run: ArviZ's CmdStan reader with log_lik as the likelihood and
# the replicates written as Stan names them (y_rep, theta_new) as posterior_predictive.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from_csv = az.from_cmdstan(posterior=ours["csv"], log_likelihood="log_lik", posterior_predictive=["y_rep", "theta_new"])
    csv_loo = az.loo(from_csv, pointwise=True)
print(f"\naz.from_cmdstan({len(ours['csv'])} Stan CSV files, log_likelihood='log_lik', posterior_predictive=['y_rep', 'theta_new']): groups {from_csv.groups()}")
check("CSV posterior theta vs netCDF", from_csv.posterior["theta"].values, idata.posterior["theta"].values, 0)
check("CSV log_lik vs netCDF log_likelihood", from_csv.log_likelihood["log_lik"].values, idata.log_likelihood["y"].values, 0)
check("az.loo from CSV vs from netCDF", csv_loo["loo_i"].values, az_loo["loo_i"].values, 1e-12)
check("CSV y_rep vs netCDF posterior_predictive y", from_csv.posterior_predictive["y_rep"].values, idata.posterior_predictive["y"].values, 0)
check("CSV theta_new vs netCDF", from_csv.posterior_predictive["theta_new"].values, idata.posterior_predictive["theta_new"].values, 0)

print("\nall equal" if not failures else f"\nDIFFERENT: {', '.join(failures)}")
sys.exit(1 if failures else 0)
