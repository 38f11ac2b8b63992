#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>

#include "text.h"

size_t
ulp_utf8_sequence (const unsigned char *s, uint32_t *cp)
{
  static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
  size_t len = s[0] < 0x80             ? 1
               : (s[0] & 0xe0) == 0xc0 ? 2
               : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
  if (len == 0)
    return 0;
  uint32_t v = len == 1 ? s[0] : s[0] & (0x7f >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    v = (v << 6) | (s[i] & 0x3f);
  }
  if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
    return 0;
  *cp = v;
  return len;
}

int
ulp_is_control (uint32_t cp)
{
  return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

void
ulp_defuse (char *str, const char *extra)
{
  unsigned char *s = (unsigned char *)str;
  while (*s) {
    uint32_t cp;
    size_t n = ulp_utf8_sequence (s, &cp);
    if (n == 0 || ulp_is_control (cp) || (n == 1 && strchr (extra, *s))) {
      memset (s, '?', n ? n : 1);
      s += n ? n : 1;
    } else
      s += n;
  }
}

/* The length of the id at S whose prefix is PREFIX (any case), then
   FORM: 'd' digits, 'a' letters, '-' a dash; 0 when S has no such id.  */
static size_t
id_length (const char *s, const char *prefix, const char *form)
{
  size_t n = strlen (prefix);
  if (strncasecmp (s, prefix, n) != 0)
    return 0;
  for (; *form; form++) {
    size_t start = n;
    while (*form == 'd'   ? isdigit ((unsigned char)s[n])
           : *form == 'a' ? isalpha ((unsigned char)s[n])
                          : s[n] == '-' && n == start)
      n++;
    if (n == start)
      return 0;
  }
  return isalnum ((unsigned char)s[n]) ? 0 : n;
}

size_t
ulp_labels (const char *text, char *out, size_t size)
{
  static const char *const ids[][2] = {
    { "bsc#", "d" }, { "boo#", "d" }, { "jsc#", "a-d" }, { "cve-", "d-d" }
  };
  size_t count = 0, used = 0;
  out[0] = '\0';
  for (const char *s = text; *s; s++) {
    if (s > text && isalnum ((unsigned char)s[-1]))
      continue;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
      size_t n = id_length (s, ids[i][0], ids[i][1]);
      if (!n || used + n + 2 > size)
        continue;
      used += (size_t)snprintf (out + used, size - used, "%s%.*s",
                                count ? " " : "", (int)n, s);
      count++;
      s += n - 1;
      break;
    }
  }
  return count;
}
