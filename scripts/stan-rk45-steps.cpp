// Every step of Stan 2.21's integrate_ode_rk45 on posteriordb's lotka_volterra, for a
// step-by-step comparison with ours (scripts/rk45-steps.mjs prints the same lines from
// src/ode/erk.ts). Issue 22, DECISIONS.md D225.
//
// It runs Stan's own code: stan::math::coupled_ode_system<F, var, var> (y0 and theta are
// parameters, as in the program) integrated by Boost odeint's integrate_times with
// make_dense_output(atol, rtol, runge_kutta_dopri5) from t0 = 0 with initial step 0.1 and a
// max_step_checker, as prim/arr/functor/integrate_ode_rk45.hpp does. The only change is the
// error checker: default_error_checker with a line printed per try. The gradient is
// stan::math::grad of the outputs' sum through integrate_ode_rk45 itself.
//
// Build (about 10 s; Boost 1.74 from /usr/include, the headers rstan 2.21 compiles with):
//   g++ -O2 -std=c++14 -DBOOST_MATH_DISABLE_FLOAT128 \
//     -I/usr/lib/R/site-library/StanHeaders/include \
//     -I/usr/lib/R/site-library/RcppEigen/include \
//     scripts/stan-rk45-steps.cpp -o /tmp/stan-rk45-steps
// Run: /tmp/stan-rk45-steps rtol atol maxSteps theta1 theta2 theta3 theta4 z1 z2 t1 ... tN
//   (constrained values; the times are the data's ts). Lines printed:
//   try <tNew> <dt> <err> <accepted 0|1>     one per try of a step, as the controller sees it
//   out <t> <y and sensitivities, Stan's coupled layout: y, dy/dy0 by column, dy/dtheta by column>
//   grad <d sum(y) / d(theta, y0)>            through integrate_ode_rk45 (Stan's observer)
//   plain <t> <y>                              integrate_ode_rk45 on doubles (no sensitivities)
#include <stan/math/rev/arr.hpp>
#include <boost/numeric/odeint.hpp>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace odeint = boost::numeric::odeint;
using stan::math::var;

// The program's dz_dt, as stanc writes it: templated on the state's and parameters' types.
struct lotka_volterra {
  template <typename T0, typename T1, typename T2>
  std::vector<typename stan::return_type<T0, T1, T2>::type> operator()(
      const T0& t, const std::vector<T1>& z, const std::vector<T2>& theta,
      const std::vector<double>& x_r, const std::vector<int>& x_i, std::ostream* msgs) const {
    typedef typename stan::return_type<T0, T1, T2>::type R;
    R u = z[0], v = z[1];
    R du_dt = (theta[0] - theta[1] * v) * u;
    R dv_dt = (-theta[2] + theta[3] * u) * v;
    return {du_dt, dv_dt};
  }
};

typedef std::vector<double> state;
typedef odeint::runge_kutta_dopri5<state, double, state, double> dopri5;

// The system's last evaluation time: a dopri5 try's last stage is at t + dt, so the error
// check that follows it belongs to the try ending there.
static double last_stage_t = 0;

struct logging_checker
    : odeint::default_error_checker<double, dopri5::algebra_type, dopri5::operations_type> {
  typedef odeint::default_error_checker<double, dopri5::algebra_type, dopri5::operations_type> base;
  logging_checker(double atol, double rtol) : base(atol, rtol) {}
  template <class State, class Deriv, class Err, class Time>
  double error(dopri5::algebra_type& algebra, const State& x_old, const Deriv& dxdt_old,
               Err& x_err, Time dt) const {
    double err = base::error(algebra, x_old, dxdt_old, x_err, dt);
    std::printf("try %.17g %.17g %.17g %d\n", last_stage_t, dt, err, err > 1.0 ? 0 : 1);
    return err;
  }
};

typedef odeint::controlled_runge_kutta<dopri5, logging_checker> controlled;
typedef odeint::dense_output_runge_kutta<controlled> dense;

