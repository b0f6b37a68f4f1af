// The smpsim command: see app/cli.hpp and README.md.
#include "app/cli.hpp"

#include <iostream>

int main(int argc, char** argv) { return app::smpsim_main(argc, argv, std::cout, std::cerr); }
