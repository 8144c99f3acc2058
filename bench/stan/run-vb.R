# rstan's ADVI (vb) on one posterior of test/posteriordb, for bench/approx.ts (`npm run bench:approx`).
#
#   Rscript bench/stan/run-vb.R <posterior> <seed> <out.json> [--recompile]
#
# Run from the repository root. Compiles test/posteriordb/<posterior>/model.stan (rewritten to
# rstan 2.21's array syntax as scripts/stan-logprob.R does), or loads it from bench/stan/.cache/
# (keyed by an MD5 of the program text and the rstan and R versions, as bench/stan/run-stan.R),
# then runs, for algorithm in meanfield and fullrank,
#
#   vb(sm, data, algorithm = algorithm, seed = <seed>)     (rstan 2.21's defaults: iter 10000,
#       grad_samples 1, elbo_samples 100, eta adaptation over 100, 10, 1, 0.1, 0.01 with
#       adapt_iter 50, tol_rel_obj 0.01, eval_elbo 100, output_samples 1000)
#
# and writes <out.json>: versions, compile { seconds, cached }, and per algorithm
# { seconds (vb() wall time), eta_trials, iterations, converged, gradients, log_densities,
#   means: { <flat name>: mean of the output draws }, error (when vb failed) }.
# Gradient and log-density counts come from vb's own log (the eta trials reached, the last
# iteration of the ELBO table): gradients = 50 x trials + iterations; log densities =
# 100 x (1 + trials + iterations / 100) + 1000 output draws.

suppressPackageStartupMessages(library(rstan))

source(file.path("scripts", "old-array-syntax.R"))
source(file.path("bench", "stan", "compile-cache.R"))
source(file.path("bench", "stan", "json.R"))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 3) stop("usage: Rscript bench/stan/run-vb.R <posterior> <seed> <out.json> [--recompile]")
name <- args[1]
seed <- as.integer(args[2])
out <- args[3]
recompile <- "--recompile" %in% args

dir <- file.path("test", "posteriordb", name)
if (!file.exists(file.path(dir, "model.stan"))) stop("no ", file.path(dir, "model.stan"), " (run from the repository root)")
code <- old_array_syntax(paste(readLines(file.path(dir, "model.stan"), warn = FALSE), collapse = "\n"))
versions <- stan_versions()
compiled <- cached_stan_model(code, "pdb", gsub("[^A-Za-z0-9_]", "_", name), recompile)
sm <- compiled$sm
compile_info <- list(seconds = compiled$compile$seconds, cached = compiled$compile$cached)
data <- jsonlite::fromJSON(file.path(dir, "data.json"), simplifyVector = TRUE)

run_one <- function(algorithm) {
  log <- character(0)
  t0 <- Sys.time()
  fit <- tryCatch({
    log <- capture.output(f <- vb(sm, data = data, algorithm = algorithm, seed = seed), type = "output")
    f
  }, error = function(e) e)
  seconds <- as.numeric(Sys.time() - t0, units = "secs")
  if (inherits(fit, "error") || is.null(fit) || fit@mode != 0L) {
    msg <- if (inherits(fit, "error")) conditionMessage(fit) else "vb() returned no draws"
    return(list(seconds = seconds, error = msg))
  }
  adapt <- regmatches(log, regexpr("Iteration: *[0-9]+ / [0-9]+ \\[ *[0-9]+%\\] *\\(Adaptation\\)", log))
  trials <- if (length(adapt) == 0) 0 else max(as.integer(sub("Iteration: *([0-9]+) .*", "\\1", adapt))) / 50
  table_lines <- grep("^(Chain [0-9]+: )? +[0-9]+ +-?[0-9.e+]+ +[0-9.e+-]+ +[0-9.e+-]+", log, value = TRUE)
  iters <- if (length(table_lines) == 0) NA else max(as.integer(sub("^(Chain [0-9]+: )? +([0-9]+) .*", "\\2", table_lines)))
  converged <- any(grepl("ELBO CONVERGED", log))
  arr <- as.matrix(fit) # the output draws (the approximation's mean is kept apart, in fit@sim$est)
  draws <- arr[, setdiff(colnames(arr), "lp__"), drop = FALSE]
  means <- as.list(colMeans(draws))
  list(
    seconds = seconds,
    eta_trials = trials,
    iterations = iters,
    converged = converged,
    gradients = 50 * trials + iters,
    log_densities = 100 * (1 + trials + iters / 100) + nrow(draws),
    means = means
  )
}

res <- list(posterior = name, seed = seed, versions = versions, compile = compile_info, meanfield = run_one("meanfield"), fullrank = run_one("fullrank"))
writeLines(to_json(res), out)
