# Stan's pointwise log-likelihood (`log_lik`, as loo expects it) of the posteriordb posteriors
# at the points of their stan-logprob.json, so the generated pointwise log-likelihood of the
# translations in test/posteriordb/models.ts can be checked against Stan itself.
#
# Usage (from the repository root, after scripts/stan-logprob.R has written the points):
#
#   Rscript scripts/stan-loglik.R                 # every posterior with a likelihood below
#   Rscript scripts/stan-loglik.R garch-garch11   # only the named posteriors
#
# Writes test/posteriordb/<name>/stan-loglik.json:
#
#   { "posterior", "stan_version", "method",
#     "points": [ { "upars": [ ... ], "log_lik": [ ... ] } ] }   same points as stan-logprob.json
#
# posteriordb's programs have no log_lik generated quantity, so this script adds one to each
# program: the `_lpdf`/`_lpmf` of every observation, with its normalising constants (what loo
# and ArviZ use), written by hand below for each likelihood. hmm_example and
# low_dim_gauss_mix have no observed node (their likelihoods are marginalised by hand into
# `target +=`), so they have no pointwise log-likelihood here either.
#
# Takes about 8 minutes (one C++ compilation per program). See scripts/stan-logprob.R for the
# installation notes (boost_lib, rstan 2.21's array syntax) and the ODE model's tight variant,
# which is used here too: the BDF solve at rtol = atol = 1e-6 is only good to about 1e-6.

suppressPackageStartupMessages(library(rstan))

boost_lib <- "/usr/include"
root <- "test/posteriordb"
if (!dir.exists(root)) stop("run from the repository root (", root, " not found)")

# `y ~ normal(<mean>, sigma)` with a vector outcome of length N: the mean expression is read
# from the program's own sampling statement.
regression <- function(outcome) {
  function(code) {
    re <- paste0(outcome, "\\s*~\\s*normal\\(((?:[^;])*),\\s*sigma\\)\\s*;")
    m <- regmatches(code, regexec(re, code, perl = TRUE))[[1]]
    if (length(m) < 2) stop("no sampling statement for ", outcome)
    list(
      decl = "vector[N] log_lik;",
      body = paste0("{ vector[N] mu_ll = rep_vector(0, N) + (", m[2], ");\n",
                    "  for (n in 1:N) log_lik[n] = normal_lpdf(", outcome, "[n] | mu_ll[n], sigma); }")
    )
  }
}
fixed <- function(decl, body) function(code) list(decl = decl, body = body)

