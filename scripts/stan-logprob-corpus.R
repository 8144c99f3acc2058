# Stan's log density and gradient at a few unconstrained points of every posteriordb posterior
# vendored in test/stan/posteriordb/, so the Stan front end (stanModel) can be checked against
# Stan itself by `npm run validate:stan`. The sibling of scripts/stan-logprob.R (which does the
# 26 posteriors of test/posteriordb/ at NUTS draws; those fixtures are reused, not redone here).
#
# Usage (from the repository root; R 4.2 with Debian's r-cran-rstan 2.21):
#
#   STAN_PCH_ROOT=$PWD R_MAKEVARS_USER=$PWD/scripts/stan-pch/Makevars \
#     nice -n 19 Rscript scripts/stan-logprob-corpus.R [posterior ...]
#
# Without names: every posterior of test/stan/posteriordb/manifest.json that has neither a
# fixture nor a test/posteriordb/<name>/stan-logprob.json, simplest programs first (no functions
# block, shortest), each program's posteriors together (one compile). Resumable: posteriors whose
# fixture exists are skipped.
#
# Writes test/stan/posteriordb/fixtures/<posterior>.json:
#
#   { "posterior", "model", "data", "stan_version", "rstan_program", "method",
#     "points": [ { "upars": [...], "log_prob": number, "gradient": [...] } ] }
#
# or, when rstan 2.21 cannot compile or evaluate the posterior, <posterior>.failed.json with
# { "posterior", "model", "stage", "message" }.
#
# The points: n_points draws of Stan's default initialisation, uniform(-2, 2) on every
# unconstrained coordinate (seeded by the posterior's name); a draw whose log density or gradient
# is not finite is redrawn (up to 100 times, halving the range every 25 draws). Where fewer than
# n_points of those are finite (sir), the points are evenly spaced draws of a short NUTS run
# (init_r = 0.5, or from a point given in `nuts_inits`) instead, and `method` says so. Only differences of log_prob between points are
# meaningful: `~` statements drop constants.
#
# rstan_program: "converted" when scripts/old-array-syntax.R rewrote `array[N] real y` into
# 2.21's `real y[N]` (posteriordb's programs need Stan >= 2.26), "as is" when the program had no
# new-style arrays. Compile time: ~30 s of CPU per program with -O2; scripts/stan-pch/ (a
# precompiled header and -O0) halves it.

suppressPackageStartupMessages(library(rstan))
source("scripts/old-array-syntax.R")

boost_lib <- "/usr/include"
root <- "test/stan/posteriordb"
if (!dir.exists(root)) stop("run from the repository root (", root, " not found)")
out_dir <- file.path(root, "fixtures")
dir.create(out_dir, showWarnings = FALSE)
n_points <- 4

manifest <- jsonlite::fromJSON(file.path(root, "manifest.json"), simplifyVector = TRUE)$posteriors
read_code <- function(model) paste(readLines(file.path(root, "models", paste0(model, ".stan"))), collapse = "\n")

args <- commandArgs(trailingOnly = TRUE)
if (length(args) > 0) {
  todo <- args
} else {
  done <- function(p) {
    file.exists(file.path(out_dir, paste0(p, ".json"))) || file.exists(file.path(out_dir, paste0(p, ".failed.json"))) ||
      file.exists(file.path("test/posteriordb", p, "stan-logprob.json"))
  }
  m <- manifest[!vapply(manifest$posterior, done, TRUE) & manifest$data_vendored, ]
  score <- vapply(m$model, function(model) {
    code <- read_code(model)
    nchar(code) + 3000 * grepl("functions\\s*\\{", code) + 10000 * grepl("ode_|integrate_|algebra_solver", code)
  }, 0)
  todo <- m$posterior[order(score, m$model)]
}

# ---------- JSON with full double precision ----------

num <- function(x) {
  ifelse(is.finite(x), sprintf("%.17g", x), ifelse(is.na(x), "NaN", ifelse(x > 0, "Infinity", "-Infinity")))
}
json_value <- function(v) {
  if (is.list(v)) {
    if (!is.null(names(v))) {
      inner <- vapply(names(v), function(n) paste0("\"", n, "\": ", json_value(v[[n]])), "")
      return(paste0("{", paste(inner, collapse = ", "), "}"))
    }
    return(paste0("[", paste(vapply(v, json_value, ""), collapse = ", "), "]"))
  }
  if (is.character(v)) return(jsonlite::toJSON(v, auto_unbox = TRUE))
  if (!is.null(attr(v, "scalar"))) return(num(v))
  paste0("[", paste(num(as.vector(v)), collapse = ", "), "]")
}
scalar <- function(x) structure(x, scalar = TRUE)

# Stan JSON -> rstan's data list: empty arrays come back from jsonlite as list().
read_data <- function(name) {
  con <- gzfile(file.path(root, "data", paste0(name, ".json.gz")))
  on.exit(close(con))
  d <- jsonlite::fromJSON(paste(readLines(con, warn = FALSE), collapse = "\n"), simplifyVector = TRUE)
  lapply(d, function(v) if (is.list(v) && length(v) == 0) numeric(0) else v)
}

compiled <- list()
compile_code <- function(code) {
  if (is.null(compiled[[code]])) {
    compiled[[code]] <<- stan_model(model_code = code, boost_lib = boost_lib, verbose = FALSE)
  }
  compiled[[code]]
}

