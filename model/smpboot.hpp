// model/smpboot.hpp — models include/linux/smpboot.h and kernel/smpboot.c (Linux v6.16):
// per-CPU hotplug threads described by struct smp_hotplug_thread, run by smpboot_thread_fn.
#pragma once

#include "model/kthread.hpp"

#include <functional>
#include <list>
#include <string>
#include <vector>

namespace model {

struct smp_hotplug_thread {
  std::vector<task_struct*>* store = nullptr;  ///< per-CPU slot (index = cpu)
  std::function<int(unsigned)> thread_should_run;
  std::function<void(unsigned)> thread_fn;
  std::function<void(unsigned)> create;
  std::function<void(unsigned)> setup;
  std::function<void(unsigned, bool)> cleanup;
  std::function<void(unsigned)> park;
  std::function<void(unsigned)> unpark;
  bool selfparking = false;
  std::string thread_comm;
};

enum { HP_THREAD_NONE = 0, HP_THREAD_ACTIVE, HP_THREAD_PARKED };

struct smpboot_thread_data {
  unsigned cpu;
  unsigned status = HP_THREAD_NONE;
  smp_hotplug_thread* ht;
  // I-SB-1 bookkeeping
  bool setup_ran = false;
  bool last_cb_was_park = false;
};

struct smpboot_globals {
  std::list<smp_hotplug_thread*> hotplug_threads;  ///< registration inserts at the head
  mutex smpboot_threads_lock{"smpboot_threads_lock"};
  std::vector<std::unique_ptr<smpboot_thread_data>> tds;
};
std::unique_ptr<smpboot_globals> make_smpboot_globals();

int smpboot_create_threads(unsigned cpu);
int smpboot_unpark_threads(unsigned cpu);
int smpboot_park_threads(unsigned cpu);
int smpboot_register_percpu_thread(smp_hotplug_thread* plug_thread);
void smpboot_unregister_percpu_thread(smp_hotplug_thread* plug_thread);

}  // namespace model
