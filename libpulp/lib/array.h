/* Arrays that grow as they are filled.  */
#ifndef ULP_ARRAY_H
#define ULP_ARRAY_H

#include <stddef.h>

/* Room in *ARRAY (a pointer to the array's pointer, of CAP elements of
   SIZE bytes) for element N: the array doubles when full.  0, or -1 when
   out of memory (the array is left as it was).  */
int ulp_reserve (void *array, size_t *cap, size_t n, size_t size);

/* Makes the calling thread's next BYTES of malloc memory present before
   they are used, so that filling them takes no page faults.  */
void ulp_heap_prefault (size_t bytes);

#endif
