# rstan 2.21's stanc knows only the pre-2.26 array syntax; posteriordb's programs use
# `array[N] real y`. `old_array_syntax()` rewrites those declarations (`real y[N]`, `real[] y` for
# unsized function arguments) without changing the program's meaning. Used by
# scripts/stan-logprob.R, scripts/stan-loglik.R, bench/stan/run-stan.R and bench/stan/run-vb.R (run from
# the repository root).

old_array_syntax <- function(code) {
  # array[dims] type<constraints>[type dims] name  ->  type<...>[...] name[dims]
  # array[] type name (unsized, in function signatures) -> type[] name
  type_re <- "([A-Za-z_]+(?:<[^>]*>)?(?:\\[[^\\]]*\\])?)"
  re <- paste0("array\\[([^\\]]*)\\]\\s*", type_re, "\\s+([A-Za-z_][A-Za-z0-9_]*)")
  repeat {
    m <- regexpr(re, code, perl = TRUE)
    if (m == -1) break
    s <- regmatches(code, m)
    parts <- regmatches(s, regexec(re, s, perl = TRUE))[[1]]
    dims <- parts[2]
    type <- parts[3]
    name <- parts[4]
    repl <- if (grepl("^[ ,]*$", dims)) {
      paste0(type, "[", gsub(" ", "", dims), "] ", name)
    } else {
      paste0(type, " ", name, "[", dims, "]")
    }
    regmatches(code, m) <- repl
  }
  code
}
