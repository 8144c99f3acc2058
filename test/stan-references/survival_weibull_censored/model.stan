// Weibull survival regression with right censoring: subject n is followed until c[n];
// t[n] = min(event time, c[n]), censored when t[n] >= c[n].
data {
  int<lower=0> N;
  vector<lower=0>[N] t;
  vector[N] x;
  vector<lower=0>[N] c;
}
parameters {
  real<lower=0> alpha;
  real beta0;
  real beta1;
}
model {
  vector[N] sigma = exp(beta0 + beta1 * x);
  alpha ~ gamma(2, 1);
  beta0 ~ normal(0, 5);
  beta1 ~ normal(0, 2);
  for (n in 1:N) {
    if (t[n] >= c[n])
      target += weibull_lccdf(c[n] | alpha, sigma[n]);
    else
      target += weibull_lpdf(t[n] | alpha, sigma[n]);
  }
}
