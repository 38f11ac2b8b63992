#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "description.h"
#include "error.h"

#define MAX_DESC_FUNCS 1024
#define MAX_DESC_REFS 1024

static char *
trimmed_copy (const char *start, size_t len)
{
  while (len && (start[0] == ' ' || start[0] == '\t')) {
    start++;
    len--;
  }
  while (len
         && (start[len - 1] == ' ' || start[len - 1] == '\t'
             || start[len - 1] == '\r'))
    len--;
  char *s = malloc (len + 1);
  if (s) {
    memcpy (s, start, len);
    s[len] = '\0';
  }
  return s;
}

/* PATH may be NULL after a failed allocation: that stays NULL.  */
static char *
resolve_path (char *path, const char *base_dir)
{
  if (!path || path[0] == '/' || !base_dir)
    return path;
  size_t n = strlen (base_dir) + strlen (path) + 2;
  char *full = malloc (n);
  if (full)
    snprintf (full, n, "%s/%s", base_dir, path);
  free (path);
  return full;
}

/* Symbol names: identifier characters plus '.', '@' and '$', which appear
   in compiler-generated local and versioned symbols.  */
static int
is_symbol_name (const char *s)
{
  if (!*s)
    return 0;
  for (; *s; s++) {
    char c = *s;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@'
          || c == '$'))
      return 0;
  }
  return 1;
}

/* A hexadecimal offset of the offset form ("0x" optional).  */
static int
parse_offset (const char *s, unsigned long long *value)
{
  char *end;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    s += 2;
  if (!*s || strspn (s, "0123456789abcdefABCDEF") != strlen (s))
    return -1;
  *value = strtoull (s, &end, 16);
  return *end ? -1 : 0;
}

/* LINE without its '#' (and '%'): local:ref or local:ref:LOFF:ROFF.  */
static int
parse_reference_fields (char *line, struct ulp_desc_ref *ref, int lineno)
{
  char *field[4];
  int n = 0;
  for (char *s = line; n < 4; n++) {
    field[n] = s;
    char *colon = strchr (s, ':');
    if (!colon) {
      n++;
      break;
    }
    *colon = '\0';
    s = colon + 1;
  }
  if ((n != 2 && n != 4) || strchr (field[n - 1], ':'))
    return ulp_fail ("%d: expected #local:ref or #local:ref:LOCAL_OFFSET:"
                     "REF_OFFSET",
                     lineno);
  ref->local_name = trimmed_copy (field[0], strlen (field[0]));
  ref->ref_name = trimmed_copy (field[1], strlen (field[1]));
  if (!ref->local_name || !ref->ref_name || !is_symbol_name (ref->local_name)
      || !is_symbol_name (ref->ref_name))
    return ulp_fail ("%d: expected #local:ref with symbol names", lineno);
  ref->has_offsets = n == 4;
  if (n == 4
      && (parse_offset (field[2], &ref->local_offset) < 0
          || parse_offset (field[3], &ref->ref_offset) < 0))
    return ulp_fail ("%d: the offsets of a reference are hexadecimal "
                     "numbers, got '%s' and '%s'",
                     lineno, field[2], field[3]);
  return 0;
}

static int
parse_reference (struct ulp_description *desc, char *line, int lineno)
{
  struct ulp_desc_ref ref = { .line = lineno };
  ref.tls = line[1] == '%';
  int rc = parse_reference_fields (line + 1 + ref.tls, &ref, lineno);
  for (size_t i = 0; rc == 0 && i < desc->nrefs; i++)
    if (strcmp (desc->refs[i].ref_name, ref.ref_name) == 0)
      rc = ulp_fail ("%d: '%s' already receives a reference (line %d)", lineno,
                     ref.ref_name, desc->refs[i].line);
  if (rc == 0 && desc->nrefs == MAX_DESC_REFS)
    rc = ulp_fail ("%d: more than %d references", lineno, MAX_DESC_REFS);
  struct ulp_desc_ref *grown
      = rc == 0 ? realloc (desc->refs, (desc->nrefs + 1) * sizeof *grown)
                : NULL;
  if (rc == 0 && !grown)
    rc = ulp_fail ("%d: out of memory", lineno);
  if (rc < 0) {
    free (ref.local_name);
    free (ref.ref_name);
    return -1;
  }
  desc->refs = grown;
  desc->refs[desc->nrefs++] = ref;
  return 0;
}

