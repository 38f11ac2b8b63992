#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "array.h"
#include "elffile.h"
#include "error.h"
#include "patch.h"
#include "process.h"
#include "text.h"

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
  /* The first PT_LOAD's page and the end of the executable segments:
     what lies after that end in its last page is a cave.  */
  uint64_t first_vaddr, exec_end;
  struct ulp_elf *elf; /* kept open for symbol lookups */
  char error[256];
};

/* What is known of each object file, by device and inode, for the whole
   run: shared by the threads that plan, each entry allocated once so that
   the pointers handed out stay valid.  */
static struct elf_facts **facts;
static size_t nfacts, facts_cap;
static pthread_mutex_t facts_lock = PTHREAD_MUTEX_INITIALIZER;

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
  if (ulp_elf_exec_extent (e, &f->first_vaddr, &f->exec_end) != 0)
    f->exec_end = 0;
  f->elf = e;
}

static const struct elf_facts *
find_or_learn (pid_t pid, const struct ulp_mapping *m)
{
  /* Failures to open are about this process, not the file: not cached.  */
  static _Thread_local struct elf_facts unopened;
  for (size_t i = 0; i < nfacts; i++)
    if (facts[i]->inode == m->inode && facts[i]->dev_major == m->dev_major
        && facts[i]->dev_minor == m->dev_minor)
      return facts[i];
  struct elf_facts *f = calloc (1, sizeof *f);
  if (!f || ulp_reserve (&facts, &facts_cap, nfacts, sizeof *facts) < 0) {
    free (f);
    return NULL;
  }
  f->dev_major = m->dev_major;
  f->dev_minor = m->dev_minor;
  f->inode = m->inode;
  learn_facts (pid, m, f);
  if (f->opened)
    return facts[nfacts++] = f;
  unopened = *f;
  free (f);
  return &unopened;
}

static const struct elf_facts *
facts_for (pid_t pid, const struct ulp_mapping *m)
{
  pthread_mutex_lock (&facts_lock);
  const struct elf_facts *f = find_or_learn (pid, m);
  pthread_mutex_unlock (&facts_lock);
  return f;
}

