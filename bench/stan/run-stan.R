# One rstan run of a benchmark model, for bench/stan.ts (`npm run bench:stan`).
#
#   Rscript bench/stan/run-stan.R <model> <seed> <out.json> [--recompile] [--adapt-delta D]
#                                 [--max-treedepth N] [--compile-only]
#
# <model> is a benchmark model's name (bench/models/<model>/) or a folder holding model.stan and
# data.json (e.g. test/posteriordb/arK-arK). --adapt-delta / --max-treedepth pass Stan's sampler
# control (defaults 0.8 and 10); --compile-only fills the cache and writes nothing else.
#
# Run from the repository root. Compiles bench/models/<model>/model.stan (or loads the compiled
# model from bench/stan/.cache/, keyed by an MD5 of the program text and the rstan and R
# versions), then runs exactly
#
#   sampling(sm, data, chains = 4, cores = 2, iter = 2000, warmup = 1000, seed = <seed>)
#
# and writes <out.json>:
#
#   versions, compile: { seconds (of the cold compile, measured when the cache entry was made,
#                        or just now), cached (TRUE when loaded from the cache), load_seconds,
#                        compiled_at },
#   wall_seconds (what sampling() took, as a user waits for it, compile excluded),
#   chains: [ { warmup_seconds, sampling_seconds (Stan's own per-chain elapsed times),
#               n_leapfrog_warmup, n_leapfrog, divergent, stepsize (final),
#               draws: { <flat name>: [sampling draws, constrained] } } ]
#
# Every number is written with 17 significant digits.

suppressPackageStartupMessages(library(rstan))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 3) stop("usage: Rscript bench/stan/run-stan.R <model> <seed> <out.json> [--recompile]")
name <- args[1]
seed <- as.integer(args[2])
out <- args[3]
recompile <- "--recompile" %in% args
compile_only <- "--compile-only" %in% args
flag <- function(f, default) {
  i <- match(f, args)
  if (is.na(i)) default else as.numeric(args[i + 1])
}
adapt_delta <- flag("--adapt-delta", 0.8)
max_treedepth <- flag("--max-treedepth", 10)

dir <- if (dir.exists(name)) name else file.path("bench", "models", name)
name <- basename(dir)
if (!file.exists(file.path(dir, "model.stan"))) stop("no ", file.path(dir, "model.stan"), " (run from the repository root)")
source(file.path("scripts", "old-array-syntax.R"))
source(file.path("bench", "stan", "compile-cache.R"))
source(file.path("bench", "stan", "json.R"))
# rstan 2.21 (stanc2) predates the `array[...] T x` declarations of newer posteriordb programs.
code <- old_array_syntax(paste(readLines(file.path(dir, "model.stan"), warn = FALSE), collapse = "\n"))
versions <- stan_versions()
compiled <- cached_stan_model(code, name, name, recompile)
sm <- compiled$sm
compile_info <- compiled$compile

if (compile_only) quit(status = 0)

data <- jsonlite::fromJSON(file.path(dir, "data.json"), simplifyVector = TRUE)

t0 <- Sys.time()
fit <- sampling(sm, data = data, chains = 4, cores = 2, iter = 2000, warmup = 1000, seed = seed, refresh = 0,
                control = list(adapt_delta = adapt_delta, max_treedepth = max_treedepth))
wall <- as.numeric(Sys.time() - t0, units = "secs")

if (fit@mode != 0L) stop("sampling failed (mode ", fit@mode, ")")
elapsed <- get_elapsed_time(fit) # chains x (warmup, sample)
sp <- get_sampler_params(fit, inc_warmup = TRUE)
arr <- as.array(fit) # iterations x chains x parameters, sampling draws only, lp__ last
pars <- setdiff(dimnames(arr)[[3]], "lp__")
nw <- 1000

chains <- lapply(seq_len(dim(arr)[2]), function(c) {
  m <- sp[[c]]
  w <- seq_len(nw)
  s <- (nw + 1):nrow(m)
  draws <- lapply(pars, function(p) as.vector(arr[, c, p]))
  names(draws) <- pars
  list(
    warmup_seconds = elapsed[c, 1],
    sampling_seconds = elapsed[c, 2],
    n_leapfrog_warmup = as.integer(m[w, "n_leapfrog__"]),
    n_leapfrog = as.integer(m[s, "n_leapfrog__"]),
    divergent = as.integer(m[s, "divergent__"]),
    stepsize = m[nrow(m), "stepsize__"],
    draws = draws
  )
})

res <- list(model = name, seed = seed, versions = versions, compile = compile_info, wall_seconds = wall, chains = chains)
writeLines(to_json(res), out)
