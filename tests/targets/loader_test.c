/* Self-test of the tool's loader (libpulp/lib/loader.c) and its symbol
   lookup (ulp_elf_dynamic_symbol), in this very process:
     loader_test PATCH_LIBC.so PATCH_UNLOADABLE.so
   Imports are resolved on the objects this process has loaded (libc.so.6,
   libdemo.so.1) the way the tool does in a target: ulp_elf_dynamic_symbol
   plus the load bias, an IFUNC through the object's own IRELATIVE slot.
   The dynamic linker is the oracle: every GLOB_DAT/JUMP_SLOT slot must hold
   what dlvsym gives.  Then the relocated image is mapped and its
   demo_message_libc runs.  Prints one line per check; exits 1 at the first
   failure.  */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "elffile.h"
#include "error.h"
#include "loader.h"

extern const char *demo_message (void);

#define FAKE_BASE UINT64_C (0x7f1234560000)

static int checks;

static void
check (int ok, const char *what)
{
  if (!ok) {
    printf ("FAIL: %s (last error: %s)\n", what, ulp_error ());
    exit (1);
  }
  printf ("ok: %s\n", what);
  checks++;
}

static uint8_t *
read_file (const char *path, size_t *len)
{
  FILE *f = fopen (path, "rb");
  uint8_t *buf = NULL;
  long size;
  if (f && fseek (f, 0, SEEK_END) == 0 && (size = ftell (f)) > 0
      && fseek (f, 0, SEEK_SET) == 0 && (buf = malloc ((size_t)size))
      && fread (buf, 1, (size_t)size, f) == (size_t)size)
    *len = (size_t)size;
  else {
    printf ("FAIL: cannot read %s\n", path);
    exit (1);
  }
  fclose (f);
  return buf;
}

/* --- the process's objects, as the tool sees a target's ---------------- */

struct object
{
  struct ulp_elf *elf;
  uint64_t bias;
};

static struct object objects[64];
static size_t nobjects;

static int
add_object (struct dl_phdr_info *info, size_t size, void *ctx)
{
  (void)size;
  (void)ctx;
  /* The program has no name; the vDSO's is no file's (open fails).  */
  if (!info->dlpi_name[0] || nobjects == 64)
    return 0;
  struct ulp_elf *e = ulp_elf_open (info->dlpi_name);
  if (e)
    objects[nobjects++] = (struct object){ e, info->dlpi_addr };
  return 0;
}

static struct object *
object_named (const char *soname)
{
  char name[256];
  for (size_t i = 0; i < nobjects; i++)
    if (ulp_elf_soname (objects[i].elf, name, sizeof name) == 0
        && strcmp (name, soname) == 0)
      return &objects[i];
  printf ("FAIL: %s is not loaded\n", soname);
  exit (1);
}

struct resolution
{
  char name[64], version[32], file[32];
  int calls;
};

static struct resolution resolutions[64];
static size_t nresolutions;

static void
log_call (const char *name, const char *version, const char *file)
{
  for (size_t i = 0; i < nresolutions; i++)
    if (strcmp (resolutions[i].name, name) == 0) {
      resolutions[i].calls++;
      return;
    }
  if (nresolutions == 64)
    return;
  struct resolution *r = &resolutions[nresolutions++];
  snprintf (r->name, sizeof r->name, "%s", name);
  snprintf (r->version, sizeof r->version, "%s", version ? version : "");
  snprintf (r->file, sizeof r->file, "%s", file ? file : "");
  r->calls = 1;
}

static const struct resolution *
logged (const char *name)
{
  for (size_t i = 0; i < nresolutions; i++)
    if (strcmp (resolutions[i].name, name) == 0)
      return &resolutions[i];
  return NULL;
}

static int
resolve (void *ctx, const char *name, const char *version, const char *file,
         uint64_t *value)
{
  (void)ctx;
  log_call (name, version, file);
  for (size_t i = 0; i < nobjects; i++) {
    uint64_t v, slot;
    int ifunc;
    int rc = ulp_elf_dynamic_symbol (objects[i].elf, name, version, &v, &ifunc);
    if (rc < 0)
      return -1;
    if (rc == 1)
      continue;
    if (!ifunc) {
      *value = objects[i].bias + v;
      return 0;
    }
    if (ulp_elf_ifunc_slot (objects[i].elf, v, &slot) != 0)
      return ulp_fail ("%s: IFUNC without a slot", name);
    memcpy (value, (const void *)(uintptr_t)(objects[i].bias + slot),
            sizeof *value);
    return 0;
  }
  return 1;
}

