// model/watchdog.hpp — models kernel/watchdog.c, watchdog_perf.c and include/linux/nmi.h (spec §4):
// the per-CPU watchdog hrtimer (every 2*thresh/5 s), the soft-lockup detector whose touch runs as
// a stopper work, and the hard-lockup check: from the perf NMI (every thresh s), or with the buddy
// detector (kernel/watchdog_buddy.c) from each CPU's hrtimer, every third one, on the next CPU.
// SIM: timestamps are running_clock() >> 30 (2^30 ns units) exactly as the kernel's, so a soft
//      lockup needs more than 20 units (~21.5 s) at the default threshold.
// SIM: the NMI fires every watchdog_thresh seconds of virtual time; the perf 8 s spacing filter
//      (CONFIG_HARDLOCKUP_CHECK_TIMESTAMP) is not modelled: at a fixed 10 s period it never fires.
#pragma once

#include "model/stop_machine.hpp"

#include <vector>

namespace model {

struct watchdog_cpu {
  bool enabled = false;
  sim::EventId hrtimer_ev, nmi_ev;
  bool hrtimer_pending = false;
  std::int64_t touch_ts = 0;   ///< units of 2^30 ns
  std::int64_t report_ts = 0;
  bool report_delayed = false;  ///< SOFTLOCKUP_DELAY_REPORT
  completion softlockup_completion{"softlockup_completion"};
  cpu_stop_work softlockup_stop_work;
  std::uint64_t hrtimer_interrupts = 0, hrtimer_interrupts_saved = 0;
  bool hardlockup_touched = false, hardlockup_warned = false;
  bool buddy_watched = false;  ///< in watchdog_buddy.c's watchdog_cpus: a buddy checks this CPU
};

struct watchdog_globals {
  std::vector<watchdog_cpu> cpus;
};
std::unique_ptr<watchdog_globals> make_watchdog_globals(unsigned nr_cpus);

void lockup_detector_init();
int lockup_detector_online_cpu(unsigned cpu);
int lockup_detector_offline_cpu(unsigned cpu);
void touch_softlockup_watchdog();
void watchdog_touch_nmi(unsigned cpu);

}  // namespace model