likelihoods <- list(
  "arK-arK" = fixed("vector[T - K] log_lik;", "
    for (t in (K + 1):T) {
      real mu = alpha;
      for (k in 1:K) mu = mu + beta[k] * y[t - k];
      log_lik[t - K] = normal_lpdf(y[t] | mu, sigma);
    }"),
  "diamonds-diamonds" = fixed("vector[N] log_lik;", "
    { vector[N] mu_ll = Intercept + Xc * b;
      for (n in 1:N) log_lik[n] = normal_lpdf(Y[n] | mu_ll[n], sigma); }"),
  "earnings-earn_height" = regression("earn"),
  "earnings-log10earn_height" = regression("log10_earn"),
  "earnings-logearn_height" = regression("log_earn"),
  "earnings-logearn_height_male" = regression("log_earn"),
  "earnings-logearn_interaction" = regression("log_earn"),
  "eight_schools-eight_schools_noncentered" = fixed("vector[J] log_lik;", "
    for (j in 1:J) log_lik[j] = normal_lpdf(y[j] | theta[j], sigma[j]);"),
  "garch-garch11" = fixed("vector[T] log_lik;", "
    { real s = sigma1;
      log_lik[1] = normal_lpdf(y[1] | mu, s);
      for (t in 2:T) {
        s = sqrt(alpha0 + alpha1 * square(y[t - 1] - mu) + beta1 * square(s));
        log_lik[t] = normal_lpdf(y[t] | mu, s);
      } }"),
  "gp_pois_regr-gp_pois_regr" = fixed("vector[N] log_lik;", "
    for (n in 1:N) log_lik[n] = poisson_log_lpmf(k[n] | f[n]);"),
  "kidiq-kidscore_interaction" = regression("kid_score"),
  "kidiq-kidscore_momhs" = regression("kid_score"),
  "kidiq-kidscore_momhsiq" = regression("kid_score"),
  "kidiq-kidscore_momiq" = regression("kid_score"),
  "kilpisjarvi_mod-kilpisjarvi" = regression("y"),
  "mesquite-logmesquite" = regression("log_weight"),
  "mesquite-logmesquite_logva" = regression("log_weight"),
  "mesquite-logmesquite_logvolume" = regression("log_weight"),
  "mesquite-mesquite" = regression("weight"),
  "nes1972-nes" = regression("partyid7"),
  "nes1980-nes" = regression("partyid7"),
  "nes1992-nes" = regression("partyid7"),
  "one_comp_mm_elim_abs-one_comp_mm_elim_abs" = fixed("vector[N_t] log_lik;", "
    for (n in 1:N_t) log_lik[n] = lognormal_lpdf(C_hat[n] | log(C[n, 1]), sigma);"),
  "sblrc-blr" = fixed("vector[N] log_lik;", "
    { vector[N] mu_ll = X * beta;
      for (n in 1:N) log_lik[n] = normal_lpdf(y[n] | mu_ll[n], sigma); }")
)

# rstan 2.21 syntax, as in stan-logprob.R.
source(file.path("scripts", "old-array-syntax.R"))

# The declaration goes first in the generated quantities block (stanc 2.21 wants declarations
# before statements), the statements last (the block is the program's last, so before its
# final brace).
add_log_lik <- function(code, ll) {
  if (grepl("generated\\s+quantities\\s*\\{", code)) {
    code <- sub("(generated\\s+quantities\\s*\\{)", paste0("\\1\n  ", ll$decl), code, perl = TRUE)
    close <- max(gregexpr("\\}", code)[[1]])
    paste0(substr(code, 1, close - 1), ll$body, "\n}\n")
  } else {
    paste0(code, "\ngenerated quantities {\n  ", ll$decl, "\n", ll$body, "\n}\n")
  }
}

num <- function(x) {
  ifelse(is.finite(x), sprintf("%.17g", x), ifelse(is.na(x), "NaN", ifelse(x > 0, "Infinity", "-Infinity")))
}
vec <- function(x) paste0("[", paste(num(x), collapse = ", "), "]")

run_one <- function(name) {
  dir <- file.path(root, name)
  code <- old_array_syntax(paste(readLines(file.path(dir, "model.stan")), collapse = "\n"))
  if (grepl("integrate_ode_bdf", code)) {
    code <- sub("integrate_ode_bdf\\(([^;]*?),\\s*x_i\\)", "integrate_ode_rk45(\\1, x_i, 1e-12, 1e-12, 100000000)", code, perl = TRUE)
  }
  code <- add_log_lik(code, likelihoods[[name]](code))
  data <- jsonlite::fromJSON(file.path(dir, "data.json"), simplifyVector = TRUE)
  points <- jsonlite::fromJSON(file.path(dir, "stan-logprob.json"), simplifyVector = FALSE)$points
  sm <- stan_model(model_code = code, boost_lib = boost_lib, verbose = FALSE)
  fit <- sampling(sm, data = data, chains = 1, iter = 1, warmup = 0, seed = 1, refresh = 0, algorithm = "Fixed_param")
  rows <- vapply(points, function(p) {
    upars <- unlist(p$upars)
    ll <- constrain_pars(fit, upars)$log_lik
    paste0("{\"upars\": ", vec(upars), ", \"log_lik\": ", vec(as.vector(ll)), "}")
  }, "")
  out <- paste0(
    "{\"posterior\": \"", name, "\", ",
    "\"stan_version\": \"rstan ", packageVersion("rstan"), " StanHeaders ", packageVersion("StanHeaders"), "\", ",
    "\"method\": \"constrain_pars(fit, upars)$log_lik of the program with a log_lik generated quantity (scripts/stan-loglik.R), at the points of stan-logprob.json\", ",
    "\"points\": [", paste(rows, collapse = ", "), "]}"
  )
  writeLines(out, file.path(dir, "stan-loglik.json"))
  message(name, ": ", length(points), " points, ", length(ll <- constrain_pars(fit, unlist(points[[1]]$upars))$log_lik), " observations")
}

args <- commandArgs(trailingOnly = TRUE)
todo <- if (length(args) > 0) args else names(likelihoods)
for (name in todo) {
  if (is.null(likelihoods[[name]])) stop(name, " has no log_lik definition here")
  tryCatch(run_one(name), error = function(e) message(name, ": FAILED: ", conditionMessage(e)))
}
