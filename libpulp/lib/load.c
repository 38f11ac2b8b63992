#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "error.h"
#include "failpoint.h"
#include "load.h"
#include "loader.h"
#include "patch.h"

#define MFD_CLOEXEC_FLAG 1u
#define MEMFD_NAME_MAX 200

/* Makes a memfd named NAME of LEN bytes in the process and maps it
   privately with PROT near HINT; the descriptor is closed at once.  The
   tool writes through /proc/PID/mem, which needs no PROT_WRITE.  */
static int
map_memfd (struct ulp_injector *in, const char *name, uint64_t len,
           uint64_t hint, uint64_t *addr, int prot)
{
  uint64_t where = ulp_inject_scratch (in, MEMFD_NAME_MAX + 1);
  int64_t fd, mapped, ignored;
  if (ulp_process_write (in->proc, where, name, strlen (name) + 1) < 0)
    return -1;
  uint64_t create[6] = { where, MFD_CLOEXEC_FLAG };
  if (ulp_inject_call (in, "memfd_create", SYS_memfd_create, create, &fd) < 0)
    return -1;
  uint64_t size[6] = { (uint64_t)fd, len };
  uint64_t map[6] = { hint, len, (uint64_t)prot, MAP_PRIVATE, (uint64_t)fd, 0 };
  uint64_t fd_only[6] = { (uint64_t)fd };
  int rc = ulp_inject_call (in, "ftruncate", SYS_ftruncate, size, &ignored);
  if (rc == 0)
    rc = ulp_inject_call (in, "mmap", SYS_mmap, map, &mapped);
  if (ulp_inject_call (in, "close", SYS_close, fd_only, &ignored) < 0)
    rc = -1;
  if (rc == 0)
    *addr = (uint64_t)mapped;
  return rc;
}

static void
unmap (struct ulp_injector *in, uint64_t addr, uint64_t len)
{
  char saved[512];
  int64_t ignored;
  uint64_t args[6] = { addr, len };
  snprintf (saved, sizeof saved, "%s", ulp_error ());
  ulp_inject_call (in, "munmap", SYS_munmap, args, &ignored);
  ulp_fail ("%s", saved);
}

int
ulp_load_state (struct ulp_injector *in, struct ulp_process *p, uint64_t near)
{
  uint64_t hint = (near - ULP_STATE_SIZE - (1u << 20)) & ~(uint64_t)0xfffff;
  uint64_t addr;
  if (map_memfd (in, ULP_STATE_MEMFD, ULP_STATE_SIZE, hint, &addr,
                 PROT_READ | PROT_WRITE)
      < 0)
    return -1;
  ulp_failpoint ("state-mapped");
  p->state = addr;
  if (ulp_load_state_init (p) < 0) {
    unmap (in, addr, ULP_STATE_SIZE);
    p->state = 0;
    return -1;
  }
  return 0;
}

int
ulp_load_state_init (struct ulp_process *p)
{
  uint64_t addr = p->state;
  struct ulp_runtime empty;
  struct ulp_commit c;
  ulp_state_empty (&empty);
  memset (&c, 0, sizeof c);
  memcpy (c.magic, ULP_COMMIT_MAGIC, 8);
  c.version = ULP_STATE_VERSION;
  c.self = addr;
  if (ulp_process_write (p, addr + ULP_PAGE, &empty,
                         offsetof (struct ulp_runtime, patches))
          < 0
      || ulp_process_write (p, addr, &c, sizeof c) < 0)
    return -1;
  p->state_blank = 0;
  return 0;
}

struct lookup
{
  struct ulp_process *proc;
  uint64_t first;
};

static int
resolve (void *ctx, const char *name, const char *version, const char *file,
         uint64_t *value)
{
  struct lookup *l = ctx;
  (void)file;
  return ulp_process_symbol (l->proc, l->first, name, version, value);
}

/* Whether the code of C's replacement functions at BASE in P is C's.  */
static int
load_matches (struct ulp_process *p, const struct ulp_container *c,
              uint64_t base)
{
  for (size_t f = 0; f < c->meta.nfuncs; f++) {
    uint8_t loaded[ULP_CODE_CHECK];
    if (ulp_process_read (p, base + c->meta.funcs[f].new_offset, loaded,
                          c->code_len[f])
            < 0
        || memcmp (loaded, c->code[f], c->code_len[f]) != 0)
      return 0;
  }
  return 1;
}

