#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "elffile.h"
#include "error.h"
#include "process.h"
#include "text.h"

#define RUNTIME_FILE "libpulp.so"

struct elf_facts
{
  unsigned dev_major, dev_minor;
  uint64_t inode;
  int opened; /* the mapped file could be read: the rest is about it */
  int ok;
  char soname[ULP_NAME_MAX]; /* DT_SONAME, or "" */
  uint8_t build_id[ULP_BUILD_ID_MAX];
  size_t build_id_len;
  size_t patchable;
  uint64_t runtime_offset; /* __ulp_runtime, when the file is the runtime */
  char error[256];
};

static struct elf_facts *facts;
static size_t nfacts, facts_cap;

/* Whether FD is the file of mapping M: same device and inode.  */
static int
is_mapped_file (int fd, const struct ulp_mapping *m)
{
  struct stat st;
  return fstat (fd, &st) == 0 && S_ISREG (st.st_mode)
         && (uint64_t)st.st_ino == m->inode && major (st.st_dev) == m->dev_major
         && minor (st.st_dev) == m->dev_minor;
}

/* Opens the file exactly as mapped, even when it was deleted or replaced
   on disk after the process started.  Without map_files (not root), the
   path is only taken when it still leads to the mapped device and inode:
   a bind mount or a replaced file must not pass for the mapped build.  */
static struct ulp_elf *
open_mapped (pid_t pid, const struct ulp_mapping *m, int *opened)
{
  char link[96];
  snprintf (link, sizeof link, "/proc/%d/map_files/%llx-%llx", (int)pid,
            (unsigned long long)m->start, (unsigned long long)m->end);
  int fd = open (link, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && !m->deleted) {
    fd = open (m->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0 && !is_mapped_file (fd, m)) {
      close (fd);
      ulp_fail ("%s: the file at this path is not the one the process maps "
                "(another mount or a replaced file)",
                m->path);
      return NULL;
    }
  }
  if (fd < 0) {
    ulp_fail ("%s: cannot open the mapped file: %s", m->path, strerror (errno));
    return NULL;
  }
  *opened = 1;
  return ulp_elf_open_fd (fd, m->path);
}

static size_t
count_patchable (struct ulp_elf *e)
{
  const uint8_t *data;
  size_t len;
  if (ulp_elf_section (e, "__patchable_function_entries", &data, &len) != 0)
    return 0;
  return len / 8;
}

static void
learn_facts (pid_t pid, const struct ulp_mapping *m, struct elf_facts *f)
{
  struct ulp_elf *e = open_mapped (pid, m, &f->opened);
  if (!e) {
    snprintf (f->error, sizeof f->error, "%s", ulp_error ());
    return;
  }
  if (ulp_elf_soname (e, f->soname, sizeof f->soname) != 0)
    f->soname[0] = '\0';
  if (ulp_elf_build_id (e, f->build_id, sizeof f->build_id, &f->build_id_len)
      < 0)
    snprintf (f->error, sizeof f->error, "%s", ulp_error ());
  else
    f->ok = 1;
  f->patchable = count_patchable (e);
  if (strncmp (ulp_basename (m->path), RUNTIME_FILE, strlen (RUNTIME_FILE))
      == 0)
    ulp_elf_find_symbol (e, ULP_STATE_SYMBOL, 0, &f->runtime_offset);
  ulp_elf_close (e);
}

static const struct elf_facts *
facts_for (pid_t pid, const struct ulp_mapping *m)
{
  for (size_t i = 0; i < nfacts; i++)
    if (facts[i].inode == m->inode && facts[i].dev_major == m->dev_major
        && facts[i].dev_minor == m->dev_minor)
      return &facts[i];
  if (nfacts == facts_cap) {
    size_t cap = facts_cap ? facts_cap * 2 : 32;
    struct elf_facts *grown = realloc (facts, cap * sizeof *grown);
    if (!grown)
      return NULL;
    facts = grown;
    facts_cap = cap;
  }
  struct elf_facts *f = &facts[nfacts];
  memset (f, 0, sizeof *f);
  f->dev_major = m->dev_major;
  f->dev_minor = m->dev_minor;
  f->inode = m->inode;
  learn_facts (pid, m, f);
  /* Failures to open are about this process, not the file: not cached.  */
  if (f->opened)
    nfacts++;
  return f;
}

static void
find_runtime (struct ulp_process *p)
{
  for (size_t i = 0; i < p->maps.n; i++) {
    const struct ulp_mapping *m = &p->maps.v[i];
    if (!m->path || m->offset != 0
        || strncmp (ulp_basename (m->path), RUNTIME_FILE, strlen (RUNTIME_FILE))
               != 0)
      continue;
    const struct elf_facts *f = facts_for (p->pid, m);
    if (f && f->runtime_offset) {
      p->runtime = m->start + f->runtime_offset;
      return;
    }
  }
}

/* Any user names their processes: in a report line, a name must neither
   reach the terminal as a control sequence or bytes that are not UTF-8,
   nor pass for the line's own structure ("NAME (pid N): OUTCOME").  */
static void
make_printable (char *name)
{
  ulp_defuse (name, "():");
}

int
ulp_process_open (pid_t pid, struct ulp_process *p)
{
  memset (p, 0, sizeof *p);
  p->pid = pid;
  p->mem_fd = -1;
  if (ulp_proc_name (pid, p->name, sizeof p->name) < 0
      || ulp_maps_read (pid, &p->maps) < 0)
    return ulp_fail ("no such process");
  make_printable (p->name);
  find_runtime (p);
  return 0;
}

