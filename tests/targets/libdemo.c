/* The test library, built in several variants (see Makefile).  Every call
   of the original demo_message counts in demo_original_calls, so a test can
   prove the original code no longer runs.  */
#include <stdatomic.h>

#ifndef DEMO_VERSION
#define DEMO_VERSION 1
#endif
#define STR2(x) #x
#define STR(x) STR2 (x)

atomic_long demo_original_calls;

const char *
demo_message (void)
{
  atomic_fetch_add_explicit (&demo_original_calls, 1, memory_order_relaxed);
  return "original v" STR (DEMO_VERSION);
}

/* Not exported: reachable only through demo_value.  */
__attribute__ ((noinline, visibility ("hidden"))) int
demo_hidden (int x)
{
  __asm__ volatile("" : "+r"(x));
  return x + 1;
}

int
demo_value (int x)
{
  return demo_hidden (x) * 2;
}

long
demo_original_count (void)
{
  return atomic_load (&demo_original_calls);
}
