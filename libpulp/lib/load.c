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

/* A memfd the process makes, maps privately with PROT near HINT and
   closes at once; its address in ADDR.  The tool writes through
   /proc/PID/mem, which needs no PROT_WRITE.  */
struct memfd_map
{
  const char *name;
  uint64_t len, hint;
  int prot;
  uint64_t addr;
};

#define MEMFD_CALLS 4

/* Whether a call for one memfd failed, and WHY.  */
static int
memfd_failed (const struct ulp_call *calls, char *why, size_t size)
{
  static const char *const what[] = { "memfd_create", "ftruncate", "mmap" };
  for (int i = 0; i < 3; i++)
    if (calls[i].result < 0 && calls[i].result > -4096) {
      snprintf (why, size, "%s in the process failed: %s", what[i],
                strerror ((int)-calls[i].result));
      return 1;
    }
  return 0;
}

/* Makes the N (at most 2) memfd mappings M in one batch of calls, then
   the NTHEN calls THEN (which may take the first mapping's address, the
   result of call 3): a failed call fails those after it that take its
   result, and what was mapped is unmapped again if a mapping failed.  */
static int
map_memfds (struct ulp_injector *in, struct memfd_map *m, size_t n,
            struct ulp_call *then, size_t nthen)
{
  struct ulp_call calls[ULP_MAX_BATCH];
  uint64_t where = ulp_inject_scratch (in, n * (MEMFD_NAME_MAX + 1));
  char why[300] = "";
  memset (calls, 0, sizeof calls);
  for (size_t i = 0; i < n; i++) {
    uint64_t name_at = where + i * (MEMFD_NAME_MAX + 1);
    struct ulp_call *c = &calls[i * MEMFD_CALLS];
    int fd = (int)(i * MEMFD_CALLS) + 1; /* the memfd_create's result */
    if (ulp_inject_write_stack (in, name_at, m[i].name, strlen (m[i].name) + 1)
        < 0)
      return -1;
    c[0].nr = SYS_memfd_create;
    c[0].args[0] = name_at;
    c[0].args[1] = MFD_CLOEXEC_FLAG;
    c[1].nr = SYS_ftruncate;
    c[1].take[0] = fd;
    c[1].args[1] = m[i].len;
    c[2].nr = SYS_mmap;
    c[2].args[0] = m[i].hint;
    c[2].args[1] = m[i].len;
    c[2].args[2] = (uint64_t)m[i].prot;
    c[2].args[3] = MAP_PRIVATE;
    c[2].take[4] = fd;
    c[3].nr = SYS_close;
    c[3].take[0] = fd;
  }
  if (n * MEMFD_CALLS + nthen > ULP_MAX_BATCH)
    return ulp_fail ("too many system calls for one batch");
  memcpy (&calls[n * MEMFD_CALLS], then, nthen * sizeof *then);
  if (ulp_inject_batch (in, calls, n * MEMFD_CALLS + nthen) < 0)
    return -1;
  memcpy (then, &calls[n * MEMFD_CALLS], nthen * sizeof *then);
  for (size_t i = 0; i < n && !why[0]; i++)
    memfd_failed (&calls[i * MEMFD_CALLS], why, sizeof why);
  for (size_t i = 0; i < n; i++)
    m[i].addr = (uint64_t)calls[i * MEMFD_CALLS + 2].result;
  if (!why[0])
    return 0;
  ulp_fail ("%s", why);
  for (size_t i = 0; i < n; i++)
    if (calls[i * MEMFD_CALLS + 2].result >= 0) /* mapped, maybe past EOF */
      unmap (in, m[i].addr, m[i].len);
  return -1;
}

/* Where the state mapping goes: below the code it serves (NEAR).  */
static uint64_t
state_hint (uint64_t near)
{
  if (near < ULP_STATE_SIZE + (2u << 20))
    return 0; /* anywhere */
  return (near - ULP_STATE_SIZE - (1u << 20)) & ~(uint64_t)0xfffff;
}

static struct memfd_map
state_map (uint64_t near)
{
  return (struct memfd_map){ ULP_STATE_MEMFD, ULP_STATE_SIZE, state_hint (near),
                             PROT_READ | PROT_WRITE, 0 };
}

