// model/lockdep.hpp — a lock-order checker in the spirit of kernel/locking/lockdep.c.
// Lock classes are names (plus a nesting subclass). Every acquisition while other locks are
// held adds "held -> new" edges to a class graph; an edge that closes a cycle is reported the
// first time both orders have been seen, even if the run did not deadlock. Taking a second lock
// of a class already held without a nesting annotation is reported as recursive locking.
// Read acquisitions are the non-recursive kind (rwsem readers): taking one twice is reported.
// SIM: no irq-safety state tracking (hardirq-safe vs -unsafe classes); no recursive readers
//      (rwlock_t), so no read-recursion rules.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace model {

struct task_struct;

class Lockdep {
 public:
  using ClassId = std::uint32_t;

  Lockdep();

  /// Records the acquisition of `cls` (subclass 0 = none) by `t`; reports an inversion.
  void acquire(task_struct* t, const char* cls, int subclass, bool raw_spin, bool read = false);
  void release(task_struct* t, const char* cls, int subclass);
  /// The class key used in reports: the name, plus "/subclass" when nested.
  const std::string& key(ClassId id) const { return classes_[id].key; }

 private:
  // Classes are numbered in the order a run first takes them, so ids are deterministic.
  // Out-edges are kept sorted by key so a reported chain does not depend on the ids.
  struct Class {
    std::string key;
    std::size_t name_len;  // the lock's name is key[0, name_len) (the key without "/subclass")
    int subclass;
    std::vector<ClassId> out;
    bool is(const char* cls, int sub) const;
  };
  // Lock names are static strings (model/locking.hpp), so a name's address identifies its text: a
  // lookup first tries the address, then, for an address not seen yet, the text (one name may sit
  // at several addresses). The cache is direct-mapped by address and subclass: one probe per lookup.
  struct CacheEntry {
    const char* name = nullptr;
    ClassId id = 0;
  };
  static constexpr std::size_t kCacheSlots = 128;

  ClassId class_of(const char* cls, int subclass);
  bool has_edge(ClassId from, ClassId to) const;
  void add_edge(ClassId from, ClassId to);
  bool reachable(ClassId from, ClassId to, std::vector<ClassId>& path) const;

  // A run has a few dozen classes: a miss in cache_ searches classes_ itself.
  std::vector<Class> classes_;
  std::array<CacheEntry, kCacheSlots> cache_{};
  std::vector<ClassId> path_;  // reachable()'s scratch, kept between acquisitions
};

}  // namespace model