static int
parse_function (struct ulp_description *desc, char *line, int lineno)
{
  char *colon = strchr (line, ':');
  if (line[0] == '#')
    return parse_reference (desc, line, lineno);
  if (!colon || strchr (colon + 1, ':'))
    return ulp_fail ("%d: expected old_function:new_function, got '%s'", lineno,
                     line);
  *colon = '\0';
  char *old_name = trimmed_copy (line, strlen (line));
  char *new_name = trimmed_copy (colon + 1, strlen (colon + 1));
  if (!old_name || !new_name || !is_symbol_name (old_name)
      || !is_symbol_name (new_name)) {
    free (old_name);
    free (new_name);
    return ulp_fail ("%d: expected old_function:new_function with symbol "
                     "names",
                     lineno);
  }
  for (size_t i = 0; i < desc->nfuncs; i++)
    if (strcmp (desc->funcs[i].old_name, old_name) == 0) {
      free (old_name);
      free (new_name);
      return ulp_fail ("%d: duplicate function '%s' (first on line %d)", lineno,
                       desc->funcs[i].old_name, desc->funcs[i].line);
    }
  if (desc->nfuncs == MAX_DESC_FUNCS) {
    free (old_name);
    free (new_name);
    return ulp_fail ("%d: more than %d functions", lineno, MAX_DESC_FUNCS);
  }
  struct ulp_desc_func *grown
      = realloc (desc->funcs, (desc->nfuncs + 1) * sizeof *grown);
  if (!grown) {
    free (old_name);
    free (new_name);
    return ulp_fail ("%d: out of memory", lineno);
  }
  desc->funcs = grown;
  desc->funcs[desc->nfuncs++]
      = (struct ulp_desc_func){ old_name, new_name, lineno };
  return 0;
}

static int
add_comment (struct ulp_description *desc, const char *line, int lineno)
{
  const char *text = line + 1 + strspn (line + 1, " \t");
  size_t had = desc->comments ? strlen (desc->comments) : 0;
  char *grown = realloc (desc->comments, had + strlen (text) + 2);
  if (!grown)
    return ulp_fail ("%d: out of memory", lineno);
  desc->comments = grown;
  snprintf (grown + had, strlen (text) + 2, "%s\n", text);
  return 0;
}

static int
parse_line (struct ulp_description *desc, char *line, int lineno,
            const char *base_dir)
{
  if (line[0] == '!')
    return add_comment (desc, line, lineno);
  if (!desc->container) {
    if (line[0] == '@')
      return ulp_fail ("%d: missing container line before the '@' line",
                       lineno);
    desc->container
        = resolve_path (trimmed_copy (line, strlen (line)), base_dir);
    desc->container_line = lineno;
    return desc->container ? 0 : ulp_fail ("%d: out of memory", lineno);
  }
  if (!desc->target) {
    if (line[0] != '@')
      return ulp_fail ("%d: missing '@' line naming the target library",
                       lineno);
    char *path = trimmed_copy (line + 1, strlen (line + 1));
    if (path && !path[0]) {
      free (path);
      return ulp_fail ("%d: empty target library path after '@'", lineno);
    }
    desc->target = resolve_path (path, base_dir);
    desc->target_line = lineno;
    return desc->target ? 0 : ulp_fail ("%d: out of memory", lineno);
  }
  if (line[0] == '@')
    return ulp_fail ("%d: more than one '@' line (one target per patch)",
                     lineno);
  return parse_function (desc, line, lineno);
}

static int
is_blank (const char *s)
{
  return s[strspn (s, " \t\r")] == '\0';
}

int
ulp_description_parse (const char *text, size_t len, const char *base_dir,
                       struct ulp_description *desc)
{
  memset (desc, 0, sizeof *desc);
  if (memchr (text, '\0', len))
    return ulp_fail ("1: description contains a NUL byte");
  int lineno = 0;
  size_t pos = 0;
  while (pos < len) {
    const char *start = text + pos;
    const char *nl = memchr (start, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - start) : len - pos;
    pos += n + (nl ? 1 : 0);
    lineno++;
    char *line = trimmed_copy (start, n);
    if (!line) {
      ulp_description_free (desc);
      return ulp_fail ("%d: out of memory", lineno);
    }
    int rc = is_blank (line) ? 0 : parse_line (desc, line, lineno, base_dir);
    free (line);
    if (rc < 0) {
      ulp_description_free (desc);
      return -1;
    }
  }
  int rc = 0;
  if (!desc->container)
    rc = ulp_fail ("1: empty description: expected the container path");
  else if (!desc->target)
    rc = ulp_fail ("%d: missing '@' line naming the target library",
                   lineno + 1);
  if (rc < 0)
    ulp_description_free (desc);
  return rc;
}

void
ulp_description_free (struct ulp_description *desc)
{
  for (size_t i = 0; i < desc->nfuncs; i++) {
    free (desc->funcs[i].old_name);
    free (desc->funcs[i].new_name);
  }
  free (desc->funcs);
  for (size_t i = 0; i < desc->nrefs; i++) {
    free (desc->refs[i].local_name);
    free (desc->refs[i].ref_name);
  }
  free (desc->refs);
  free (desc->container);
  free (desc->target);
  free (desc->comments);
  memset (desc, 0, sizeof *desc);
}
