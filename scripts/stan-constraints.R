# Stan's log density and gradient for test/stan/programs/constraints.stan (every constrained
# parameter type: offset/multiplier, cholesky_factor_corr/cov, corr_matrix, cov_matrix,
# unit_vector), so test/stan/constraints.test.ts checks the front end's transforms and
# log-Jacobians against Stan's.
#
# Usage (from the repository root; R 4.2 with Debian's r-cran-rstan 2.21):
#
#   Rscript scripts/stan-constraints.R
#
# Writes test/stan/programs/constraints.stan-logprob.json:
#   { "stan_version", "method", "points": [ { "upars", "log_prob", "gradient", "constrained" } ] }
# at 6 draws of uniform(-2, 2) per unconstrained coordinate (seed 2112). The program uses only
# `target +=`, so log_prob is Stan's complete log density: the values themselves are compared,
# not only differences between points.

suppressPackageStartupMessages(library(rstan))
source("scripts/old-array-syntax.R")

program <- "test/stan/programs/constraints.stan"
code <- old_array_syntax(paste(readLines(program), collapse = "\n"))
sm <- stan_model(model_code = code, boost_lib = "/usr/include", verbose = FALSE)
data <- jsonlite::fromJSON("test/stan/programs/constraints.data.json")
capture.output(fit <- sampling(sm, data = data, chains = 0))
n <- get_num_upars(fit)
set.seed(2112)
num <- function(x) sprintf("%.17g", x)
vec <- function(x) paste0("[", paste(num(as.vector(x)), collapse = ", "), "]")
points <- character()
while (length(points) < 6) {
  upars <- runif(n, -2, 2)
  lp <- log_prob(fit, upars, adjust_transform = TRUE, gradient = TRUE)
  if (!is.finite(lp)) next
  # constrain_pars gives matrices column-major as R arrays; written here row-major (aperm), flat.
  cons <- constrain_pars(fit, upars)
  flat <- vapply(names(cons), function(k) {
    v <- cons[[k]]
    d <- dim(v)
    if (!is.null(d) && length(d) > 1) v <- aperm(v, rev(seq_along(d)))
    paste0("\"", k, "\": ", vec(v))
  }, "")
  points <- c(points, sprintf("{ \"upars\": %s, \"log_prob\": %s, \"gradient\": %s, \"constrained\": { %s } }",
                              vec(upars), num(lp), vec(attr(lp, "gradient")), paste(flat, collapse = ", ")))
}
out <- sprintf("{\n  \"stan_version\": \"rstan %s, StanHeaders %s\",\n  \"method\": \"log_prob(fit, upars, adjust_transform = TRUE, gradient = TRUE) and constrain_pars at 6 draws of uniform(-2, 2) (seed 2112); constrained values row-major, flat\",\n  \"points\": [\n    %s\n  ]\n}\n",
               packageVersion("rstan"), packageVersion("StanHeaders"), paste(points, collapse = ",\n    "))
writeLines(out, "test/stan/programs/constraints.stan-logprob.json")
message("wrote test/stan/programs/constraints.stan-logprob.json: ", n, " unconstrained coordinates")
