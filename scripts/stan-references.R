# Reference posteriors made with rstan for the censored, truncated and mixture likelihoods
# (issue 10): a Weibull survival regression with right censoring, a normal regression
# truncated to [L, U], and a two-component normal mixture with ordered means (log_mix); and for
# two of posteriordb's ODE posteriors that have no reference there (issue 22):
# hudson_lynx_hare-lotka_volterra and sir-sir.
#
# Usage (from the repository root):
#
#   Rscript scripts/stan-references.R            # simulate the data, sample, write every folder
#   Rscript scripts/stan-references.R NAME ...   # only the named folders
#   STAN_REFERENCES_CORES=1 nice -n 19 Rscript ...  # chains one after another (default: 2 cores)
#
# For each folder of test/stan-references/ it writes:
#   data.json       the data (Stan's JSON data format): simulated here from fixed seeds, or, for
#                   the ODE posteriors, copied from test/stan/posteriordb/data/
#   model.stan      the ODE posteriors only: posteriordb's program, copied from
#                   test/stan/posteriordb/models/ (the others' model.stan is written by hand)
#   reference.json  posteriordb's format: per parameter (Stan's flattened names) the mean, sd
#                   and 5/25/50/75/95% quantiles of the reference draws, and how they were made
# The draws: 10 chains, 2,000 warmup + 20,000 iterations each, thinned by 2 (100,000 draws),
# seed 4711, adapt_delta 0.9; the ODE posteriors (a solve in every gradient) 10 chains of 1,000
# warmup + 6,000 (lotka_volterra) or 5,000 (sir) iterations unthinned, only their parameters
# block kept. The script stops if any chain diverged, R-hat >= 1.01 or bulk ESS < 20,000
# (10,000 for the ODE posteriors; R's posterior package): a reference must be far more precise
# than the runs judged against it.
#
# Then `STAN_LOGPROB_ROOT=test/stan-references Rscript scripts/stan-logprob.R` writes each
# folder's stan-logprob.json (Stan's log_prob and gradient at 5 points).
# Installation notes (Boost headers, array syntax): see scripts/stan-logprob.R.

suppressPackageStartupMessages({
  library(rstan)
  library(posterior)
})
source("scripts/old-array-syntax.R")
source("bench/stan/compile-cache.R")

boost_lib <- "/usr/include"
root <- "test/stan-references"
if (!dir.exists(root)) stop("run from the repository root (", root, " not found)")

num <- function(x) sprintf("%.17g", x)
vec <- function(x) paste0("[", paste(num(x), collapse = ", "), "]")

simulate <- list(
  survival_weibull_censored = function() {
    set.seed(20261110)
    N <- 100
    x <- round(rnorm(N), 4)
    event <- rweibull(N, shape = 1.5, scale = exp(1 + 0.5 * x))
    c <- round(runif(N, 1, 6), 4)
    t <- round(pmin(event, c), 4)
    t[event >= c] <- c[event >= c] # censored: recorded at the censoring time
    t <- pmax(t, 1e-4)
    message(sprintf("survival: %d of %d censored", sum(t >= c), N))
    sprintf('{\n "N": %d,\n "t": %s,\n "x": %s,\n "c": %s\n}', N, vec(t), vec(x), vec(c))
  },
  truncated_normal_regression = function() {
    set.seed(20261111)
    N <- 100
    L <- 0
    U <- 6
    x <- numeric(0)
    y <- numeric(0)
    while (length(y) < N) {
      xi <- round(runif(1, -2, 2), 4)
      yi <- round(2.5 + 1 * xi + rnorm(1, 0, 1.2), 4)
      if (yi > L && yi < U) {
        x <- c(x, xi)
        y <- c(y, yi)
      }
    }
    sprintf('{\n "N": %d,\n "x": %s,\n "L": %s,\n "U": %s,\n "y": %s\n}', N, vec(x), num(L), num(U), vec(y))
  },
  normal_mixture_two = function() {
    set.seed(20261112)
    N <- 200
    z <- runif(N) < 0.35
    y <- round(ifelse(z, rnorm(N, -1, 0.7), rnorm(N, 2, 1)), 4)
    sprintf('{\n "N": %d,\n "y": %s\n}', N, vec(y))
  }
)

# posteriordb posteriors sampled as they are: program and data from test/stan/posteriordb/, only
# the parameters block kept (lotka_volterra's generated quantities are random replicates), and an
# initial point where Stan's random inits are mostly not finite (sir: 3 of 100, see
# scripts/stan-logprob-corpus.R; every chain starts there, the draws after warmup do not depend on it).
vendored <- list(
  "hudson_lynx_hare-lotka_volterra" = list(model = "lotka_volterra", data = "hudson_lynx_hare",
                                           pars = c("theta", "z_init", "sigma"), init = "random", draws = 6000),
  "sir-sir" = list(model = "sir", data = "sir", pars = c("beta", "gamma", "xi", "delta"),
                   init = list(beta = 1, gamma = 0.2, xi = 10, delta = 0.35), draws = 5000)
)

chains <- 10
seed <- 4711
adapt_delta <- 0.9
cores <- as.integer(Sys.getenv("STAN_REFERENCES_CORES", "2"))
# warmup, iterations (warmup included), thinning and the least bulk ESS: 100,000 kept draws and
# ESS 20,000; the ODE posteriors (a solve in every gradient: sir's costs milliseconds in Stan)
# unthinned, `draws` per chain, and ESS 10,000, posteriordb's own standard for its references
# (10,000 draws, ESS near 10,000), so that each run takes tens of CPU minutes, not hours.
sizes <- function(name) {
  v <- vendored[[name]]
  if (is.null(v)) list(warmup = 2000, iter = 22000, thin = 2, min_ess = 20000) else list(warmup = 1000, iter = 1000 + v$draws, thin = 1, min_ess = 10000)
}

