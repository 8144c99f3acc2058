# Stan's own log-density at a few posterior points of every posteriordb posterior, so the
# TypeScript translations in test/posteriordb/models.ts can be checked against Stan itself.
#
# Usage (from the repository root):
#
#   Rscript scripts/stan-logprob.R                 # every folder of test/posteriordb/
#   Rscript scripts/stan-logprob.R garch-garch11   # only the named posteriors
#
# Writes test/posteriordb/<name>/stan-logprob.json:
#
#   { "posterior", "stan_version", "method",
#     "points": [ { "values":   { <parameter>: number | [numbers] },  constrained, Stan names
#                   "upars":    [ ... ],   unconstrain_pars(fit, values)
#                   "log_prob": number,    log_prob(fit, upars, adjust_transform = TRUE)
#                   "gradient": [ ... ],   its gradient with respect to upars
#                   "constrained": { ... }, constrain_pars(fit, upars): parameters, transformed
#                                           parameters and generated quantities (matrices and
#                                           2-d arrays as arrays of rows; _rng draws are random)
#                   "log_prob_tight", "constrained_tight"   (ODE model only, see below) } ] }
#
# Takes about 12 minutes: each program needs ~25 s of C++ compilation (nes1972/1980/1992 share one).
#
# The points are 5 draws (evenly spaced) of a short NUTS run (1 chain, seed 4711), so they lie
# in the posterior's typical set and satisfy every constraint. Only differences of log_prob
# between points are meaningful: `~` statements drop constants.
#
# Installation notes (Debian's R 4.2 with r-cran-rstan 2.21.7):
# * Debian's r-cran-bh is a virtual package without BH's include directory, so rstan stops
#   with "Boost not found; call install.packages('BH')". rstan only checks that
#   rstan_options("boost_lib") exists; the Boost headers are in /usr/include (libboost-dev
#   1.74), so every stan_model() call below passes boost_lib = "/usr/include".
# * rstan 2.21's stanc only knows the pre-2.26 array syntax; posteriordb's programs use
#   `array[N] real y`. `old_array_syntax()` rewrites those declarations (`real y[N]`,
#   `real[] y` for unsized function arguments) without changing the program's meaning.
# * one_comp_mm_elim_abs solves its ODE with integrate_ode_bdf at Stan's default tolerances
#   (rtol = atol = 1e-6), so its log_prob is only accurate to about 1e-4. For that model a
#   second program with integrate_ode_rk45(..., 1e-12, 1e-12, 1e8) is compiled as well and
#   its value at the same points is written as log_prob_tight.

suppressPackageStartupMessages(library(rstan))

boost_lib <- "/usr/include"
root <- Sys.getenv("STAN_LOGPROB_ROOT", "test/posteriordb")
if (!dir.exists(root)) stop("run from the repository root (", root, " not found)")

args <- commandArgs(trailingOnly = TRUE)
names_all <- sort(basename(list.dirs(root, recursive = FALSE)))
names_all <- names_all[file.exists(file.path(root, names_all, "model.stan"))]
todo <- if (length(args) > 0) args else names_all

# ---------- Stan 2.26+ array syntax -> rstan 2.21 syntax ----------

source("scripts/old-array-syntax.R")

# Names declared in the `parameters` block (not transformed parameters), in order.
parameter_names <- function(code) {
  code <- gsub("//[^\n]*", "", code)
  code <- gsub("/\\*.*?\\*/", "", code, perl = TRUE)
  # find the first 'parameters {' that is not preceded by 'transformed'
  hits <- gregexpr("(transformed\\s+)?parameters\\s*\\{", code, perl = TRUE)[[1]]
  lens <- attr(hits, "match.length")
  k <- which(!grepl("^transformed", substring(code, hits, hits + lens - 1)))[1]
  i <- hits[k] + lens[k]
  depth <- 1
  j <- i
  while (depth > 0) {
    ch <- substr(code, j, j)
    if (ch == "{") depth <- depth + 1
    if (ch == "}") depth <- depth - 1
    j <- j + 1
  }
  body <- substr(code, i, j - 2)
  decls <- trimws(strsplit(body, ";")[[1]])
  decls <- decls[nzchar(decls)]
  vapply(decls, function(d) {
    d <- sub("\\[[^\\]]*\\]\\s*$", "", d, perl = TRUE) # old-syntax array dims after the name
    ids <- regmatches(d, gregexpr("[A-Za-z_][A-Za-z0-9_]*", d))[[1]]
    ids[length(ids)]
  }, "", USE.NAMES = FALSE)
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
  if (is.character(v)) return(paste0("\"", v, "\""))
  if (!is.null(attr(v, "scalar"))) return(num(v))
  d <- dim(v)
  if (!is.null(d) && length(d) == 2) {
    rows <- vapply(seq_len(d[1]), function(r) paste0("[", paste(num(v[r, ]), collapse = ", "), "]"), "")
    return(paste0("[", paste(rows, collapse = ", "), "]"))
  }
  paste0("[", paste(num(as.vector(v)), collapse = ", "), "]")
}
scalar <- function(x) structure(x, scalar = TRUE)