uint64_t
ulp_maps_state (const struct ulp_maps *maps)
{
  static const char name[] = "/memfd:" ULP_STATE_MEMFD;
  for (size_t i = 0; i < maps->n; i++) {
    const struct ulp_mapping *m = &maps->v[i];
    if (m->path && m->offset == 0 && strcmp (m->path, name) == 0
        && m->end - m->start == ULP_STATE_SIZE)
      return m->start;
  }
  return 0;
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
ulp_process_open_maps (pid_t pid, struct ulp_process *p)
{
  memset (p, 0, sizeof *p);
  p->pid = p->view = pid;
  p->mem_fd = -1;
  if (ulp_maps_read (pid, &p->maps) < 0) {
    pid_t thread = ulp_proc_live_thread (pid);
    if (thread <= 0 || ulp_maps_read (thread, &p->maps) < 0)
      return ulp_fail ("no such process");
    p->view = thread;
  }
  p->state = ulp_maps_state (&p->maps);
  return 0;
}

int
ulp_process_identify (struct ulp_process *p)
{
  struct ulp_proc_stat st;
  if (ulp_proc_stat (p->pid, &st) < 0)
    return -1;
  snprintf (p->name, sizeof p->name, "%s", st.name);
  make_printable (p->name);
  p->ppid = st.ppid;
  p->exec_since_fork = !(st.flags & ULP_PF_FORKNOEXEC);
  p->threads = st.threads;
  p->env_start = st.env_start;
  p->env_end = st.env_end;
  return 0;
}

/* One system call where reading /proc/PID/environ takes three (planning
   reads it for every process that maps a target).  */
ssize_t
ulp_process_environ (const struct ulp_process *p, char *buf, size_t size)
{
  size_t len = p->env_end > p->env_start ? p->env_end - p->env_start : 0;
  if (len > size)
    len = size;
  struct iovec here = { buf, len };
  struct iovec there = { (void *)p->env_start, len };
  ssize_t n = len ? process_vm_readv (p->view, &here, 1, &there, 1, 0) : -1;
  return n >= 0 ? n : ulp_proc_read (p->pid, "environ", buf, size);
}

int
ulp_process_open (pid_t pid, struct ulp_process *p)
{
  if (ulp_process_open_maps (pid, p) < 0 || ulp_process_identify (p) < 0) {
    ulp_maps_free (&p->maps);
    return ulp_fail ("no such process");
  }
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

/* The first mapping of a file that may be an ELF object (not one of the
   memfds the tool makes).  */
static int
is_object_file (const struct ulp_mapping *m)
{
  return m->path && m->offset == 0 && m->path[0] == '/'
         && strncmp (m->path, "/memfd:", 7) != 0;
}

/* Where the object mapped by M (its first mapping) has address 0.  */
static uint64_t
load_bias (const struct ulp_mapping *m, const struct elf_facts *f)
{
  return m->start - (f->first_vaddr & ~(uint64_t)(ULP_PAGE - 1));
}

static void
fill_library (const struct ulp_mapping *m, const struct elf_facts *f,
              struct ulp_library *lib)
{
  lib->path = m->path;
  /* Facts of a file that could not be opened are not kept: no pointer.  */
  lib->soname = f->opened ? f->soname : "";
  lib->base = load_bias (m, f);
  lib->start = m->start;
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
    if (!is_object_file (m))
      continue;
    const struct elf_facts *f = facts_for (p->view, m);
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
    const struct elf_facts *f = facts_for (p->view, m);
    if (f && f->ok && f->patchable) {
      struct ulp_library lib;
      fill_library (m, f, &lib);
      visit (&lib, ctx);
    }
  }
  return 0;
}

/* The mapping of P that holds ADDR, or NULL.  */
static const struct ulp_mapping *
mapping_at (const struct ulp_process *p, uint64_t addr)
{
  for (size_t i = 0; i < p->maps.n; i++)
    if (addr >= p->maps.v[i].start && addr < p->maps.v[i].end)
      return &p->maps.v[i];
  return NULL;
}

/* After the executable segments of the object mapped by M (its first
   mapping), up to the end of their last page: bytes of no segment, mapped
   executable, that no code jumps to.  */
static uint64_t
cave_of (const struct ulp_process *p, const struct ulp_mapping *m,
         const struct elf_facts *f, size_t len)
{
  if (!f->exec_end)
    return 0;
  uint64_t bias = m->start - (f->first_vaddr & ~(uint64_t)(ULP_PAGE - 1));
  uint64_t start = (bias + f->exec_end + 15) & ~(uint64_t)15;
  const struct ulp_mapping *code = mapping_at (p, bias + f->exec_end - 1);
  if (!code || code->perms[2] != 'x' || code->inode != m->inode
      || code->dev_major != m->dev_major || code->dev_minor != m->dev_minor)
    return 0;
  uint64_t page_end
      = (bias + f->exec_end + ULP_PAGE - 1) & ~(uint64_t)(ULP_PAGE - 1);
  if (page_end > code->end || start + len > page_end)
    return 0;
  return start;
}

uint64_t
ulp_process_code_cave (struct ulp_process *p, size_t len)
{
  for (size_t i = 0; i < p->maps.n; i++) {
    const struct ulp_mapping *m = &p->maps.v[i];
    if (!is_object_file (m))
      continue;
    const struct elf_facts *f = facts_for (p->view, m);
    uint64_t cave = f && f->opened ? cave_of (p, m, f, len) : 0;
    if (cave)
      return cave;
  }
  ulp_fail ("no room for the system call stub in any mapped object");
  return 0;
}

static int memory_fd (struct ulp_process *p);

int
ulp_process_tie (struct ulp_process *p)
{
  return memory_fd (p) < 0 ? -1 : 0;
}

static int
memory_fd (struct ulp_process *p)
{
  if (p->mem_fd < 0) {
    char file[64];
    snprintf (file, sizeof file, "/proc/%d/mem", (int)p->view);
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

pid_t
ulp_process_shares_memory (const struct ulp_process *p)
{
  pid_t parent = p->ppid;
  if (parent <= 0 || p->exec_since_fork)
    return 0;
  return syscall (SYS_kcmp, p->view, parent, KCMP_VM, 0, 0) == 0 ? parent : 0;
}

static int
all_zero (const void *bytes, size_t len)
{
  const uint8_t *b = bytes;
  for (size_t i = 0; i < len; i++)
    if (b[i])
      return 0;
  return 1;
}

static int
check_commit (struct ulp_process *p, const struct ulp_commit *c)
{
  if (memcmp (c->magic, ULP_COMMIT_MAGIC, 8) != 0
      || c->version != ULP_STATE_VERSION || c->active > 1
      || c->self != p->state)
    return ulp_fail ("the ulp state mapping is unrecognised or corrupt");
  return 0;
}

static int
check_copy (const struct ulp_runtime *st)
{
  if (memcmp (st->magic, ULP_STATE_MAGIC, 8) != 0
      || st->version != ULP_STATE_VERSION || st->npatches > ULP_MAX_PATCHES
      || st->nfuncs > ULP_MAX_FUNCS || st->nloaded > ULP_MAX_PATCHES)
    return ulp_fail ("the ulp state mapping is unrecognised or corrupt");
  return 0;
}

int
ulp_process_take_commit (struct ulp_process *p, const void *bytes,
                         struct ulp_commit *c)
{
  memcpy (c, bytes, sizeof *c);
  p->state_blank = all_zero (c, sizeof *c);
  return p->state_blank ? 0 : check_commit (p, c);
}

int
ulp_process_read_commit (struct ulp_process *p, struct ulp_commit *c)
{
  if (ulp_process_read (p, p->state, c, sizeof *c) < 0)
    return -1;
  return ulp_process_take_commit (p, c, c);
}

/* Moves the N ranges between P's memory at AT and the tool's at LOCAL,
   in one system call for every 64 of them (none for empty ones).  */
static int
move_ranges (struct ulp_process *p, const uint64_t *at,
             const struct iovec *local, size_t n, int write)
{
  enum
  {
    BATCH = 64
  };
  for (size_t done = 0; done < n;) {
    struct iovec remote[BATCH], here[BATCH];
    size_t k = 0;
    ssize_t want = 0;
    for (; done < n && k < BATCH; done++) {
      if (!local[done].iov_len)
        continue;
      here[k] = local[done];
      remote[k].iov_base = (void *)(uintptr_t)at[done];
      remote[k].iov_len = local[done].iov_len;
      want += (ssize_t)local[done].iov_len;
      k++;
    }
    if (!k)
      break;
    ssize_t got = write ? process_vm_writev (p->view, here, k, remote, k, 0)
                        : process_vm_readv (p->view, here, k, remote, k, 0);
    if (got != want)
      return ulp_fail ("cannot %s process memory at 0x%llx: %s",
                       write ? "write" : "read",
                       (unsigned long long)(uintptr_t)remote[0].iov_base,
                       got < 0 ? strerror (errno) : "short transfer");
  }
  return 0;
}

int
ulp_process_read_ranges (struct ulp_process *p, const uint64_t *from,
                         const struct iovec *to, size_t n)
{
  return move_ranges (p, from, to, n, 0);
}

int
ulp_process_write_ranges (struct ulp_process *p, const uint64_t *to,
                          const struct iovec *from, size_t n)
{
  return move_ranges (p, to, from, n, 1);
}

/* What the first read of a state takes of each copy: the header, the
   first patches and the first functions, which is all of it for most
   processes; the rest, if any, takes a second.  */
enum
{
  AHEAD_PATCHES = 2,
  AHEAD_FUNCS = 16
};
#define AHEAD_HEAD                                                             \
  (offsetof (struct ulp_runtime, patches)                                      \
   + AHEAD_PATCHES * sizeof (struct ulp_applied_patch))

struct copy_ahead
{
  char head[AHEAD_HEAD];
  struct ulp_patched_func funcs[AHEAD_FUNCS];
};

/* The records of ST past those read ahead.  */
static int
read_rest (struct ulp_process *p, uint64_t copy, struct ulp_runtime *st)
{
  const size_t funcs = offsetof (struct ulp_runtime, funcs);
  uint64_t from[2];
  struct iovec to[2];
  size_t n = 0;
  if (st->npatches > AHEAD_PATCHES) {
    from[n] = copy + AHEAD_HEAD;
    to[n++] = (struct iovec){ &st->patches[AHEAD_PATCHES],
                              (st->npatches - AHEAD_PATCHES)
                                  * sizeof st->patches[0] };
  }
  if (st->nfuncs > AHEAD_FUNCS) {
    from[n] = copy + funcs + AHEAD_FUNCS * sizeof st->funcs[0];
    to[n++]
        = (struct iovec){ &st->funcs[AHEAD_FUNCS],
                          (st->nfuncs - AHEAD_FUNCS) * sizeof st->funcs[0] };
  }
  return n ? ulp_process_read_ranges (p, from, to, n) : 0;
}

int
ulp_process_peek_state (struct ulp_process *p, struct ulp_runtime *st,
                        struct ulp_commit *page)
{
  const size_t page_head = offsetof (struct ulp_commit, slots);
  const size_t funcs = offsetof (struct ulp_runtime, funcs);
  static _Thread_local struct copy_ahead other;
  ulp_state_empty (st);
  memset (page, 0, sizeof *page);
  if (!p->state)
    return 0;
  uint64_t copies = p->state + ULP_PAGE;
  uint64_t from[5] = { p->state, copies, copies + funcs, copies + ULP_COPY_SIZE,
                       copies + ULP_COPY_SIZE + funcs };
  struct iovec to[5] = { { page, page_head },
                         { st, AHEAD_HEAD },
                         { st->funcs, sizeof other.funcs },
                         { other.head, AHEAD_HEAD },
                         { other.funcs, sizeof other.funcs } };
  if (ulp_process_read_ranges (p, from, to, 5) < 0)
    return -1;
  p->state_blank = all_zero (page, page_head);
  if (p->state_blank) {
    ulp_state_empty (st);
    return 0;
  }
  if (check_commit (p, page) < 0)
    return -1;
  if (page->active == 1) {
    memcpy (st, other.head, AHEAD_HEAD);
    memcpy (st->funcs, other.funcs, sizeof other.funcs);
  }
  if (check_copy (st) < 0)
    return -1;
  return read_rest (p, copies + page->active * ULP_COPY_SIZE, st);
}

/* The copy the commit page names; an empty state without the mapping.  */
int
ulp_process_read_state (struct ulp_process *p, struct ulp_runtime *st)
{
  struct ulp_commit c;
  return ulp_process_peek_state (p, st, &c);
}

int
ulp_process_read_copy (struct ulp_process *p, const struct ulp_commit *page,
                       struct ulp_runtime *st)
{
  const size_t header = offsetof (struct ulp_runtime, patches);
  uint64_t copy = p->state + ULP_PAGE + page->active * ULP_COPY_SIZE;
  if (ulp_process_read (p, copy, st, header) < 0 || check_copy (st) < 0)
    return -1;
  if (ulp_process_read (p, copy + header, st->patches,
                        st->npatches * sizeof st->patches[0])
          < 0
      || ulp_process_read (p, copy + offsetof (struct ulp_runtime, funcs),
                           st->funcs, st->nfuncs * sizeof st->funcs[0])
             < 0)
    return -1;
  return 0;
}

/* Whether ADDR lies in executable code of the object mapped by M.  */
static int
in_code_of (const struct ulp_process *p, const struct ulp_mapping *m,
            uint64_t addr)
{
  const struct ulp_mapping *at = mapping_at (p, addr);
  return at && at->perms[2] == 'x' && at->inode == m->inode
         && at->dev_major == m->dev_major && at->dev_minor == m->dev_minor;
}

/* What another object of the process that imports NAME (VERSION) found
   for it: its GOT slot, once bound, holds the IFUNC's choice.  A slot not
   yet bound (lazy binding) points into the importer's own PLT and is
   passed over.  */
static int
ifunc_seen_by_importers (struct ulp_process *p, const struct ulp_mapping *def,
                         const char *name, const char *version, uint64_t *value)
{
  for (size_t i = 0; i < p->maps.n; i++) {
    const struct ulp_mapping *m = &p->maps.v[i];
    const struct elf_facts *f;
    uint64_t slot, bound;
    if (!is_object_file (m) || m == def || !(f = facts_for (p->view, m))
        || !f->ok || !f->elf
        || ulp_elf_import_slot (f->elf, name, version, &slot) != 0
        || ulp_process_read (p, load_bias (m, f) + slot, &bound, sizeof bound)
               < 0)
      continue;
    if (in_code_of (p, def, bound)) {
      *value = bound;
      return 0;
    }
  }
  ulp_clear_error ();
  return 1;
}

/* An IFUNC's address is what its resolver chose for this process: the
   object's own GOT slot for it (an IRELATIVE relocation that the dynamic
   linker resolved at start-up) holds it, else the slot of another object
   that imports it.  */
static int
ifunc_value (struct ulp_process *p, const struct ulp_mapping *m,
             const struct elf_facts *f, const char *name, const char *version,
             uint64_t resolver, uint64_t *value)
{
  uint64_t slot;
  if (ulp_elf_ifunc_slot (f->elf, resolver, &slot) == 0)
    return ulp_process_read (p, load_bias (m, f) + slot, value, sizeof *value);
  if (ifunc_seen_by_importers (p, m, name, version, value) == 0)
    return 0;
  return ulp_fail ("%s in %s is an IFUNC that neither the library itself "
                   "nor any object the process has bound it for calls: its "
                   "address in the process is unknown",
                   name, m->path);
}

static int
symbol_in (struct ulp_process *p, const struct ulp_mapping *m, const char *name,
           const char *version, uint64_t *value)
{
  const struct elf_facts *f = facts_for (p->view, m);
  uint64_t v;
  int ifunc = 0;
  if (!f || !f->ok || !f->elf)
    return 1;
  int rc = ulp_elf_dynamic_symbol (f->elf, name, version, &v, &ifunc);
  if (rc != 0)
    return rc;
  if (ifunc)
    return ifunc_value (p, m, f, name, version, v, value);
  *value = load_bias (m, f) + v;
  return 0;
}

/* Whether the object mapped by M has address 0 at BIAS (a program that is
   not position-independent has it at 0, where no library is).  */
static int
has_bias (struct ulp_process *p, const struct ulp_mapping *m, uint64_t bias)
{
  const struct elf_facts *f
      = is_object_file (m) ? facts_for (p->view, m) : NULL;
  return f && f->opened && load_bias (m, f) == bias;
}

/* The first mapping of the object whose address 0 is at BIAS, or NULL.  */
static const struct ulp_mapping *
object_with_bias (struct ulp_process *p, uint64_t bias)
{
  for (size_t i = 0; i < p->maps.n; i++)
    if (has_bias (p, &p->maps.v[i], bias))
      return &p->maps.v[i];
  return NULL;
}

/* The first DTPMOD64 slot of the object itself (no symbol: its own
   module).  */
static int
own_module_slot (void *ctx, const struct ulp_elf_reloc *r)
{
  uint64_t *slot = ctx;
  if (r->type != R_X86_64_DTPMOD64 || r->symbol != 0)
    return 0;
  *slot = r->offset;
  return 1;
}

int
ulp_process_tls_module (struct ulp_process *p, uint64_t first, uint64_t *module)
{
  const struct ulp_mapping *m = object_with_bias (p, first);
  const struct elf_facts *f = m ? facts_for (p->view, m) : NULL;
  uint64_t slot = 0;
  if (!f || !f->ok || !f->elf)
    return ulp_fail ("the target library is not readable");
  if (ulp_elf_each_dynamic_reloc (f->elf, own_module_slot, &slot) < 0 || !slot)
    return ulp_fail ("%s has no slot for its own TLS module (it uses no "
                     "dynamic TLS access): its TLS index in the process is "
                     "unknown",
                     m->path);
  return ulp_process_read (p, load_bias (m, f) + slot, module, sizeof *module);
}

int
ulp_process_symbol (struct ulp_process *p, uint64_t first, const char *name,
                    const char *version, uint64_t *value)
{
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < p->maps.n; i++) {
      const struct ulp_mapping *m = &p->maps.v[i];
      if (!is_object_file (m) || (pass == 0) != has_bias (p, m, first))
        continue;
      int rc = symbol_in (p, m, name, version, value);
      if (rc <= 0)
        return rc;
    }
  return 1;
}
