/* Seconds on CLOCK_MONOTONIC, for deadlines and budgets (the transition
   counts in nanoseconds of the same clock).  */
#ifndef ULP_CLOCK_H
#define ULP_CLOCK_H

double ulp_now (void);

#endif