/* P's new state mapping at ADDR, set up empty.  */
static int
take_state (struct ulp_injector *in, struct ulp_process *p, uint64_t addr)
{
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
ulp_load_state (struct ulp_injector *in, struct ulp_process *p, uint64_t near)
{
  struct memfd_map m = state_map (near);
  return map_memfds (in, &m, 1, NULL, 0) < 0 ? -1 : take_state (in, p, m.addr);
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

/* The container is mapped read-only; its other segments are mapped over
   it, anonymous, with their protections from the start (no mprotect, no
   mapping both writable and executable: filters such as SUSE libpulp's
   block_mprotect refuse those), each address the result of call TAKE - 1
   plus the segment's offset (or BASE when TAKE is 0).  The bytes are
   written afterwards.  0 with N calls in CALLS, or -1 when there are more
   than MAX.  */
static int
segment_calls (const struct ulp_image *img, uint64_t base, int take,
               struct ulp_call *calls, size_t max, size_t *n)
{
  *n = 0;
  memset (calls, 0, max * sizeof *calls);
  for (size_t i = 0; i < img->nseg; i++) {
    if (img->seg[i].prot == PROT_READ)
      continue;
    if (*n == max)
      return -1;
    struct ulp_call *c = &calls[(*n)++];
    c->nr = SYS_mmap;
    c->args[0] = base + img->seg[i].vaddr;
    c->take[0] = take;
    c->args[1] = img->seg[i].size;
    c->args[2] = (uint64_t)img->seg[i].prot;
    c->args[3] = MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS;
    c->args[4] = (uint64_t)-1;
  }
  return 0;
}

static int
segments_failed (const struct ulp_call *calls, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (calls[i].result < 0 && calls[i].result > -4096)
      return ulp_fail ("mmap of a segment in the process failed: %s",
                       strerror ((int)-calls[i].result));
  return 0;
}

/* The segments in a batch of their own, when they did not fit in the
   mapping's.  */
static int
map_segments (struct ulp_injector *in, const struct ulp_image *img,
              uint64_t base)
{
  struct ulp_call calls[ULP_MAX_BATCH];
  size_t n;
  if (segment_calls (img, base, 0, calls, ULP_MAX_BATCH, &n) < 0)
    return ulp_fail ("more than %d writable or executable segments",
                     ULP_MAX_BATCH);
  if (ulp_inject_batch (in, calls, n) < 0)
    return -1;
  return segments_failed (calls, n);
}

/* The references of META (metadata.h) into BYTES, the image as it will
   be at its base: the address of each symbol of the target library at
   TARGET_BASE, or its TLS index (the module the library is in this
   process, and the symbol's offset in its TLS block).  */
static int
fill_references (struct ulp_process *p, const struct ulp_metadata *meta,
                 uint64_t target_base, uint8_t *bytes, uint64_t span)
{
  uint64_t module = 0;
  for (size_t i = 0; i < meta->nrefs; i++) {
    const struct ulp_ref_meta *r = &meta->refs[i];
    uint64_t value[2] = { target_base + r->local_offset, 0 };
    size_t len = r->tls ? 16 : 8;
    if (r->ref_offset > span || span - r->ref_offset < len)
      return ulp_fail ("reference '%s' lies outside the container",
                       r->ref_name);
    if (r->tls && !module
        && ulp_process_tls_module (p, target_base, &module) < 0)
      return -1;
    if (r->tls) {
      value[0] = module;
      value[1] = r->local_offset;
    }
    memcpy (bytes + r->ref_offset, value, len);
  }
  return 0;
}

/* Relocates the image for BASE, fills its references, and writes it there
   (through the memory file, so the protections do not matter).  */
static int
write_image (struct ulp_process *p, struct ulp_image *img,
             const struct ulp_metadata *meta, uint64_t target_base,
             uint64_t base)
{
  struct lookup l = { p, target_base };
  uint8_t *bytes = malloc (img->span);
  if (!bytes)
    return ulp_fail ("out of memory");
  int rc = ulp_image_relocate (img, base, resolve, &l, bytes);
  if (rc == 0)
    rc = fill_references (p, meta, target_base, bytes, img->span);
  if (rc == 0)
    rc = ulp_process_write (p, base, bytes, img->span);
  free (bytes);
  return rc;
}

int
ulp_load_container (struct ulp_injector *in, struct ulp_process *p,
                    struct ulp_runtime *st, const struct ulp_container *c,
                    uint64_t target_base, uint64_t state_near, uint64_t *base)
{
  struct ulp_image img;
  char name[MEMFD_NAME_MAX];
  if (ulp_image_open (c->image, ulp_container_elf_len (c), c->label, &img) < 0)
    return -1;
  memfd_name (c, name, sizeof name);
  struct memfd_map m[2]
      = { { name, img.span, 0, PROT_READ, 0 }, state_map (state_near) };
  size_t n = state_near && !p->state ? 2 : 1, nseg;
  /* The segments in the same batch, where the stub can pass the
     mapping's address on to each of them.  */
  struct ulp_call seg[3];
  int early = segment_calls (&img, 0, 3, seg, 3, &nseg) == 0;
  int rc = map_memfds (in, m, n, seg, early ? nseg : 0);
  if (rc == 0
      && (early ? segments_failed (seg, nseg)
                : map_segments (in, &img, m[0].addr))
             < 0) {
    unmap (in, m[0].addr, img.span);
    if (n == 2)
      unmap (in, m[1].addr, ULP_STATE_SIZE);
    rc = -1;
  } else if (rc == 0 && n == 2 && take_state (in, p, m[1].addr) < 0) {
    unmap (in, m[0].addr, img.span);
    rc = -1;
  }
  *base = m[0].addr;
  ulp_failpoint ("load-mapped");
  if (rc == 0 && write_image (p, &img, &c->meta, target_base, *base) < 0) {
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