template <class System>
struct timed {
  System& sys;
  void operator()(const state& z, state& dz, double t) const {
    last_stage_t = t;
    sys(z, dz, t);
  }
};

int main(int argc, char** argv) {
  if (argc < 11) {
    std::fprintf(stderr, "usage: %s rtol atol maxSteps theta1..4 z1 z2 t1 ... tN\n", argv[0]);
    return 2;
  }
  const double rtol = std::atof(argv[1]), atol = std::atof(argv[2]);
  const int max_steps = std::atoi(argv[3]);
  std::vector<var> theta, y0;
  for (int k = 0; k < 4; k++) theta.push_back(std::atof(argv[4 + k]));
  for (int k = 0; k < 2; k++) y0.push_back(std::atof(argv[8 + k]));
  std::vector<double> ts;
  for (int k = 10; k < argc; k++) ts.push_back(std::atof(argv[k]));
  const std::vector<double> x_r;
  const std::vector<int> x_i;
  lotka_volterra f;

  // integrate_ode_rk45's own steps, with the logging controller.
  stan::math::coupled_ode_system<lotka_volterra, var, var> coupled(f, y0, theta, x_r, x_i, nullptr);
  std::vector<double> times(ts.size() + 1);
  times[0] = 0;
  std::copy(ts.begin(), ts.end(), times.begin() + 1);
  state z = coupled.initial_state();
  bool first = true;
  auto observer = [&](const state& s, double t) {
    if (first) {
      first = false;
      return;
    }
    std::printf("out %.17g", t);
    for (double v : s) std::printf(" %.17g", v);
    std::printf("\n");
  };
  timed<decltype(coupled)> sys{coupled};
  try {
    odeint::integrate_times(dense(controlled(logging_checker(atol, rtol), odeint::default_step_adjuster<double, double>(), dopri5())),
                            std::ref(sys), z, times.begin(), times.end(), 0.1, observer,
                            odeint::max_step_checker(max_steps));
  } catch (const std::exception& e) {
    std::printf("failed %s\n", e.what());
  }
  stan::math::recover_memory();

  // The gradient through Stan's integrate_ode_rk45 (its observer makes the outputs' vars).
  std::vector<var> theta2, y02;
  for (int k = 0; k < 4; k++) theta2.push_back(std::atof(argv[4 + k]));
  for (int k = 0; k < 2; k++) y02.push_back(std::atof(argv[8 + k]));
  try {
    auto y = stan::math::integrate_ode_rk45(f, y02, 0.0, ts, theta2, x_r, x_i, nullptr, rtol, atol, max_steps);
    var total = 0;
    for (auto& row : y)
      for (auto& v : row) total += v;
    total.grad();
    std::printf("grad");
    for (auto& p : theta2) std::printf(" %.17g", p.adj());
    for (auto& p : y02) std::printf(" %.17g", p.adj());
    std::printf("\n");
  } catch (const std::exception& e) {
    std::printf("gradfailed %s\n", e.what());
  }

  // The solve of Stan's log_prob without gradient (and of its initialisation's first check and
  // write_array): integrate_ode_rk45 on doubles, the states alone.
  std::vector<double> theta_d, y0_d;
  for (int k = 0; k < 4; k++) theta_d.push_back(std::atof(argv[4 + k]));
  for (int k = 0; k < 2; k++) y0_d.push_back(std::atof(argv[8 + k]));
  try {
    auto y = stan::math::integrate_ode_rk45(f, y0_d, 0.0, ts, theta_d, x_r, x_i, nullptr, rtol, atol, max_steps);
    for (size_t i = 0; i < y.size(); i++) std::printf("plain %.17g %.17g %.17g\n", ts[i], y[i][0], y[i][1]);
  } catch (const std::exception& e) {
    std::printf("plainfailed %s\n", e.what());
  }
  return 0;
}
