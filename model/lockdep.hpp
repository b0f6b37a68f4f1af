// model/lockdep.hpp — a lock-order checker in the spirit of kernel/locking/lockdep.c.
// Lock classes are names (plus a nesting subclass). Every acquisition while other locks are
// held adds "held -> new" edges to a class graph; an edge that closes a cycle is reported the
// first time both orders have been seen, even if the run did not deadlock. Taking a second lock
// of a class already held without a nesting annotation is reported as recursive locking.
// SIM: no irq-safety state tracking (hardirq-safe vs -unsafe classes); no read-recursion rules
//      beyond "readers of the same class do not conflict with each other".
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace model {

struct task_struct;

class Lockdep {
 public:
  /// Records the acquisition of `cls` (subclass 0 = none) by `t`; reports an inversion.
  void acquire(task_struct* t, const char* cls, int subclass, bool raw_spin, bool read = false);
  void release(task_struct* t, const char* cls, int subclass);
  std::size_t edges() const;
  bool enabled = true;

 private:
  bool reachable(const std::string& from, const std::string& to, std::vector<std::string>& path) const;
  std::map<std::string, std::set<std::string>> graph_;
};

}  // namespace model
