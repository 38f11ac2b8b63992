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
int ulp_elf_build_id (struct ulp_elf *e, uint8_t *out, size_t cap, size_t *len);
/* DT_SONAME into OUT: 0 found, 1 the object has none, -1 error.  */
int ulp_elf_soname (struct ulp_elf *e, char *out, size_t cap);
/* Looks in .symtab, then .dynsym, for a defined symbol; FUNC_ONLY limits
   the search to functions.  Returns 0 when found.  */
int ulp_elf_find_symbol (struct ulp_elf *e, const char *name, int func_only,
                         uint64_t *value);
/* Calls VISIT with the address of every defined function symbol.  */
void ulp_elf_each_function (struct ulp_elf *e,
                            void (*visit) (uint64_t addr, void *ctx),
                            void *ctx);
/* Copies LEN bytes at virtual address VADDR from the file's sections.  */
int ulp_elf_read (struct ulp_elf *e, uint64_t vaddr, void *buf, size_t len);
/* 0 found, 1 absent, -1 error.  DATA points into E.  */
int ulp_elf_section (struct ulp_elf *e, const char *name, const uint8_t **data,
                     size_t *len);
/* Feeds every loadable section's bytes to UPDATE.  */
int ulp_elf_digest_loadable (struct ulp_elf *e,
                             void (*update) (void *ctx, const void *data,
                                             size_t len),
                             void *ctx);

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