/* --- checks ----------------------------------------------------------------
 */

static void
check_lookup (void)
{
  struct object *libc = object_named ("libc.so.6");
  uint64_t v214, v225, vdefault, v;
  int ifunc214, ifunc225, ifunc;
  check (ulp_elf_dynamic_symbol (libc->elf, "memcpy", "GLIBC_2.14", &v214,
                                 &ifunc214)
                 == 0
             && ifunc214,
         "memcpy@GLIBC_2.14 is found and is an IFUNC");
  check (ulp_elf_dynamic_symbol (libc->elf, "memcpy", "GLIBC_2.2.5", &v225,
                                 &ifunc225)
                 == 0
             && v225 != v214,
         "memcpy@GLIBC_2.2.5 (hidden) is another definition");
  check (ulp_elf_dynamic_symbol (libc->elf, "memcpy", NULL, &vdefault, &ifunc)
                 == 0
             && vdefault == v214,
         "memcpy without a version is the default, GLIBC_2.14");
  check (ulp_elf_dynamic_symbol (libc->elf, "memcpy", "GLIBC_9.9", &v, &ifunc)
             == 1,
         "memcpy@GLIBC_9.9 is not found");
  check (ulp_elf_dynamic_symbol (libc->elf, "no_such_symbol", NULL, &v, &ifunc)
             == 1,
         "an unknown name is not found");
  void *snprintf_addr = dlvsym (RTLD_DEFAULT, "snprintf", "GLIBC_2.2.5");
  check (
      ulp_elf_dynamic_symbol (libc->elf, "snprintf", "GLIBC_2.2.5", &v, &ifunc)
              == 0
          && !ifunc && libc->bias + v == (uintptr_t)snprintf_addr,
      "snprintf's value plus the load bias is where ld.so put it");
}

/* The slots of every relocation, against what the dynamic linker gives.  */
struct slot_check
{
  struct ulp_elf *container;
  const uint8_t *out;
  uint64_t base;
  int relative, imports, own, mismatches;
};

static int
check_slot (void *ctx, const struct ulp_elf_reloc *r)
{
  struct slot_check *c = ctx;
  uint64_t slot, expected;
  struct ulp_elf_symbol sym = { 0 };
  memcpy (&slot, c->out + r->offset, sizeof slot);
  if (r->symbol
      && ulp_elf_dynamic_symbol_at (c->container, r->symbol, &sym) != 0)
    return -1;
  if (r->type == R_X86_64_RELATIVE) {
    expected = c->base + (uint64_t)r->addend;
    c->relative++;
  } else if (sym.shndx != SHN_UNDEF) {
    expected = c->base + sym.value + (r->type == R_X86_64_64 ? r->addend : 0);
    c->own++;
  } else {
    void *real = sym.version ? dlvsym (RTLD_DEFAULT, sym.name, sym.version)
                             : dlsym (RTLD_DEFAULT, sym.name);
    expected = (uintptr_t)real;
    c->imports++;
  }
  if (slot != expected) {
    printf ("  slot 0x%llx (%s): 0x%llx, expected 0x%llx\n",
            (unsigned long long)r->offset, sym.name ? sym.name : "relative",
            (unsigned long long)slot, (unsigned long long)expected);
    c->mismatches++;
  }
  return 0;
}

static void
check_resolutions (void)
{
  const struct resolution *m = logged ("memcpy");
  check (m && strcmp (m->version, "GLIBC_2.14") == 0
             && strcmp (m->file, "libc.so.6") == 0,
         "memcpy is imported as GLIBC_2.14 from libc.so.6");
  const struct resolution *d = logged ("demo_original_count");
  check (d && !d->version[0], "demo_original_count is imported unversioned");
  check (logged ("snprintf") && logged ("strlen"),
         "snprintf and strlen are imported");
  int once = 1;
  for (size_t i = 0; i < nresolutions; i++)
    once &= resolutions[i].calls == 1;
  check (once, "the resolver is asked once per symbol");
}

