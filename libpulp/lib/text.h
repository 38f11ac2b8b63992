/* Text read from other users' processes and files: telling valid UTF-8
   and terminal control characters apart, for every place that prints it.  */
#ifndef ULP_TEXT_H
#define ULP_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at S (1 to 4), with its code point in
   *CP; 0 when S does not start one (stray or missing continuation byte,
   overlong form, surrogate, beyond U+10FFFF).  */
size_t ulp_utf8_sequence (const unsigned char *s, uint32_t *cp);

/* C0 and C1 control characters and DEL: what makes a terminal act.  */
int ulp_is_control (uint32_t cp);

/* Replaces in place every control character, every byte that is not valid
   UTF-8, and each of the characters in EXTRA with '?'.  */
void ulp_defuse (char *s, const char *extra);

/* The bug and CVE ids in TEXT (bsc#N, boo#N, jsc#NAME-N, CVE-N-N, in any
   case), as written, separated by spaces, into OUT; how many.  */
size_t ulp_labels (const char *text, char *out, size_t size);

#endif
