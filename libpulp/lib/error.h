/* One error message for the current operation, set where the problem is
   found and printed by the caller that decides how to report it.  */
#ifndef ULP_ERROR_H
#define ULP_ERROR_H

#include <stddef.h>
#include <stdint.h>

__attribute__ ((format (printf, 1, 2))) int ulp_fail (const char *fmt, ...);
const char *ulp_error (void);
void ulp_clear_error (void);

/* Lowercase hex of LEN bytes into OUT (2 * LEN + 1 bytes).  */
void ulp_hex (const uint8_t *bytes, size_t len, char *out);

#endif
