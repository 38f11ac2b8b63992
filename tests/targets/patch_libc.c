/* Container that calls libc (snprintf; memcpy and strlen, IFUNCs in glibc,
   under versions such as memcpy@GLIBC_2.14) and the target library's
   demo_original_count: the loader's positive case for versioned and IFUNC
   imports.  Returns "patched libc N", N the calls of the original.  */
#include <stdio.h>
#include <string.h>

extern long demo_original_count (void);

static char message[64];
/* Through a pointer, so that strlen and memcpy are real calls.  */
const char *volatile patch_libc_prefix = "patched libc";

const char *
demo_message_libc (void)
{
  char count[32];
  const char *prefix = patch_libc_prefix;
  size_t len = strlen (prefix);
  int n = snprintf (count, sizeof count, " %ld", demo_original_count ());
  if (n < 0 || len + (size_t)n >= sizeof message)
    return "patched libc overflow";
  memcpy (message, prefix, len);
  memcpy (message + len, count, (size_t)n + 1);
  return message;
}
