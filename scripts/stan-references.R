# Reference posteriors made with rstan for the censored, truncated and mixture likelihoods
# (issue 10): a Weibull survival regression with right censoring, a normal regression
# truncated to [L, U], and a two-component normal mixture with ordered means (log_mix).
#
# Usage (from the repository root):
#
#   Rscript scripts/stan-references.R            # simulate the data, sample, write every folder
#   Rscript scripts/stan-references.R NAME ...   # only the named folders
#
# For each folder of test/stan-references/ (model.stan is written by hand) it writes:
#   data.json       the data, simulated here from fixed seeds (Stan's JSON data format)
#   reference.json  posteriordb's format: per parameter (Stan's flattened names) the mean, sd
#                   and 5/25/50/75/95% quantiles of the reference draws, and how they were made
# The draws: 10 chains, 2,000 warmup + 20,000 iterations each, thinned by 2 (100,000 draws),
# seed 4711, adapt_delta 0.9. The script stops if any chain diverged, R-hat >= 1.01 or bulk
# ESS < 20,000 (R's posterior package): a reference must be far more precise than the runs
# judged against it.
#
# Then `STAN_LOGPROB_ROOT=test/stan-references Rscript scripts/stan-logprob.R` writes each
# folder's stan-logprob.json (Stan's log_prob and gradient at 5 points).
# Installation notes (Boost headers, array syntax): see scripts/stan-logprob.R.

suppressPackageStartupMessages({
  library(rstan)
  library(posterior)
})

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

chains <- 10
warmup <- 2000
iter <- 22000
thin <- 2
seed <- 4711
adapt_delta <- 0.9

stat <- function(v) {
  q <- quantile(v, c(0.05, 0.25, 0.5, 0.75, 0.95), names = FALSE)
  sprintf('{\n   "mean": %s,\n   "sd": %s,\n   "q05": %s,\n   "q25": %s,\n   "q50": %s,\n   "q75": %s,\n   "q95": %s\n  }',
          num(mean(v)), num(sd(v)), num(q[1]), num(q[2]), num(q[3]), num(q[4]), num(q[5]))
}

run_one <- function(name) {
  dir <- file.path(root, name)
  writeLines(simulate[[name]](), file.path(dir, "data.json"))
  data <- jsonlite::fromJSON(file.path(dir, "data.json"), simplifyVector = TRUE)
  sm <- stan_model(file.path(dir, "model.stan"), boost_lib = boost_lib, verbose = FALSE)
  t0 <- Sys.time()
  fit <- sampling(sm, data = data, chains = chains, cores = 2, iter = iter, warmup = warmup, thin = thin,
                  seed = seed, refresh = 0, control = list(adapt_delta = adapt_delta))
  secs <- as.numeric(Sys.time() - t0, units = "secs")
  draws <- as_draws_df(as.array(fit))
  vars <- setdiff(variables(draws), "lp__")
  sp <- get_sampler_params(fit, inc_warmup = FALSE)
  divergent <- sum(vapply(sp, function(s) sum(s[, "divergent__"]), 0))
  summ <- summarise_draws(subset_draws(draws, variable = vars), "rhat", "ess_bulk", "ess_tail")
  message(sprintf("%s: %.0f s, %d divergent, max R-hat %.4f, min ESS bulk %.0f, tail %.0f", name, secs, divergent,
                  max(summ$rhat), min(summ$ess_bulk), min(summ$ess_tail)))
  if (divergent > 0 || max(summ$rhat) >= 1.01 || min(summ$ess_bulk) < 20000) stop(name, ": reference not good enough")
  pars <- vapply(vars, function(v) sprintf('  "%s": %s', v, stat(as.vector(extract_variable(draws, v)))), "")
  dims <- fit@par_dims[setdiff(names(fit@par_dims), "lp__")]
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
todo <- if (length(args) > 0) args else names(simulate)
for (name in todo) tryCatch(run_one(name), error = function(e) message(name, ": FAILED: ", conditionMessage(e)))
