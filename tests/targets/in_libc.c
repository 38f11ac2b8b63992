/* in_libc: a single thread that practically never leaves libc (memset of a
   large buffer), so no thread is ever safe to borrow.  */
#include <stdlib.h>
#include <string.h>

const char *demo_message (void);

int
main (void)
{
  size_t size = (size_t)256 << 20;
  char *buf = malloc (size);
  demo_message ();
  for (;;)
    memset (buf, buf[size - 1] + 1, size);
}
