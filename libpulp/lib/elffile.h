/* Every ELF read and write on the tool side goes through here (libelf).  */
#ifndef ULP_ELFFILE_H
#define ULP_ELFFILE_H

#include <stddef.h>
#include <stdint.h>

struct ulp_elf;

/* Errors name the file: "PATH: no such file", "PATH: not an ELF file".  */
struct ulp_elf *ulp_elf_open (const char *path);
/* Takes ownership of FD; NAME is used in messages.  */
struct ulp_elf *ulp_elf_open_fd (int fd, const char *name);
/* Parses LEN bytes at IMAGE, which must outlive the handle.  */
struct ulp_elf *ulp_elf_open_memory (uint8_t *image, size_t len,
                                     const char *name);
void ulp_elf_close (struct ulp_elf *e);

int ulp_elf_is_shared_object (struct ulp_elf *e);
/* A program linked at a fixed address (ET_EXEC, not position-independent).  */
int ulp_elf_is_fixed_program (struct ulp_elf *e);
int ulp_elf_build_id (struct ulp_elf *e, uint8_t *out, size_t cap, size_t *len);
/* DT_SONAME into OUT: 0 found, 1 the object has none, -1 error.  */
int ulp_elf_soname (struct ulp_elf *e, char *out, size_t cap);
/* Looks in .symtab, then .dynsym, for a defined symbol; FUNC_ONLY limits
   the search to functions.  Returns 0 when found.  */
int ulp_elf_find_symbol (struct ulp_elf *e, const char *name, int func_only,
                         uint64_t *value);
/* A defined symbol found by ulp_elf_lookup_unique.  */
struct ulp_elf_found
{
  uint64_t value, size;
  int type; /* STT_* */
};
/* NAME among the defined symbols of the full symbol table (.symtab), or of
   .dynsym when the file has none: 0 found (aliases at one address count
   once), 1 absent, 2 ambiguous (local symbols of that name at different
   addresses, from several source files).  */
int ulp_elf_lookup_unique (struct ulp_elf *e, const char *name,
                           struct ulp_elf_found *found);
/* Calls VISIT for every named symbol that the file defines, those of
   .dynsym first, then those of .symtab (st_info and st_other as in the
   file); a non-zero return stops.  */
typedef int (*ulp_elf_symbol_visitor) (void *ctx, const char *name,
                                       uint64_t value, uint64_t size,
                                       unsigned info, unsigned other);
int ulp_elf_each_symbol (struct ulp_elf *e, ulp_elf_symbol_visitor visit,
                         void *ctx);
/* Whether the file has a full symbol table (not stripped).  */
int ulp_elf_has_symtab (struct ulp_elf *e);
/* The separate debug file of a stripped E that lives at PATH: by build-ID
   (/usr/lib/debug/.build-id/xx/rest.debug), then by .gnu_debuglink (next
   to PATH, in its .debug/, under /usr/lib/debug); NULL when none is found.
   ROOT, when not NULL, is prefixed to the /usr/lib/debug paths.  */
struct ulp_elf *ulp_elf_open_debug (struct ulp_elf *e, const char *path,
                                    const char *root);

/* Calls VISIT with the address of every defined function symbol.  */
void ulp_elf_each_function (struct ulp_elf *e,
                            void (*visit) (uint64_t addr, void *ctx),
                            void *ctx);
/* Copies LEN bytes at virtual address VADDR from the file's sections.  */
int ulp_elf_read (struct ulp_elf *e, uint64_t vaddr, void *buf, size_t len);
/* The same where the section may end after NEED bytes: the rest of the
   LEN is zeros.  */
int ulp_elf_read_at_least (struct ulp_elf *e, uint64_t vaddr, void *buf,
                           size_t len, size_t need);
/* 0 found, 1 absent, -1 error.  DATA points into E.  */
int ulp_elf_section (struct ulp_elf *e, const char *name, const uint8_t **data,
                     size_t *len);
/* Feeds every loadable section's bytes to UPDATE.  */
int ulp_elf_digest_loadable (struct ulp_elf *e,
                             void (*update) (void *ctx, const void *data,
                                             size_t len),
                             void *ctx);

/* The name given when E was opened, as used in its messages.  */
const char *ulp_elf_name (struct ulp_elf *e);
/* The whole file as libelf holds it; DATA lives as long as E.  */
int ulp_elf_raw_image (struct ulp_elf *e, const uint8_t **data, size_t *len);

/* A program header.  */
struct ulp_elf_segment
{
  uint32_t type;  /* PT_* */
  uint32_t flags; /* PF_* */
  uint64_t offset, vaddr, filesz, memsz, align;
};
int ulp_elf_segment_count (struct ulp_elf *e, size_t *count);
int ulp_elf_segment (struct ulp_elf *e, size_t index,
                     struct ulp_elf_segment *seg);

/* Calls VISIT for every .dynamic entry before DT_NULL.  STRING is the
   entry's string for DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH, NULL for
   other tags.  Returns 0, the first nonzero result of VISIT, or -1 when
   .dynamic is unreadable.  An object without .dynamic has no entries.  */
