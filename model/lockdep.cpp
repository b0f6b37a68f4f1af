// model/lockdep.cpp — see lockdep.hpp. Models the ordering core of kernel/locking/lockdep.c.
#include "model/lockdep.hpp"

#include "model/kernel.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace model {

// Sized for the classes and lock-name addresses of a typical run, so that one rarely grows.
Lockdep::Lockdep() {
  classes_.reserve(32);
  path_.reserve(32);
}

bool Lockdep::Class::is(const char* cls, int sub) const {
  return subclass == sub && std::strncmp(key.data(), cls, name_len) == 0 && cls[name_len] == '\0';
}

Lockdep::ClassId Lockdep::class_of(const char* cls, int subclass) {
  const auto slot = ((reinterpret_cast<std::uintptr_t>(cls) >> 3) ^ static_cast<std::uintptr_t>(subclass)) % kCacheSlots;
  CacheEntry& e = cache_[slot];
  // A name's address keys its class, as the kernel keys lockdep by a static lock_class_key: lock
  // names live as long as the kernel (locking.hpp), so an address seen before is that text.
  if (e.name == cls && classes_[e.id].subclass == subclass) return e.id;
  auto it = std::find_if(classes_.begin(), classes_.end(), [&](const Class& c) { return c.is(cls, subclass); });
  const auto id = static_cast<ClassId>(it - classes_.begin());
  if (it == classes_.end()) {
    const std::size_t name_len = std::strlen(cls);
    classes_.push_back(Class{subclass == 0 ? std::string(cls) : fmt::format("{}/{}", cls, subclass), name_len,
                             subclass, {}});
  }
  e = CacheEntry{cls, id};  // replaces whatever the slot held
  return id;
}

bool Lockdep::has_edge(ClassId from, ClassId to) const {
  const auto& out = classes_[from].out;
  return std::find(out.begin(), out.end(), to) != out.end();
}

void Lockdep::add_edge(ClassId from, ClassId to) {
  auto& out = classes_[from].out;
  if (out.empty()) out.reserve(4);  // one allocation for the few edges a class has
  const std::string& k = classes_[to].key;
  out.insert(std::lower_bound(out.begin(), out.end(), k,
                              [&](ClassId a, const std::string& b) { return classes_[a].key < b; }),
             to);
}

bool Lockdep::reachable(ClassId from, ClassId to, std::vector<ClassId>& path) const {
  path.push_back(from);
  if (from == to) return true;
  for (ClassId next : classes_[from].out) {
    if (std::find(path.begin(), path.end(), next) == path.end() && reachable(next, to, path)) return true;
  }
  path.pop_back();
  return false;
}

void Lockdep::acquire(task_struct* t, const char* cls, int subclass, bool raw_spin, bool read) {
  const ClassId id = class_of(cls, subclass);
  for (const auto& h : t->held_locks) {
    if (h.id == id) {
      // Only recursive readers (rwlock_t, lockdep read == 2) may nest; the model has none: a
      // percpu rwsem read, cpus_read_lock() among them, taken twice is reported, as lockdep does,
      // since a writer arriving in between would deadlock it.
      kernel().oracle("lockdep", fmt::format("possible recursive locking detected: {} acquires {} while holding it",
                                             t->comm, key(id)),
                      key(id));
      break;
    }
    if (has_edge(h.id, id)) continue;
    path_.clear();
    if (reachable(id, h.id, path_)) {
      std::string chain;
      for (ClassId p : path_) chain += (chain.empty() ? "" : " -> ") + key(p);
      kernel().oracle("lockdep",
                      fmt::format("possible circular locking dependency detected: {} acquires {} while holding {}, "
                                  "but the order {} was seen before",
                                  t->comm, key(id), key(h.id), chain),
                      fmt::format("{}->{}", key(h.id), key(id)));
    }
    add_edge(h.id, id);
  }
  t->held_locks.push_back(held_lock{id, cls, subclass, raw_spin, read});
}

void Lockdep::release(task_struct* t, const char* cls, int subclass) {
  // Nearly always the lock was taken under the same name pointer: no class lookup needed.
  for (auto it = t->held_locks.rbegin(); it != t->held_locks.rend(); ++it) {
    if (it->cls == cls && it->subclass == subclass) {
      t->held_locks.erase(std::next(it).base());
      return;
    }
  }
  const ClassId id = class_of(cls, subclass);
  for (auto it = t->held_locks.rbegin(); it != t->held_locks.rend(); ++it) {
    if (it->id == id) {
      t->held_locks.erase(std::next(it).base());
      return;
    }
  }
  kernel().oracle("lockdep", fmt::format("{} releases {} which it does not hold", t->comm, key(id)), key(id));
}

}  // namespace model
