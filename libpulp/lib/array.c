#include <stdlib.h>
#include <string.h>

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
