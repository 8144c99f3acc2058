"""Opens an InferenceData file written by @bayests/runtime with ArviZ and compares az.summary and
az.loo with the runtime's own numbers (ours.json); reads the run's Stan CSV files with
az.from_cmdstan too. Run by `npm run check:arviz`.

    python3 scripts/arviz-roundtrip.py eight_schools.nc ours.json

Exit status 0 when every compared number agrees to 1e-9 relative (summary; ESS and R-hat go
through different FFTs) and 1e-10 (LOO with ArviZ's relative efficiency). R-hat is compared with
ArviZ's own R-hat functions on the draws folded around an exact median (see below).
"""
import json
import sys
import warnings

import arviz as az
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
    print(f"  {what:<34} max relative difference {d:.2e}  {status}")


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
for theirs, mine in columns[:-1]:
    check(f"summary {theirs}", [r[mine] for r in ours_rows], summary[theirs].values, 1e-9)

# R-hat folds the draws around their median. With an even number of draws the two middle draws
# are equally far from it, a tie that ranking keeps only if the median is exact: ours ranks the
# folded draws exactly (src/diagnostics/rank.ts, as the posterior fixtures need); NumPy's
# (a + b) / 2 rounds, which can break the tie, move one rank by 0.5 and R-hat by ~1e-6.
# ArviZ's own R-hat functions with the median exact (extended precision) keep the tie:
from arviz.stats.diagnostics import _rhat, _split_chains, _z_scale


def rhat_tie_kept(x):
    split = _split_chains(x)
    flat = np.sort(split.ravel())
    n = flat.size
    if n % 2 == 0:
        median = (np.longdouble(flat[n // 2 - 1]) + np.longdouble(flat[n // 2])) / 2  # exact
        folded = np.abs(split.astype(np.longdouble) - median).astype(float)
    else:
        folded = np.abs(split - np.median(split))
    return max(_rhat(_z_scale(split)), _rhat(_z_scale(folded)))


tie_kept = []
for var in idata.posterior.data_vars:
    values = idata.posterior[var].values
    flat = values.reshape(values.shape[0], values.shape[1], -1)
    tie_kept += [rhat_tie_kept(flat[:, :, k]) for k in range(flat.shape[2])]
rhat_plain = rel([r["rhat"] for r in ours_rows], summary["r_hat"].values)
print(f"  {'summary r_hat (as az.summary)':<34} max relative difference {rhat_plain:.2e}  (NumPy's median breaks the fold's tie)")
check("summary r_hat (ArviZ, tie kept)", [r["rhat"] for r in ours_rows], tie_kept, 1e-9)

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

# The Stan CSV files of the same run: ArviZ's CmdStan reader with log_lik as the likelihood.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from_csv = az.from_cmdstan(posterior=ours["csv"], log_likelihood="log_lik")
    csv_loo = az.loo(from_csv, pointwise=True)
print(f"\naz.from_cmdstan({len(ours['csv'])} Stan CSV files, log_likelihood='log_lik'): groups {from_csv.groups()}")
check("CSV posterior theta vs netCDF", from_csv.posterior["theta"].values, idata.posterior["theta"].values, 0)
check("CSV log_lik vs netCDF log_likelihood", from_csv.log_likelihood["log_lik"].values, idata.log_likelihood["y"].values, 0)
check("az.loo from CSV vs from netCDF", csv_loo["loo_i"].values, az_loo["loo_i"].values, 1e-12)

print("\nall equal" if not failures else f"\nDIFFERENT: {', '.join(failures)}")
sys.exit(1 if failures else 0)
