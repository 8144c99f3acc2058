# JSON for the bench's R scripts (run-stan.R, run-vb.R): every double at 17 significant digits
# (jsonlite stops at 15), non-finite numbers and NA as null; length-1 vectors are scalars, other
# vectors arrays, named lists objects, other lists arrays. Strings: backslashes and quotes
# escaped, newlines and tabs as \n and \t, other control characters (Stan's errors) dropped.
to_json <- function(v) {
  if (is.list(v)) {
    if (!is.null(names(v))) {
      inner <- vapply(names(v), function(n) paste0("\"", n, "\":", to_json(v[[n]])), "")
      return(paste0("{", paste(inner, collapse = ","), "}"))
    }
    return(paste0("[", paste(vapply(v, to_json, ""), collapse = ","), "]"))
  }
  if (is.null(v)) return("null")
  if (is.character(v)) {
    v <- gsub("\\", "\\\\", v, fixed = TRUE)
    v <- gsub("\"", "\\\"", v, fixed = TRUE)
    v <- gsub("\n", "\\n", v, fixed = TRUE)
    v <- gsub("\t", "\\t", v, fixed = TRUE)
    s <- paste0("\"", gsub("[[:cntrl:]]", "", v), "\"")
  } else if (is.logical(v)) s <- ifelse(v, "true", "false")
  else if (is.integer(v)) s <- ifelse(is.na(v), "null", as.character(v))
  else s <- ifelse(is.finite(v), sprintf("%.17g", v), "null")
  if (length(v) == 1 && is.null(attr(v, "array"))) s else paste0("[", paste(s, collapse = ","), "]")
}