# Every parameter, transformed parameter and generated quantity at `upars` (Stan's
# write_array); scalars marked for the JSON writer.
constrained <- function(fit, upars) {
  all <- constrain_pars(fit, upars)
  lapply(all, function(v) if (length(dim(v)) == 0 && length(v) == 1) scalar(as.vector(v)) else v)
}

# ---------- per posterior ----------

compiled <- list() # by program text: nes1972/1980/1992 share one program

compile_code <- function(code) {
  key <- code
  if (is.null(compiled[[key]])) {
    compiled[[key]] <<- stan_model(model_code = code, boost_lib = boost_lib, verbose = FALSE)
  }
  compiled[[key]]
}

n_points <- 5

run_one <- function(name) {
  dir <- file.path(root, name)
  code <- old_array_syntax(paste(readLines(file.path(dir, "model.stan")), collapse = "\n"))
  data <- jsonlite::fromJSON(file.path(dir, "data.json"), simplifyVector = TRUE)
  pars <- parameter_names(code)
  t0 <- Sys.time()
  sm <- compile_code(code)
  t1 <- Sys.time()
  fit <- sampling(sm, data = data, chains = 1, iter = 300, warmup = 200, seed = 4711, refresh = 0,
                  control = list(max_treedepth = 8))
  t2 <- Sys.time()
  post <- extract(fit, pars = pars, permuted = TRUE)
  n <- dim(post[[1]])[1]
  # extract(permuted = TRUE) shuffles; the draw index is irrelevant for our purpose.
  iters <- round(seq(1, n, length.out = n_points))

  tight <- NULL
  if (grepl("integrate_ode_bdf", code)) {
    code_tight <- sub("integrate_ode_bdf\\(([^;]*?),\\s*x_i\\)", "integrate_ode_rk45(\\1, x_i, 1e-12, 1e-12, 100000000)", code, perl = TRUE)
    if (identical(code_tight, code)) stop("could not rewrite the ODE call of ", name)
    sm_tight <- compile_code(code_tight)
    tight <- sampling(sm_tight, data = data, chains = 1, iter = 1, warmup = 0, seed = 1, refresh = 0,
                      algorithm = "Fixed_param")
  }

  dims <- fit@par_dims
  points <- lapply(iters, function(it) {
    values <- lapply(pars, function(p) {
      a <- post[[p]]
      if (length(dims[[p]]) == 0) return(scalar(a[it]))
      if (length(dims[[p]]) == 1) return(as.vector(a[it, ]))
      a[it, , ]
    })
    names(values) <- pars
    plain <- lapply(values, function(v) { attr(v, "scalar") <- NULL; v })
    upars <- unconstrain_pars(fit, plain)
    lp <- log_prob(fit, upars, adjust_transform = TRUE, gradient = TRUE)
    pt <- list(values = values, upars = upars, log_prob = scalar(as.numeric(lp)),
               gradient = as.vector(attr(lp, "gradient")), constrained = constrained(fit, upars))
    if (!is.null(tight)) {
      upars_tight <- unconstrain_pars(tight, plain)
      pt$log_prob_tight <- scalar(log_prob(tight, upars_tight, adjust_transform = TRUE))
      pt$constrained_tight <- constrained(tight, upars_tight)
    }
    pt
  })
  out <- list(
    posterior = name,
    stan_version = paste("rstan", packageVersion("rstan"), "StanHeaders", packageVersion("StanHeaders")),
    method = paste("5 draws of 1 NUTS chain (iter 300, warmup 200, max_treedepth 8, seed 4711);",
                   "log_prob(fit, unconstrain_pars(fit, values), adjust_transform = TRUE)"),
    points = points
  )
  writeLines(json_value(out), file.path(dir, "stan-logprob.json"))
  message(sprintf("%s: compile %.0fs, sample %.0fs, lp %s", name, as.numeric(t1 - t0, units = "secs"),
                  as.numeric(t2 - t1, units = "secs"),
                  paste(sprintf("%.6g", vapply(points, function(p) as.numeric(p$log_prob), 0)), collapse = " ")))
}

for (name in todo) {
  res <- tryCatch(run_one(name), error = function(e) {
    message(name, ": FAILED: ", conditionMessage(e))
    NULL
  })
}
