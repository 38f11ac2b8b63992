/* The tool's own loader of live patch containers: lays out and relocates a
   container image held in memory for a load address in the target process,
   and the checks the packer runs so that only loadable containers ship.
   The ELF reads go through elffile.c; nothing here touches a process.  */
#ifndef ULP_LOADER_H
#define ULP_LOADER_H

#include <stddef.h>
#include <stdint.h>

struct ulp_elf;

#define ULP_IMAGE_MAX_SEGMENTS 8

/* A region to protect once the image is written.  Regions are in ascending
   order and never overlap; pages of the span outside every region hold
   nothing and can stay PROT_NONE.  The part of a writable PT_LOAD that
   PT_GNU_RELRO covers is a region of its own without PROT_WRITE, as the
   dynamic linker makes it after relocating.  */
struct ulp_image_segment
{
  uint64_t vaddr; /* page-aligned start, relative to the load base */
  uint64_t size;  /* page-rounded size of the region to protect */
  int prot;       /* PROT_READ|PROT_WRITE|PROT_EXEC from p_flags */
};

struct ulp_image_load
{
  uint64_t offset, vaddr, filesz, memsz;
};

struct ulp_image
{
  uint64_t span; /* bytes to reserve from the base: page multiple covering
                    every PT_LOAD */
  struct ulp_image_segment seg[ULP_IMAGE_MAX_SEGMENTS];
  size_t nseg;
  /* private */
  struct ulp_elf *elf;
  const uint8_t *image;
  size_t len;
  struct ulp_image_load load[ULP_IMAGE_MAX_SEGMENTS];
  size_t nload;
  int tls_segment; /* it has a PT_TLS */
};

/* Parses IMAGE (LEN bytes, must outlive IMG) as a container; NAME is used
   in messages, which start with it.  */
int ulp_image_open (const uint8_t *image, size_t len, const char *name,
                    struct ulp_image *img);
void ulp_image_close (struct ulp_image *img);

/* How the tool finds the address of an undefined symbol in the target
   process.  VERSION and FILE come from the container's .gnu.version_r (NULL
   when the reference is unversioned).  Returns 0 with *VALUE set, 1 when
   not found, -1 on error (ulp_error set).  */
typedef int (*ulp_symbol_resolver) (void *ctx, const char *name,
                                    const char *version, const char *file,
                                    uint64_t *value);

/* Zeroes OUT (img->span bytes), fills it with the bytes of every PT_LOAD at
   its vaddr (bss stays zero) and applies every dynamic relocation (DT_RELA
   and DT_JMPREL, eagerly; DT_RELR too) for load address BASE:
   R_X86_64_NONE, RELATIVE (B+A), 64 (S+A), GLOB_DAT (S), JUMP_SLOT (S). RESOLVE
   is called once per distinct undefined symbol; a weak undefined symbol that is
   not found resolves to 0; a strong one fails: "symbol NAME@VERSION not found
   in the process".  Symbols the container defines itself bind to the container
   (base + st_value), like -Bsymbolic.  Any other relocation type fails
   naming it.  Returns 0 or -1 with ulp_error; these messages do not name
   the container (the caller does).  */
int ulp_image_relocate (struct ulp_image *img, uint64_t base,
                        ulp_symbol_resolver resolve, void *ctx, uint8_t *out);

/* What ulp packer checks before it embeds metadata, so that a container
   the tool's loader cannot load is refused at build time.  Refuses
   thread-local variables, initializers other than the C runtime's
   (crtbeginS frame_dummy, crti _init), IFUNCs, text relocations,
   relocation types the loader does not apply, and a DT_NEEDED library
   TARGET does not load itself (its soname or one of its DT_NEEDED; libc.so.6
   and the dynamic loader are in every process using glibc; with TARGET
   NULL, known only by its symbols, only these two).  Returns
   0, or -1 with a message that starts with NAME.  */
int ulp_image_check (const uint8_t *image, size_t len, const char *name,
                     struct ulp_elf *target);

#endif
