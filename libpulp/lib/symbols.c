#include <elf.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "error.h"
#include "symbols.h"

int
ulp_symbols_is_json (const char *path)
{
  char head[64];
  FILE *f = fopen (path, "re");
  if (!f)
    return 0;
  size_t n = fread (head, 1, sizeof head, f);
  fclose (f);
  size_t i = 0;
  while (i < n && strchr (" \t\r\n", head[i]))
    i++;
  return i < n && head[i] == '{';
}

static int
add_symbol (void *ctx, const char *name, uint64_t value, uint64_t size,
            unsigned info, unsigned other)
{
  struct ulp_symbols *s = ctx;
  if (ulp_reserve (&s->v, &s->cap, s->n, sizeof *s->v) < 0)
    return -1;
  struct ulp_symbol *sym = &s->v[s->n];
  if (!(sym->name = strdup (name)))
    return -1;
  sym->value = value;
  sym->size = size;
  sym->info = info;
  sym->other = other;
  s->n++;
  return 0;
}

int
ulp_symbols_from_elf (struct ulp_elf *e, const char *name,
                      struct ulp_symbols *out)
{
  memset (out, 0, sizeof *out);
  if (ulp_elf_build_id (e, out->build_id, sizeof out->build_id,
                        &out->build_id_len)
      < 0)
    return -1;
  if (!(out->name = strdup (name))
      || ulp_elf_each_symbol (e, add_symbol, out) != 0) {
    ulp_symbols_free (out);
    return ulp_fail ("out of memory");
  }
  return 0;
}

static json_object *
symbol_json (const struct ulp_symbol *sym)
{
  json_object *o = json_object_new_object ();
  json_object_object_add (o, "name", json_object_new_string (sym->name));
  json_object_object_add (o, "offset",
                          json_object_new_int64 ((int64_t)sym->value));
  json_object_object_add (o, "size",
                          json_object_new_int64 ((int64_t)sym->size));
  json_object_object_add (o, "st_info", json_object_new_int ((int)sym->info));
  json_object_object_add (o, "st_other", json_object_new_int ((int)sym->other));
  return o;
}

int
ulp_symbols_write_json (const struct ulp_symbols *s, FILE *out)
{
  char hex[2 * sizeof s->build_id + 1];
  json_object *root = json_object_new_object ();
  json_object *library = json_object_new_object ();
  json_object *symbols = json_object_new_array ();
  ulp_hex (s->build_id, s->build_id_len, hex);
  json_object_object_add (library, "name", json_object_new_string (s->name));
  json_object_object_add (library, "buildid", json_object_new_string (hex));
  for (size_t i = 0; i < s->n; i++)
    json_object_array_add (symbols, symbol_json (&s->v[i]));
  json_object_object_add (library, "symbols", symbols);
  json_object_object_add (root, "library", library);
  int ok
      = fputs (json_object_to_json_string_ext (root, JSON_C_TO_STRING_PRETTY),
               out)
            >= 0
        && fputc ('\n', out) != EOF;
  json_object_put (root);
  return ok ? 0 : ulp_fail ("cannot write: %s", strerror (errno));
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static int
take_build_id (const char *hex, struct ulp_symbols *out)
{
  size_t len = strlen (hex);
  if (len == 0 || len % 2 || len / 2 > sizeof out->build_id)
    return -1;
  for (size_t i = 0; i < len / 2; i++) {
    int hi = hex_value (hex[2 * i]), lo = hex_value (hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    out->build_id[i] = (uint8_t)(hi << 4 | lo);
  }
  out->build_id_len = len / 2;
  return 0;
}

/* The member NAME of O, of TYPE, or NULL.  */
static json_object *
member (json_object *o, const char *name, json_type type)
{
  json_object *m = NULL;
  if (!o || !json_object_object_get_ex (o, name, &m)
      || !json_object_is_type (m, type))
    return NULL;
  return m;
}

static int
take_symbols (json_object *list, struct ulp_symbols *out)
{
  size_t n = json_object_array_length (list);
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx (list, i);
    json_object *name = member (o, "name", json_type_string);
    json_object *offset = member (o, "offset", json_type_int);
    json_object *info = member (o, "st_info", json_type_int);
    json_object *size = member (o, "size", json_type_int);
    json_object *other = member (o, "st_other", json_type_int);
    if (!name || !offset || !info)
      return -1;
    if (add_symbol (out, json_object_get_string (name),
                    (uint64_t)json_object_get_int64 (offset),
                    size ? (uint64_t)json_object_get_int64 (size) : 0,
                    (unsigned)json_object_get_int (info) & 0xff,
                    other ? (unsigned)json_object_get_int (other) & 0xff : 0)
        < 0)
      return -1;
  }
  return 0;
}

int
ulp_symbols_read_json (const char *path, struct ulp_symbols *out)
{
  memset (out, 0, sizeof *out);
  json_object *root = json_object_from_file (path);
  json_object *library = member (root, "library", json_type_object);
  json_object *name = member (library, "name", json_type_string);
  json_object *id = member (library, "buildid", json_type_string);
  json_object *symbols = member (library, "symbols", json_type_array);
  int rc = 0;
  if (!root)
    rc = ulp_fail ("%s: not readable JSON", path);
  else if (!name || !id || !symbols)
    rc = ulp_fail ("%s: not a library description of `ulp extract` "
                   "(library.name, buildid, symbols)",
                   path);
  else if (take_build_id (json_object_get_string (id), out) < 0)
    rc = ulp_fail ("%s: the build-ID is not hexadecimal", path);
  else if (!(out->name = strdup (json_object_get_string (name)))
           || take_symbols (symbols, out) < 0)
    rc = ulp_fail ("%s: a symbol without name, offset or st_info", path);
  json_object_put (root);
  if (rc < 0)
    ulp_symbols_free (out);
  return rc;
}

int
ulp_symbols_lookup (const struct ulp_symbols *s, const char *name,
                    struct ulp_elf_found *found)
{
  int matches = 0;
  for (size_t i = 0; i < s->n; i++) {
    const struct ulp_symbol *sym = &s->v[i];
    int type = ELF64_ST_TYPE (sym->info);
    if (strcmp (sym->name, name) != 0 || type == STT_SECTION || type == STT_FILE
        || (sym->value == 0 && type != STT_TLS)
        || (matches && found->value == sym->value))
      continue;
    found->value = sym->value;
    found->size = sym->size;
    found->type = type;
    matches++;
  }
  return matches == 0 ? 1 : matches == 1 ? 0 : 2;
}

void
ulp_symbols_free (struct ulp_symbols *s)
{
  for (size_t i = 0; i < s->n; i++)
    free (s->v[i].name);
  free (s->v);
  free (s->name);
  memset (s, 0, sizeof *s);
}