static void
check_layout (const struct ulp_image *img)
{
  int ok = img->span % 4096 == 0 && img->nseg > 0, exec = 0;
  for (size_t i = 0; i < img->nseg; i++) {
    const struct ulp_image_segment *s = &img->seg[i];
    ok &= s->vaddr % 4096 == 0 && s->size % 4096 == 0 && s->size > 0
          && s->vaddr + s->size <= img->span
          && (i == 0
              || s->vaddr >= img->seg[i - 1].vaddr + img->seg[i - 1].size);
    exec |= (s->prot & PROT_EXEC) != 0;
  }
  check (ok && exec, "segments are page-aligned, ordered, within the span");
}

static void
check_relocation (const uint8_t *image, size_t len, struct ulp_image *img)
{
  uint8_t *out = malloc (img->span);
  check (out && ulp_image_relocate (img, FAKE_BASE, resolve, NULL, out) == 0,
         "patch_libc.so relocates at a fake base");
  struct ulp_elf *container
      = ulp_elf_open_memory ((uint8_t *)image, len, "patch_libc.so");
  struct slot_check c = { container, out, FAKE_BASE, 0, 0, 0, 0 };
  check (container
             && ulp_elf_each_dynamic_reloc (container, check_slot, &c) == 0
             && c.mismatches == 0 && c.relative > 0 && c.imports >= 4,
         "every slot holds what ld.so gives (imports, IFUNCs, relative)");
  check_resolutions ();
  ulp_elf_close (container);
  free (out);
}

/* Maps the image here, as the tool does in a target, and runs it.  */
static void
check_running (const uint8_t *image, size_t len, struct ulp_image *img)
{
  uint64_t entry;
  uint8_t *map = mmap (NULL, img->span, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint8_t *out = malloc (img->span);
  struct ulp_elf *container
      = ulp_elf_open_memory ((uint8_t *)image, len, "patch_libc.so");
  if (map == MAP_FAILED || !out || !container
      || ulp_elf_find_symbol (container, "demo_message_libc", 1, &entry) != 0
      || ulp_image_relocate (img, (uintptr_t)map, resolve, NULL, out) != 0)
    check (0, "map and relocate patch_libc.so in this process");
  memcpy (map, out, img->span);
  mprotect (map, img->span, PROT_NONE);
  for (size_t i = 0; i < img->nseg; i++)
    mprotect (map + img->seg[i].vaddr, img->seg[i].size, img->seg[i].prot);
  demo_message ();
  demo_message ();
  const char *(*patched) (void) = (const char *(*)(void)) (map + entry);
  const char *message = patched ();
  printf ("  demo_message_libc: %s\n", message);
  check (strcmp (message, "patched libc 2") == 0,
         "the relocated replacement runs: libc, IFUNCs and libdemo calls");
  ulp_elf_close (container);
  free (out);
}

static void
check_unloadable (const char *path)
{
  size_t len;
  uint8_t *image = read_file (path, &len);
  struct ulp_image img;
  uint8_t *out = NULL;
  int rc = ulp_image_open (image, len, path, &img);
  if (rc == 0 && (out = malloc (img.span)))
    rc = ulp_image_relocate (&img, FAKE_BASE, resolve, NULL, out);
  printf ("  %s\n", ulp_error ());
  check (rc < 0
             && strcmp (ulp_error (), "symbol no_such_symbol_anywhere not "
                                      "found in the process")
                    == 0,
         "a missing strong symbol fails, naming it");
  ulp_image_close (&img);
  free (out);
  free (image);
}

int
main (int argc, char **argv)
{
  if (argc != 3) {
    fprintf (stderr, "usage: %s PATCH_LIBC.so PATCH_UNLOADABLE.so\n", argv[0]);
    return 2;
  }
  dl_iterate_phdr (add_object, NULL);
  check_lookup ();
  size_t len;
  uint8_t *image = read_file (argv[1], &len);
  struct ulp_image img;
  if (ulp_image_open (image, len, argv[1], &img) < 0)
    check (0, ulp_error ());
  check_layout (&img);
  check_relocation (image, len, &img);
  check_running (image, len, &img);
  ulp_image_close (&img);
  free (image);
  check_unloadable (argv[2]);
  printf ("loader self-test: %d checks passed\n", checks);
  return 0;
}
