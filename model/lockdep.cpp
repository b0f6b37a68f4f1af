// model/lockdep.cpp — see lockdep.hpp. Models the ordering core of kernel/locking/lockdep.c.
#include "model/lockdep.hpp"

#include "model/kernel.hpp"

#include <fmt/format.h>

namespace model {

static std::string class_key(const char* cls, int subclass) {
  return subclass == 0 ? std::string(cls) : fmt::format("{}/{}", cls, subclass);
}

bool Lockdep::reachable(const std::string& from, const std::string& to, std::vector<std::string>& path) const {
  path.push_back(from);
  if (from == to) return true;
  auto it = graph_.find(from);
  if (it != graph_.end()) {
    for (const auto& next : it->second) {
      bool seen = false;
      for (const auto& p : path) seen |= p == next;
      if (!seen && reachable(next, to, path)) return true;
    }
  }
  path.pop_back();
  return false;
}

void Lockdep::acquire(task_struct* t, const char* cls, int subclass, bool raw_spin, bool read) {
  const std::string key = class_key(cls, subclass);
  if (enabled) {
    for (const auto& h : t->held_locks) {
      if (h.key == key) {
        if (h.read && read) continue;
        kernel().oracle("lockdep", fmt::format("possible recursive locking detected: {} acquires {} while holding it",
                                               t->comm, key),
                        key);
        break;
      }
      auto& out = graph_[h.key];
      if (out.count(key)) continue;
      std::vector<std::string> path;
      if (reachable(key, h.key, path)) {
        std::string chain;
        for (const auto& p : path) chain += (chain.empty() ? "" : " -> ") + p;
        kernel().oracle("lockdep",
                        fmt::format("possible circular locking dependency detected: {} acquires {} while holding {}, "
                                    "but the order {} was seen before",
                                    t->comm, key, h.key, chain),
                        fmt::format("{}->{}", h.key, key));
      }
      out.insert(key);
    }
  }
  t->held_locks.push_back(held_lock{key, cls, subclass, raw_spin, read});
}

void Lockdep::release(task_struct* t, const char* cls, int subclass) {
  const std::string key = class_key(cls, subclass);
  for (auto it = t->held_locks.rbegin(); it != t->held_locks.rend(); ++it) {
    if (it->key == key) {
      t->held_locks.erase(std::next(it).base());
      return;
    }
  }
  kernel().oracle("lockdep", fmt::format("{} releases {} which it does not hold", t->comm, key), key);
}

std::size_t Lockdep::edges() const {
  std::size_t n = 0;
  for (const auto& [k, v] : graph_) n += v.size();
  return n;
}

}  // namespace model