void
ulp_process_close (struct ulp_process *p)
{
  ulp_maps_free (&p->maps);
  if (p->mem_fd >= 0)
    close (p->mem_fd);
  p->mem_fd = -1;
}

static void
fill_library (const struct ulp_mapping *m, const struct elf_facts *f,
              struct ulp_library *lib)
{
  lib->path = m->path;
  lib->base = m->start;
  memcpy (lib->build_id, f->build_id, f->build_id_len);
  lib->build_id_len = f->build_id_len;
  lib->patchable = f->patchable;
}

/* Whether the object of mapping M, with facts F, is library NAME: by its
   soname, or by its file name when it has none.  */
static int
is_library (const struct ulp_mapping *m, const struct elf_facts *f,
            const char *name)
{
  if (f && f->ok && f->soname[0])
    return strcmp (f->soname, name) == 0;
  return strcmp (ulp_basename (m->path), name) == 0;
}

int
ulp_process_libraries (struct ulp_process *p, const char *name,
                       struct ulp_library *libs, size_t max)
{
  size_t n = 0;
  for (size_t i = 0; i < p->maps.n; i++) {
    const struct ulp_mapping *m = &p->maps.v[i];
    if (!m->path || m->offset != 0 || m->path[0] != '/')
      continue;
    const struct elf_facts *f = facts_for (p->pid, m);
    if (!f)
      return ulp_fail ("out of memory");
    if (!is_library (m, f, name))
      continue;
    if (!f->ok)
      return ulp_fail ("%s", f->error);
    if (n == max)
      return ulp_fail ("%s is mapped more than %zu times", name, max);
    fill_library (m, f, &libs[n++]);
  }
  return (int)n;
}

int
ulp_process_library (struct ulp_process *p, const char *name,
                     struct ulp_library *lib)
{
  int n = ulp_process_libraries (p, name, lib, 1);
  return n < 0 ? -1 : n == 0;
}

int
ulp_process_maps_library (struct ulp_process *p, const char *name)
{
  struct ulp_library libs[ULP_MAX_COPIES];
  int n = ulp_process_libraries (p, name, libs, ULP_MAX_COPIES);
  ulp_clear_error ();
  return n != 0;
}

int
ulp_process_livepatchable (struct ulp_process *p,
                           void (*visit) (const struct ulp_library *, void *),
                           void *ctx)
{
  for (size_t i = 0; i < p->maps.n; i++) {
    const struct ulp_mapping *m = &p->maps.v[i];
    if (!m->path || m->offset != 0)
      continue;
    const struct elf_facts *f = facts_for (p->pid, m);
    if (f && f->ok && f->patchable) {
      struct ulp_library lib;
      fill_library (m, f, &lib);
      visit (&lib, ctx);
    }
  }
  return 0;
}

static int
memory_fd (struct ulp_process *p)
{
  if (p->mem_fd < 0) {
    char file[64];
    snprintf (file, sizeof file, "/proc/%d/mem", (int)p->pid);
    p->mem_fd = open (file, O_RDWR | O_CLOEXEC);
    if (p->mem_fd < 0)
      return ulp_fail ("cannot open process memory: %s", strerror (errno));
  }
  return p->mem_fd;
}

/* Process memory through /proc/PID/mem, which also writes read-only
   code pages (as a debugger does).  */
static int
transfer (struct ulp_process *p, uint64_t addr, void *buf, size_t len,
          int write)
{
  int fd = memory_fd (p);
  if (fd < 0)
    return -1;
  ssize_t n = write ? pwrite (fd, buf, len, (off_t)addr)
                    : pread (fd, buf, len, (off_t)addr);
  if (n != (ssize_t)len)
    return ulp_fail ("cannot %s process memory at 0x%llx: %s",
                     write ? "write" : "read", (unsigned long long)addr,
                     n < 0 ? strerror (errno) : "short transfer");
  return 0;
}

int
ulp_process_read (struct ulp_process *p, uint64_t addr, void *buf, size_t len)
{
  return transfer (p, addr, buf, len, 0);
}

int
ulp_process_write (struct ulp_process *p, uint64_t addr, const void *buf,
                   size_t len)
{
  return transfer (p, addr, (void *)buf, len, 1);
}

int
ulp_process_read_state (struct ulp_process *p, struct ulp_runtime *st)
{
  const size_t header = offsetof (struct ulp_runtime, patches);
  if (!p->runtime)
    return ulp_fail ("runtime not loaded (start it with "
                     "LD_PRELOAD=libpulp.so.0)");
  if (ulp_process_read (p, p->runtime, st, header) < 0)
    return -1;
  if (memcmp (st->magic, ULP_STATE_MAGIC, 8) != 0
      || st->version != ULP_STATE_VERSION || st->npatches > ULP_MAX_PATCHES
      || st->nfuncs > ULP_MAX_FUNCS)
    return ulp_fail ("runtime state block is unrecognised or corrupt");
  if (ulp_process_read (p, p->runtime + header, st->patches,
                        st->npatches * sizeof st->patches[0])
          < 0
      || ulp_process_read (p, p->runtime + offsetof (struct ulp_runtime, funcs),
                           st->funcs, st->nfuncs * sizeof st->funcs[0])
             < 0)
    return -1;
  return 0;
}