stat <- function(v) {
  q <- quantile(v, c(0.05, 0.25, 0.5, 0.75, 0.95), names = FALSE)
  sprintf('{\n   "mean": %s,\n   "sd": %s,\n   "q05": %s,\n   "q25": %s,\n   "q50": %s,\n   "q75": %s,\n   "q95": %s\n  }',
          num(mean(v)), num(sd(v)), num(q[1]), num(q[2]), num(q[3]), num(q[4]), num(q[5]))
}

# Copies a vendored posterior's program and data into its folder; returns its compiled model.
vendor <- function(name, dir) {
  v <- vendored[[name]]
  dir.create(dir, showWarnings = FALSE)
  file.copy(file.path("test", "stan", "posteriordb", "models", paste0(v$model, ".stan")), file.path(dir, "model.stan"), overwrite = TRUE)
  gz <- gzfile(file.path("test", "stan", "posteriordb", "data", paste0(v$data, ".json.gz")), "rt")
  writeLines(readLines(gz, warn = FALSE), file.path(dir, "data.json"))
  close(gz)
  # rstan 2.21 (stanc2) predates `array[N] real y`; the cache is bench/stan's (bench:ode's lotka_volterra).
  code <- old_array_syntax(paste(readLines(file.path(dir, "model.stan"), warn = FALSE), collapse = "\n"))
  cached_stan_model(code, v$model, v$model)$sm
}

run_one <- function(name) {
  dir <- file.path(root, name)
  size <- sizes(name)
  warmup <- size$warmup
  iter <- size$iter
  thin <- size$thin
  v <- vendored[[name]]
  if (is.null(v)) {
    writeLines(simulate[[name]](), file.path(dir, "data.json"))
    sm <- stan_model(file.path(dir, "model.stan"), boost_lib = boost_lib, verbose = FALSE)
  } else {
    sm <- vendor(name, dir)
  }
  data <- jsonlite::fromJSON(file.path(dir, "data.json"), simplifyVector = TRUE)
  pars <- if (is.null(v)) NA else v$pars
  init <- if (is.null(v) || identical(v$init, "random")) "random" else rep(list(v$init), chains)
  message(sprintf("%s: sampling %d chains x (%d + %d) from %s", name, chains, warmup, iter - warmup, format(Sys.time(), "%H:%M:%S")))
  t0 <- Sys.time()
  fit <- sampling(sm, data = data, pars = pars, chains = chains, cores = cores, iter = iter, warmup = warmup, thin = thin,
                  seed = seed, init = init, refresh = 0, control = list(adapt_delta = adapt_delta))
  secs <- as.numeric(Sys.time() - t0, units = "secs")
  draws <- as_draws_df(as.array(fit))
  vars <- setdiff(variables(draws), "lp__")
  sp <- get_sampler_params(fit, inc_warmup = FALSE)
  divergent <- sum(vapply(sp, function(s) sum(s[, "divergent__"]), 0))
  summ <- summarise_draws(subset_draws(draws, variable = vars), "rhat", "ess_bulk", "ess_tail")
  message(sprintf("%s: %.0f s, %d divergent, max R-hat %.4f, min ESS bulk %.0f, tail %.0f", name, secs, divergent,
                  max(summ$rhat), min(summ$ess_bulk), min(summ$ess_tail)))
  if (divergent > 0 || max(summ$rhat) >= 1.01 || min(summ$ess_bulk) < size$min_ess) stop(name, ": reference not good enough")
  pars <- vapply(vars, function(v) sprintf('  "%s": %s', v, stat(as.vector(extract_variable(draws, v)))), "")
  dims <- fit@par_dims[intersect(names(fit@par_dims), unique(sub("\\[.*", "", vars)))]
  dim_json <- paste(vapply(names(dims), function(n) sprintf('  "%s": %d', n, max(1, prod(dims[[n]]))), ""), collapse = ",\n")
  out <- sprintf(paste0(
    '{\n "posterior": "%s",\n "dimensions": {\n%s\n },\n "nchains": %d,\n "ndraws_per_chain": %d,\n',
    ' "reference_method": {\n  "method": "stan_sampling",\n  "software": "rstan %s",\n',
    '  "method_arguments": {"chains": %d, "iter": %d, "warmup": %d, "thin": %d, "seed": %d, "control": {"adapt_delta": %s}},\n',
    '  "diagnostics": {"divergent": %d, "max_rhat": %s, "min_ess_bulk": %s, "min_ess_tail": %s, "seconds": %s}\n },\n',
    ' "parameters": {\n%s\n }\n}'),
    name, dim_json, chains, (iter - warmup) / thin, packageVersion("rstan"), chains, iter, warmup, thin, seed,
    num(adapt_delta), divergent, num(max(summ$rhat)), num(min(summ$ess_bulk)), num(min(summ$ess_tail)), num(secs),
    paste(pars, collapse = ",\n"))
  writeLines(out, file.path(dir, "reference.json"))
}

args <- commandArgs(trailingOnly = TRUE)
todo <- if (length(args) > 0) args else c(names(simulate), names(vendored))
for (name in todo) tryCatch(run_one(name), error = function(e) message(name, ": FAILED: ", conditionMessage(e)))
