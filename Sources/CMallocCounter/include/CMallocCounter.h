#ifndef VISOR_MALLOC_COUNTER_H
#define VISOR_MALLOC_COUNTER_H
#include <stdint.h>

/* Heap allocations made by the whole process since it started (malloc, calloc, realloc,
   posix_memalign, aligned_alloc, memalign), counted by wrappers that forward to glibc. Only the
   benchmark executable links this module. */
uint64_t visor_allocation_count(void);

#endif
