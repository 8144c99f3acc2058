#!/bin/bash
# g++ wrapper for rstan's model compilation: a precompiled header of Stan's and Rcpp's headers
# (built on first use with the very flags rstan passes) replaces the `-include Eigen.hpp` that
# rstan puts first, so each program compiles its own code only (~3x faster). Used through
# scripts/stan-pch/Makevars (R_MAKEVARS_USER) by scripts/stan-logprob-corpus.R.
dir="${STAN_PCH_DIR:-/tmp/stan-pch}"
mkdir -p "$dir"
args=("$@")
compiling=0
for a in "$@"; do [[ "$a" == -c ]] && compiling=1; done
if [[ $compiling == 0 ]]; then exec g++ "$@"; fi
out=()
skip=0
for ((i = 0; i < ${#args[@]}; i++)); do
  a="${args[$i]}"
  if [[ "$a" == -include && "${args[$((i + 1))]}" == */Eigen.hpp ]]; then
    out+=(-include "$dir/pch.hpp"); i=$((i + 1)); continue
  fi
  out+=("$a")
done
if [[ ! -f "$dir/pch.hpp.gch" ]]; then
  cat > "$dir/pch.hpp" <<'H'
#include <stan/math/prim/mat/fun/Eigen.hpp>
#include <Rcpp.h>
#include <rstan/io/rlist_ref_var_context.hpp>
#include <rstan/io/r_ostream.hpp>
#include <rstan/stan_args.hpp>
#include <boost/integer/integer_log2.hpp>
#include <stan/model/model_header.hpp>
H
  # the same flags, without the source, the object and -c
  hdr=()
  for ((i = 0; i < ${#args[@]}; i++)); do
    a="${args[$i]}"
    if [[ "$a" == -c || "$a" == *.cpp ]]; then continue; fi
    if [[ "$a" == -o ]]; then i=$((i + 1)); continue; fi
    if [[ "$a" == -include && "${args[$((i + 1))]}" == */Eigen.hpp ]]; then i=$((i + 1)); continue; fi
    hdr+=("$a")
  done
  g++ "${hdr[@]}" -x c++-header "$dir/pch.hpp" -o "$dir/pch.hpp.gch.tmp" && mv "$dir/pch.hpp.gch.tmp" "$dir/pch.hpp.gch"
fi
exec g++ -Winvalid-pch "${out[@]}"