typedef int (*ulp_elf_dynamic_visitor) (void *ctx, int64_t tag, uint64_t value,
                                        const char *string);
int ulp_elf_each_dynamic (struct ulp_elf *e, ulp_elf_dynamic_visitor visit,
                          void *ctx);

struct ulp_elf_reloc
{
  uint64_t offset; /* r_offset: where to write */
  uint32_t type;   /* R_X86_64_* */
  uint32_t symbol; /* index in .dynsym, 0 for none */
  int64_t addend;
};
/* Calls VISIT for every relocation of the DT_RELA table, then of the
   DT_JMPREL one (objects with DT_REL tables are refused: -1).  The packed
   relative relocations of DT_RELR are ulp_elf_each_relr's.  Returns like
   ulp_elf_each_dynamic.  */
typedef int (*ulp_elf_reloc_visitor) (void *ctx,
                                      const struct ulp_elf_reloc *reloc);
int ulp_elf_each_dynamic_reloc (struct ulp_elf *e, ulp_elf_reloc_visitor visit,
                                void *ctx);

/* Calls VISIT with the r_offset of every DT_RELR relocation: RELATIVE
   ones whose addend is what the file holds at that address.  Returns like
   ulp_elf_each_dynamic.  */
typedef int (*ulp_elf_relr_visitor) (void *ctx, uint64_t offset);
int ulp_elf_each_relr (struct ulp_elf *e, ulp_elf_relr_visitor visit,
                       void *ctx);

/* An entry of .dynsym; the strings point into E.  */
struct ulp_elf_symbol
{
  const char *name;
  uint64_t value, size;
  unsigned char type, bind; /* STT_*, STB_* */
  uint16_t shndx;           /* SHN_UNDEF when undefined */
  const char *version;      /* from .gnu.version_d/_r, NULL: unversioned */
  const char *file;         /* for a version needed from another object:
                               that object's DT_NEEDED name */
  int hidden;               /* a non-default version (NAME@VER) */
};
/* The .dynsym entries, symbol 0 included; 0 when there is no .dynsym.  */
int ulp_elf_dynamic_symbol_count (struct ulp_elf *e, size_t *count);
/* 0, 1 when INDEX is past the end, -1 error.  */
int ulp_elf_dynamic_symbol_at (struct ulp_elf *e, size_t index,
                               struct ulp_elf_symbol *sym);
/* Looks up a defined symbol in .dynsym (the dynamic symbol table, what the
   dynamic linker sees).  With VERSION: the definition whose version (from
   .gnu.version/.gnu.version_d) has that name, hidden or not; failing that,
   like the dynamic linker, a non-hidden unversioned definition, or any
   definition when the object has no symbol versions at all.  Without: the
   unversioned or the default (non-hidden) definition.  Local, undefined,
   absolute and thread-local symbols never match.  *IFUNC is set when it is
   STT_GNU_IFUNC (VALUE is then the resolver's address).  The first call
   builds a hash table kept until ulp_elf_close, so lookups are O(1); not
   thread-safe.  Returns 0 found, 1 not found, -1 error.  */
int ulp_elf_dynamic_symbol (struct ulp_elf *e, const char *name,
                            const char *version, uint64_t *value, int *ifunc);
/* The name of a function symbol at ADDR (.symtab, else .dynsym); NULL when
   there is none.  The name points into E.  */
const char *ulp_elf_function_at (struct ulp_elf *e, uint64_t addr);

/* The first PT_LOAD's vaddr and the end (vaddr + memsz) of the last
   executable PT_LOAD: 0, 1 when no segment is executable, -1 error.  */
int ulp_elf_exec_extent (struct ulp_elf *e, uint64_t *first_vaddr,
                         uint64_t *exec_end);
/* Where the object keeps the address its IFUNC with resolver RESOLVER
   resolved to: the r_offset of its IRELATIVE relocation with that addend,
   else of a GLOB_DAT, JUMP_SLOT or 64 relocation against its own IFUNC
   symbol with that value.  Built into a table on first use.  0 with *SLOT
   set, 1 when there is none, -1 error.  */
int ulp_elf_ifunc_slot (struct ulp_elf *e, uint64_t resolver, uint64_t *slot);
/* Where E keeps the address of NAME (of VERSION, when not NULL), which it
   imports: the r_offset of a GLOB_DAT, JUMP_SLOT or 64 relocation against
   it.  0 with *SLOT set, 1 when E does not import it, -1 error.  */
int ulp_elf_import_slot (struct ulp_elf *e, const char *name,
                         const char *version, uint64_t *slot);

struct ulp_new_section
{
  const char *name;
  const uint8_t *data;
  size_t len;
};

/* Adds or replaces non-loadable sections in PATH.  The file is rewritten
   through a temporary copy renamed into place: on any error PATH is left
   exactly as it was.  */
int ulp_elf_embed_sections (const char *path,
                            const struct ulp_new_section *sections, size_t n);

#endif
