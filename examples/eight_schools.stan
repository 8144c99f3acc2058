// Eight schools, non-centred (as posteriordb's eight_schools_noncentered).
data {
  int<lower=0> J;           // number of schools
  array[J] real y;          // estimated treatment effects
  array[J] real<lower=0> sigma; // standard errors
}
parameters {
  real mu;
  real<lower=0> tau;
  vector[J] theta_tilde;
}
transformed parameters {
  vector[J] theta = mu + tau * theta_tilde;
}
model {
  mu ~ normal(0, 5);
  tau ~ cauchy(0, 5);
  theta_tilde ~ normal(0, 1);
  y ~ normal(theta, sigma);
}
generated quantities {
  array[J] real y_rep = normal_rng(theta, sigma);
}
