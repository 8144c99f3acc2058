# Reads our Stan CSV files back with R, for bench/stan.ts (`npm run bench:stan`).
#
#   Rscript bench/stan/check-csv.R <out.json> <prefix> [<prefix> ...]
#
# For each prefix, the files <prefix>_1.csv, <prefix>_2.csv, ... (one per chain) are read with
# `read_cmdstan_csv` (cmdstanr's; posterior has none in 1.4) when installed, else with
# `rstan::read_stan_csv`, converted with `posterior::as_draws_array`, and the mean of every
# variable over all chains (posterior::summarise_draws) is written to <out.json>:
#
#   { "<prefix>": { "reader": "...", "chains": 4, "iterations": 1000,
#                   "means": { "<name>": mean, ... } } | { "error": "..." } }
#
# Variable names as R reports them (`theta[1]`, lp__ and the sampler's columns left out).

suppressPackageStartupMessages({
  library(posterior)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: Rscript bench/stan/check-csv.R <out.json> <prefix> [<prefix> ...]")
out <- args[1]
prefixes <- args[-1]

num <- function(x) ifelse(is.finite(x), sprintf("%.17g", x), "null")
str <- function(s) paste0("\"", gsub("\"", "\\\\\"", s), "\"")

have_cmdstanr <- requireNamespace("cmdstanr", quietly = TRUE)

read_one <- function(prefix) {
  files <- sort(Sys.glob(paste0(prefix, "_*.csv")))
  if (length(files) == 0) stop("no files ", prefix, "_*.csv")
  if (have_cmdstanr) {
    reader <- "cmdstanr::read_cmdstan_csv"
    draws <- cmdstanr::read_cmdstan_csv(files, variables = NULL, sampler_diagnostics = "")$post_warmup_draws
  } else {
    reader <- "rstan::read_stan_csv"
    fit <- suppressWarnings(rstan::read_stan_csv(files))
    draws <- as_draws_array(as.array(fit))
  }
  draws <- subset_draws(draws, variable = setdiff(variables(draws), "lp__"))
  s <- summarise_draws(draws, mean)
  means <- paste(vapply(seq_len(nrow(s)), function(i) paste0(str(s$variable[i]), ":", num(s$mean[i])), ""), collapse = ",")
  paste0("{\"reader\":", str(reader), ",\"chains\":", nchains(draws), ",\"iterations\":", niterations(draws), ",\"means\":{", means, "}}")
}

entries <- vapply(prefixes, function(p) {
  body <- tryCatch(read_one(p), error = function(e) paste0("{\"error\":", str(conditionMessage(e)), "}"))
  paste0(str(p), ":", body)
}, "")
writeLines(paste0("{", paste(entries, collapse = ","), "}"), out)
