/* A library's symbols as SUSE libpulp's `ulp extract` writes them in JSON,
   so that patches can be packed where only that description of the
   library is kept:
     {"library": {"name": "libfoo.so.1", "buildid": "HEX",
                  "symbols": [{"name": "f", "offset": N, "size": N,
                               "st_info": N, "st_other": N}, ...]}}
   with the symbols of .dynsym, then .symtab.  */
#ifndef ULP_SYMBOLS_H
#define ULP_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "elffile.h"

struct ulp_symbol
{
  char *name;
  uint64_t value, size;
  unsigned info, other; /* st_info, st_other */
};

struct ulp_symbols
{
  char *name; /* the library's file name */
  uint8_t build_id[64];
  size_t build_id_len;
  struct ulp_symbol *v;
  size_t n, cap;
};

/* Whether the file at PATH holds JSON rather than ELF.  */
int ulp_symbols_is_json (const char *path);
/* The defined symbols of E (.dynsym, then .symtab), E named NAME.  */
int ulp_symbols_from_elf (struct ulp_elf *e, const char *name,
                          struct ulp_symbols *out);
int ulp_symbols_write_json (const struct ulp_symbols *s, FILE *out);
/* Errors name PATH and what is wrong in it.  */
int ulp_symbols_read_json (const char *path, struct ulp_symbols *out);
/* NAME among the defined symbols, as ulp_elf_lookup_unique: 0 found, 1
   absent, 2 at several addresses.  */
int ulp_symbols_lookup (const struct ulp_symbols *s, const char *name,
                        struct ulp_elf_found *found);
void ulp_symbols_free (struct ulp_symbols *s);

#endif
