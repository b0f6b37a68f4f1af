// Boots a 2-CPU simulated kernel through the installed package and runs one stop_machine.
#include <model/stop_machine.hpp>

int main() {
  model::KernelConfig cfg;
  cfg.nr_cpus = 2;
  model::Kernel k(cfg);
  int calls = 0;
  k.start_kernel([&] { model::stop_machine(model::cpu_stop_fn_t([&](void*) { return ++calls, 0; }), nullptr, nullptr); });
  const auto r = k.run();
  return r.outcome == sim::Outcome::Completed && calls == 1 ? 0 : 1;
}
