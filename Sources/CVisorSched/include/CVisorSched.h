#ifndef VISOR_SCHED_H
#define VISOR_SCHED_H
/* What the operating system offers a thread: its time slice. */
#include <stdint.h>

/* Asks Linux's fair scheduler (EEVDF, Linux 6.12 and later) for a time slice of `nanoseconds`
   for the calling thread, keeping its nice value: a thread with a shorter slice than the threads
   it shares a core with is picked sooner when it wakes. Needs no privilege. Returns 0, or the
   errno of sched_setattr (ENOSYS, EINVAL on kernels that do not take a slice). */
int visor_request_slice(uint64_t nanoseconds);

/* The calling thread's time slice in nanoseconds (sched_getattr's sched_runtime for a fair
   thread), or 0 where the kernel does not report one. */
uint64_t visor_current_slice(void);

#endif
