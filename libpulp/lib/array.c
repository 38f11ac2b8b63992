#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "array.h"

int
ulp_reserve (void *array, size_t *cap, size_t n, size_t size)
{
  void *items;
  if (n < *cap)
    return 0;
  memcpy (&items, array, sizeof items);
  size_t more = *cap ? *cap * 2 : 16;
  while (more <= n)
    more *= 2;
  void *grown = realloc (items, more * size);
  if (!grown)
    return -1;
  memcpy (array, &grown, sizeof grown);
  *cap = more;
  return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define HUGE_PAGE (2u << 20)

/* Where a page fault costs ~15 us (in a VM the hypervisor takes part) a
   trigger on a thousand processes spent a tenth of its time faulting in
   the few KB it keeps per process.  Populating pages in one call is not
   enough there (the hypervisor still takes each page at its first touch,
   ~9 us); transparent huge pages are: ~0.3 us a 4 KB page, measured.  So
   the block asks for huge pages on its aligned part, then is populated.
   It is freed at once but stays at the top of the thread's heap (not
   trimmed, not given back as a mapping of its own), where the next
   allocations come from.  Kernels that refuse either advice (or have huge
   pages off) lose nothing but the time.  */
void
ulp_heap_prefault (size_t bytes)
{
  static const size_t most = 16u << 20; /* below glibc's largest heap */
  if (bytes > most)
    bytes = most;
  mallopt (M_MMAP_THRESHOLD, (int)most + (4 << 20));
  mallopt (M_TRIM_THRESHOLD, (int)(2 * most));
  bytes += HUGE_PAGE; /* room for an aligned huge page at least */
  char *block = malloc (bytes);
  if (!block)
    return;
  size_t page = (size_t)sysconf (_SC_PAGESIZE);
  uintptr_t start = ((uintptr_t)block + page - 1) & ~(uintptr_t)(page - 1);
  uintptr_t end = ((uintptr_t)block + bytes) & ~(uintptr_t)(page - 1);
  uintptr_t huge_start
      = ((uintptr_t)block + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
  uintptr_t huge_end = ((uintptr_t)block + bytes) & ~(uintptr_t)(HUGE_PAGE - 1);
  if (huge_end > huge_start)
    madvise ((void *)huge_start, huge_end - huge_start, MADV_HUGEPAGE);
  if (end > start)
    madvise ((void *)start, end - start, MADV_POPULATE_WRITE);
  free (block);
}
