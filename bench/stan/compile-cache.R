# The compiled-model cache of bench/stan/ (bench/stan/run-stan.R, bench/stan/run-vb.R): a
# compiled model is kept in bench/stan/.cache/<prefix>-<key>.rds, keyed by an MD5 of the
# program text and the rstan, StanHeaders and R versions, with the seconds of its cold compile.
# Run from the repository root.

stan_versions <- function() {
  list(
    R = paste(R.version$major, R.version$minor, sep = "."),
    rstan = as.character(packageVersion("rstan")),
    StanHeaders = as.character(packageVersion("StanHeaders"))
  )
}

# The compiled model of `code` and how it was had: list(sm, compile = list(seconds (of the cold
# compile), cached, load_seconds, compiled_at)). `recompile` compiles cold even when cached.
cached_stan_model <- function(code, prefix, model_name, recompile = FALSE) {
  cache <- file.path("bench", "stan", ".cache")
  dir.create(cache, showWarnings = FALSE, recursive = TRUE)
  versions <- stan_versions()
  key <- digest::digest(paste(code, versions$rstan, versions$StanHeaders, versions$R, sep = "\n"), algo = "md5", serialize = FALSE)
  rds <- file.path(cache, paste0(prefix, "-", key, ".rds"))
  meta_file <- file.path(cache, paste0(prefix, "-", key, ".json"))
  if (!recompile && file.exists(rds) && file.exists(meta_file)) {
    t0 <- Sys.time()
    sm <- readRDS(rds)
    load_seconds <- as.numeric(Sys.time() - t0, units = "secs")
    meta <- jsonlite::fromJSON(meta_file)
    return(list(sm = sm, compile = list(seconds = meta$seconds, cached = TRUE, load_seconds = load_seconds, compiled_at = meta$compiled_at)))
  }
  t0 <- Sys.time()
  # Debian's r-cran-bh has no include dir; the Boost headers are in /usr/include (see scripts/stan-logprob.R).
  sm <- stan_model(model_code = code, model_name = model_name, boost_lib = "/usr/include", verbose = FALSE)
  seconds <- as.numeric(Sys.time() - t0, units = "secs")
  compiled_at <- format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z")
  saveRDS(sm, rds)
  writeLines(jsonlite::toJSON(list(seconds = seconds, compiled_at = compiled_at), auto_unbox = TRUE, digits = NA), meta_file)
  list(sm = sm, compile = list(seconds = seconds, cached = FALSE, load_seconds = 0, compiled_at = compiled_at))
}
