// model/coverage.hpp — the names of every coverage probe the model can hit, so a campaign can
// report the ones it never reached. Probes are counted with sim::Sim::probe().
#pragma once

#include <string>
#include <vector>

namespace model {

/// Every probe name the model defines, sorted.
std::vector<std::string> model_probe_names();

}  // namespace model
