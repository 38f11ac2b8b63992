#include <string.h>

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
