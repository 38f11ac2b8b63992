/* The benchmark's livepatchable library: bench_step is what gets patched,
   bench_spin keeps a thread running inside the library.  */
#include <stdatomic.h>

__attribute__ ((noinline)) int
bench_step (int x)
{
  return x * 3 + 1;
}

void
bench_spin (atomic_int *stop)
{
  int x = 0;
  while (!atomic_load_explicit (stop, memory_order_relaxed))
    x = bench_step (x) & 0xffff;
}