int
ulp_load_find (struct ulp_process *p, const struct ulp_runtime *st,
               const struct ulp_container *c, uint64_t *base)
{
  for (uint32_t i = 0; i < st->nloaded; i++)
    if (memcmp (st->loaded[i].id, c->meta.id, ULP_ID_LEN) == 0
        && load_matches (p, c, st->loaded[i].base)) {
      *base = st->loaded[i].base;
      return 1;
    }
  ulp_clear_error ();
  return 0;
}

static void
remember (struct ulp_runtime *st, const struct ulp_container *c, uint64_t base,
          uint64_t span)
{
  if (st->nloaded == ULP_MAX_PATCHES) /* forget the oldest; it stays mapped */
    memmove (&st->loaded[0], &st->loaded[1],
             --st->nloaded * sizeof st->loaded[0]);
  struct ulp_loaded *l = &st->loaded[st->nloaded++];
  memcpy (l->id, c->meta.id, ULP_ID_LEN);
  l->base = base;
  l->span = span;
}

/* "ulp:NAME", NAME the container's file name with only safe bytes.  */
static void
memfd_name (const struct ulp_container *c, char *out, size_t size)
{
  const char *slash = strrchr (c->label, '/');
  const char *name = slash ? slash + 1 : c->label;
  size_t n = (size_t)snprintf (out, size, "%s%s", ULP_CONTAINER_MEMFD, name);
  for (size_t i = sizeof ULP_CONTAINER_MEMFD - 1; i < n && i < size; i++) {
    char ch = out[i];
    int safe = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
               || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'
               || ch == '_';
    if (!safe)
      out[i] = '_';
  }
}

/* The container is mapped read-only: only regions that differ change.  */
static int
protect (struct ulp_injector *in, const struct ulp_image *img, uint64_t base)
{
  for (size_t i = 0; i < img->nseg; i++) {
    int64_t ignored;
    if (img->seg[i].prot == PROT_READ)
      continue;
    uint64_t args[6] = { base + img->seg[i].vaddr, img->seg[i].size,
                         (uint64_t)img->seg[i].prot };
    if (ulp_inject_call (in, "mprotect", SYS_mprotect, args, &ignored) < 0)
      return -1;
  }
  return 0;
}

static int
write_image (struct ulp_injector *in, struct ulp_process *p,
             struct ulp_image *img, uint64_t target_base, uint64_t base)
{
  struct lookup l = { p, target_base };
  uint8_t *bytes = malloc (img->span);
  if (!bytes)
    return ulp_fail ("out of memory");
  int rc = ulp_image_relocate (img, base, resolve, &l, bytes);
  if (rc == 0)
    rc = ulp_process_write (p, base, bytes, img->span);
  free (bytes);
  return rc == 0 ? protect (in, img, base) : -1;
}

int
ulp_load_container (struct ulp_injector *in, struct ulp_process *p,
                    struct ulp_runtime *st, const struct ulp_container *c,
                    uint64_t target_base, uint64_t *base)
{
  struct ulp_image img;
  char name[MEMFD_NAME_MAX];
  if (ulp_image_open (c->image, ulp_container_elf_len (c), c->label, &img) < 0)
    return -1;
  memfd_name (c, name, sizeof name);
  int rc = map_memfd (in, name, img.span, 0, base, PROT_READ);
  ulp_failpoint ("load-mapped");
  if (rc == 0 && write_image (in, p, &img, target_base, *base) < 0) {
    ulp_fail ("cannot load: %s", ulp_error ());
    unmap (in, *base, img.span);
    rc = -1;
  } else if (rc == 0 && !load_matches (p, c, *base)) {
    ulp_fail ("the process has other code mapped for %s than the container",
              c->label);
    unmap (in, *base, img.span);
    rc = -1;
  }
  if (rc == 0)
    remember (st, c, *base, img.span);
  ulp_image_close (&img);
  return rc;
}
