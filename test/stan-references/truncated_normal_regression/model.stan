// Linear regression whose outcomes are only recorded inside [L, U] (truncation, not censoring).
data {
  int<lower=0> N;
  vector[N] x;
  real L;
  real<lower=L> U;
  vector<lower=L, upper=U>[N] y;
}
parameters {
  real a;
  real b;
  real<lower=0> sigma;
}
model {
  a ~ normal(0, 5);
  b ~ normal(0, 5);
  sigma ~ normal(0, 3);
  for (n in 1:N)
    y[n] ~ normal(a + b * x[n], sigma) T[L, U];
}