fail <- function(name, model, stage, e) {
  msg <- conditionMessage(e)
  writeLines(json_value(list(posterior = name, model = model, stage = stage, message = msg)),
             file.path(out_dir, paste0(name, ".failed.json")))
  message(name, ": FAILED at ", stage, ": ", substr(msg, 1, 300))
}

# n_points evenly spaced draws of a short NUTS run (init_r = 0.5), as unconstrained points with
# Stan's log density and gradient there.
# Where Stan's random inits fail too (sir: every chain's initialisation failed at init_r = 0.5),
# the run starts from a rounded point near the posterior, found with bayests' own sampler
# (1 chain of 300 + 300 from random inits: beta 1.02, gamma 0.199, xi 10.5, delta 0.356).
nuts_inits <- list("sir-sir" = list(beta = 1, gamma = 0.2, xi = 10, delta = 0.35))
nuts_points <- function(name, sm, fit, data) {
  init <- if (is.null(nuts_inits[[name]])) "random" else list(nuts_inits[[name]])
  capture.output(run <- sampling(sm, data = data, chains = 1, iter = 600, warmup = 300, init = init, init_r = 0.5, seed = 4711, refresh = 0))
  draws <- as.matrix(run)
  draws <- draws[, colnames(draws) != "lp__", drop = FALSE]
  pars <- setdiff(run@model_pars, "lp__")
  skeleton <- rstan:::create_skeleton(pars, run@par_dims[pars])
  rows <- round(seq(1, nrow(draws), length.out = n_points + 2))[2:(n_points + 1)]
  lapply(rows, function(r) {
    upars <- unconstrain_pars(fit, rstan:::rstan_relist(draws[r, ], skeleton))
    lp <- log_prob(fit, upars, adjust_transform = TRUE, gradient = TRUE)
    g <- attr(lp, "gradient")
    if (!is.finite(lp) || !all(is.finite(g))) stop("a NUTS draw of ", name, " has a non-finite log density")
    list(upars = upars, log_prob = scalar(as.numeric(lp)), gradient = as.vector(g))
  })
}

run_one <- function(name) {
  entry <- manifest[manifest$posterior == name, ]
  if (nrow(entry) != 1) stop("no posterior ", name, " in the manifest")
  original <- read_code(entry$model)
  code <- old_array_syntax(original)
  t0 <- Sys.time()
  sm <- tryCatch(compile_code(code), error = function(e) { fail(name, entry$model, "compile", e); NULL })
  if (is.null(sm)) return(invisible())
  t1 <- Sys.time()
  fit <- tryCatch({
    data <- read_data(entry$data)
    capture.output(f <- sampling(sm, data = data, chains = 0))
    get_num_upars(f) # fails when the data did not fit the data block
    f
  }, error = function(e) { fail(name, entry$model, "data", e); NULL })
  if (is.null(fit)) return(invisible())
  n <- get_num_upars(fit)
  set.seed(sum(utf8ToInt(name)) * 7919 %% 2147483647)
  points <- list()
  tries <- 0
  tries_finite <- 0
  while (length(points) < n_points && tries < 100) {
    range <- 2 / 2^(tries %/% 25)
    tries <- tries + 1
    upars <- runif(n, -range, range)
    lp <- tryCatch(suppressWarnings(log_prob(fit, upars, adjust_transform = TRUE, gradient = TRUE)),
                   error = function(e) NA)
    g <- attr(lp, "gradient")
    if (is.finite(lp) && !is.null(g) && all(is.finite(g))) {
      tries_finite <- tries_finite + 1
      points[[length(points) + 1]] <- list(upars = upars, log_prob = scalar(as.numeric(lp)), gradient = as.vector(g))
    }
  }
  method <- paste("log_prob(fit, upars, adjust_transform = TRUE, gradient = TRUE) at", n_points,
                  "draws of uniform(-2, 2) per unconstrained coordinate (Stan's default initialisation)")
  if (length(points) < n_points) {
    # Too few finite initial draws (sir: an ODE that overflows for most random parameters):
    # the points are draws of a short NUTS run instead, which stay where the density is finite.
    points <- tryCatch(nuts_points(name, sm, fit, data), error = function(e) { message(name, ": NUTS points failed: ", conditionMessage(e)); list() })
    if (length(points) < n_points) {
      fail(name, entry$model, "points", simpleError(sprintf("only %d of 100 initial draws had a finite log density and gradient", tries_finite)))
      return(invisible())
    }
    method <- paste("log_prob(fit, upars, adjust_transform = TRUE, gradient = TRUE) at", n_points,
                    "evenly spaced draws of a short NUTS run (1 chain, 300 + 300, seed 4711, from",
                    if (is.null(nuts_inits[[name]])) "random inits with init_r = 0.5):" else "the point in nuts_inits):",
                    "fewer than", n_points, "of 100 draws of Stan's default initialisation were finite")
  }
  out <- list(
    posterior = name, model = entry$model, data = entry$data,
    stan_version = paste("rstan", packageVersion("rstan"), "StanHeaders", packageVersion("StanHeaders")),
    rstan_program = if (identical(code, original)) "as is" else "converted",
    method = method,
    points = points
  )
  writeLines(json_value(out), file.path(out_dir, paste0(name, ".json")))
  message(sprintf("%s: compile %.0fs, %d upars, lp %s", name, as.numeric(t1 - t0, units = "secs"), n,
                  paste(sprintf("%.6g", vapply(points, function(p) as.numeric(p$log_prob), 0)), collapse = " ")))
}

message(length(todo), " posteriors to do")
for (name in todo) {
  tryCatch(run_one(name), error = function(e) message(name, ": FAILED: ", conditionMessage(e)))
}
