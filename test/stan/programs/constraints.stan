// Every constrained parameter type with Stan's transforms, for test/stan/constraints.test.ts:
// the log density (target += keeps every constant) and its gradient on the unconstrained
// coordinates, against rstan 2.21 (scripts/stan-constraints.R).
data {
  int<lower=2> K;
}
parameters {
  real<offset=1, multiplier=2> a;
  vector<offset=-1, multiplier=3>[K] b;
  real<multiplier=0.5> c;
  real<lower=0> eta;
  cholesky_factor_corr[K] L_corr;
  array[2] cholesky_factor_corr[2] L_pair;
  cholesky_factor_cov[4, K] L_cov;
  cholesky_factor_cov[2] L_square;
  corr_matrix[K] Omega;
  corr_matrix[2] Omega_two;
  cov_matrix[K] Sigma;
  unit_vector[K] u;
}
model {
  target += normal_lpdf(a | 0, 3);
  target += normal_lpdf(b | 0, 2);
  target += normal_lpdf(c | 0, 1);
  target += lognormal_lpdf(eta | 0, 1);
  target += lkj_corr_cholesky_lpdf(L_corr | eta);
  target += lkj_corr_cholesky_lpdf(L_pair[1] | 1);
  target += lkj_corr_cholesky_lpdf(L_pair[2] | 2.5);
  target += normal_lpdf(to_vector(L_cov) | 0, 2);
  target += normal_lpdf(to_vector(L_square) | 0, 2);
  target += lkj_corr_lpdf(Omega | 1.5);
  target += lkj_corr_lpdf(Omega_two | 1);
  target += normal_lpdf(to_vector(Sigma) | 0, 3);
  target += normal_lpdf(u | 0.5, 1);
}
