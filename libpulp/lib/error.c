#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

/* Each thread its own: planning runs in several.  */
static _Thread_local char last_error[1024];

/* Records the message and returns -1, so callers can `return ulp_fail(...)`.
   The arguments may include ulp_error() itself, to add context.  */
int
ulp_fail (const char *fmt, ...)
{
  char message[sizeof last_error];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (message, sizeof message, fmt, ap);
  va_end (ap);
  memcpy (last_error, message, sizeof last_error);
  return -1;
}

const char *
ulp_error (void)
{
  return last_error[0] ? last_error : "unknown error";
}

void
ulp_clear_error (void)
{
  last_error[0] = '\0';
}

void
ulp_hex (const uint8_t *bytes, size_t len, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  out[2 * len] = '\0';
}
