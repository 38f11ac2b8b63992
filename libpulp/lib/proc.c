#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "error.h"
#include "proc.h"

const char *
ulp_basename (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

/* The hexadecimal number at *P, which moves past it and one separator.  */
static uint64_t
take_hex (const char **p)
{
  uint64_t v = 0;
  for (;; (*p)++) {
    char c = **p;
    if (c >= '0' && c <= '9')
      v = v << 4 | (uint64_t)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v = v << 4 | (uint64_t)(c - 'a' + 10);
    else
      break;
  }
  if (**p)
    (*p)++;
  return v;
}

static uint64_t
take_decimal (const char **p)
{
  uint64_t v = 0;
  for (; **p >= '0' && **p <= '9'; (*p)++)
    v = v * 10 + (uint64_t)(**p - '0');
  return v;
}

/* One line of /proc/PID/maps, its newline replaced by a NUL:
   "start-end perms offset major:minor inode   path".  The path stays in
   the line.  */
static void
parse_map_line (char *line, size_t len, struct ulp_mapping *m)
{
  const char *p = line;
  memset (m, 0, sizeof *m);
  m->start = take_hex (&p);
  m->end = take_hex (&p);
  if (p + 5 > line + len || p[4] != ' ')
    return;
  memcpy (m->perms, p, 4);
  p += 5;
  m->offset = take_hex (&p);
  m->dev_major = (unsigned)take_hex (&p);
  m->dev_minor = (unsigned)take_hex (&p);
  m->inode = take_decimal (&p);
  while (*p == ' ')
    p++;
  if (*p != '/')
    return;
  char *path = line + (p - line);
  size_t n = len - (size_t)(p - line);
  static const char deleted[] = " (deleted)";
  size_t d = sizeof deleted - 1;
  if (n > d && memcmp (path + n - d, deleted, d) == 0) {
    path[n - d] = '\0';
    m->deleted = 1;
  }
  m->path = path;
}

/* x86-64's vsyscall page, at a kernel address no mapping of the process
   can have, is always the last line of /proc/PID/maps when the kernel
   shows it: once read, the read that would only say "end of file" is
   saved (one system call of four per process).  */
static int
ends_with_last_map (const char *text, size_t len)
{
  static const char gate[] = "ffffffffff600000-ffffffffff601000 ";
  static const char tail[] = "[vsyscall]\n";
  if (len < sizeof gate + sizeof tail
      || memcmp (text + len - (sizeof tail - 1), tail, sizeof tail - 1) != 0)
    return 0;
  const char *line = text + len - 1;
  while (line > text && line[-1] != '\n')
    line--;
  return strncmp (line, gate, sizeof gate - 1) == 0;
}

/* The whole of /proc/PID/NAME, NUL-terminated, in a buffer of this
   thread's that the next call reuses (fresh memory for each of a thousand
   processes costs more than reading them); NULL with errno.  */
static char *
read_whole (pid_t pid, const char *name, size_t *len)
{
  int maps = strcmp (name, "maps") == 0;
  static _Thread_local char *buf;
  static _Thread_local size_t cap;
  char file[64];
  snprintf (file, sizeof file, "/proc/%d/%s", (int)pid, name);
  int fd = open (file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  size_t used = 0;
  ssize_t n = 0;
  for (;;) {
    if (cap - used < 4096) {
      char *grown = realloc (buf, cap ? cap * 2 : 65536);
      if (!grown) {
        close (fd);
        errno = ENOMEM;
        return NULL;
      }
      buf = grown;
      cap = cap ? cap * 2 : 65536;
    }
    n = read (fd, buf + used, cap - used - 1);
    if (n <= 0)
      break;
    used += (size_t)n;
    if (maps && ends_with_last_map (buf, used))
      break;
  }
  int saved = errno;
  close (fd);
  if (n < 0) {
    errno = saved;
    return NULL;
  }
  buf[used] = '\0';
  *len = used;
  return buf;
}

/* The mappings of files as parsed, in a buffer of this thread's.  */
static struct ulp_mapping *
parse_file_mappings (char *text, size_t len, size_t *count, size_t *paths)
{
  static _Thread_local struct ulp_mapping *v;
  static _Thread_local size_t cap;
  *count = *paths = 0;
  for (char *line = text; line < text + len;) {
    char *nl = memchr (line, '\n', (size_t)(text + len - line));
    size_t n = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
    line[n] = '\0';
    if (ulp_reserve (&v, &cap, *count, sizeof *v) < 0)
      return NULL;
    parse_map_line (line, n, &v[*count]);
    if (v[*count].path) {
      *paths += strlen (v[*count].path) + 1;
      (*count)++;
    }
    line += n + 1;
  }
  return v;
}

/* The mappings of files (anonymous memory is of no use to the tool), in
   one block with their paths: a trigger keeps those of each process it
   plans, and fresh memory costs more than reading.  */
int
ulp_maps_read (pid_t pid, struct ulp_maps *maps)
{
  size_t len, files, paths;
  memset (maps, 0, sizeof *maps);
  char *text = read_whole (pid, "maps", &len);
  if (!text)
    return ulp_fail (errno == ENOENT || errno == ESRCH
                         ? "no such process"
                         : "cannot read memory maps: %s",
                     strerror (errno));
  const struct ulp_mapping *parsed
      = parse_file_mappings (text, len, &files, &paths);
  if (parsed && files == 0)
    return ulp_fail ("no such process (or no memory maps)");
  if (parsed)
    maps->v = malloc (files * sizeof *maps->v + paths);
  if (!maps->v)
    return ulp_fail ("out of memory");
  char *out = (char *)(maps->v + files);
  for (size_t i = 0; i < files; i++) {
    size_t n = strlen (parsed[i].path) + 1;
    maps->v[i] = parsed[i];
    maps->v[i].path = memcpy (out, parsed[i].path, n);
    out += n;
  }
  maps->n = files;
  return 0;
}

void
ulp_maps_free (struct ulp_maps *maps)
{
  free (maps->v);
  memset (maps, 0, sizeof *maps);
}

int
ulp_maps_in_code_of (const struct ulp_maps *maps, uint64_t addr,
                     const char *const *prefixes)
{
  for (size_t i = 0; i < maps->n; i++) {
    const struct ulp_mapping *m = &maps->v[i];
    if (addr < m->start || addr >= m->end)
      continue;
    if (!m->path || m->perms[2] != 'x')
      return 0;
    const char *base = ulp_basename (m->path);
    for (size_t p = 0; prefixes[p]; p++)
      if (strncmp (base, prefixes[p], strlen (prefixes[p])) == 0)
        return 1;
    return 0;
  }
  return 0;
}

static int
list_numeric (const char *dir, pid_t **out, size_t *n)
{
  DIR *d = opendir (dir);
  size_t cap = 0;
  *out = NULL;
  *n = 0;
  if (!d)
    return ulp_fail (errno == ENOENT ? "no such process" : "%s: %s", dir,
                     strerror (errno));
  struct dirent *ent;
  while ((ent = readdir (d))) {
    if (!isdigit ((unsigned char)ent->d_name[0]))
      continue;
    if (ulp_reserve (out, &cap, *n, sizeof **out) < 0)
      break;
    (*out)[(*n)++] = (pid_t)atoi (ent->d_name);
  }
  closedir (d);
  return 0;
}

int
ulp_proc_pids (pid_t **pids, size_t *n)
{
  return list_numeric ("/proc", pids, n);
}

int
ulp_proc_tids (pid_t pid, pid_t **tids, size_t *n)
{
  char dir[64];
  snprintf (dir, sizeof dir, "/proc/%d/task", (int)pid);
  return list_numeric (dir, tids, n);
}

pid_t
ulp_proc_live_thread (pid_t pid)
{
  pid_t *tids, found = 0;
  size_t n;
  /* Kernel threads have no maps either: one read tells them apart.  */
  if (ulp_proc_thread_state (pid) != 'Z' || ulp_proc_tids (pid, &tids, &n) < 0)
    return 0;
  for (size_t i = 0; i < n && !found; i++) {
    char state = tids[i] == pid ? 'Z' : ulp_proc_thread_state (tids[i]);
    if (state && state != 'Z' && state != 'X')
      found = tids[i];
  }
  free (tids);
  return found;
}

/* /proc/TID/stat: "pid (comm) state ppid ..."; the command may hold any
   byte, the fields start after its last ")".  */
ssize_t
ulp_proc_read (pid_t tid, const char *name, char *buf, size_t size)
{
  char file[64];
  snprintf (file, sizeof file, "/proc/%d/%s", (int)tid, name);
  int fd = open (file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read (fd, buf, size - 1);
  int saved = errno;
  close (fd);
  if (n < 0) {
    errno = saved;
    return -1;
  }
  buf[n] = '\0';
  return n;
}

static int
read_stat (pid_t tid, struct ulp_proc_stat *st)
{
  char text[1024];
  memset (st, 0, sizeof *st);
  if (ulp_proc_read (tid, "stat", text, sizeof text) <= 0)
    return -1;
  char *open_paren = strchr (text, '('), *close_paren = strrchr (text, ')');
  if (!open_paren || !close_paren || close_paren < open_paren
      || close_paren[1] != ' ')
    return -1;
  size_t len = (size_t)(close_paren - open_paren - 1);
  if (len >= sizeof st->name)
    len = sizeof st->name - 1;
  memcpy (st->name, open_paren + 1, len);
  st->name[len] = '\0';
  st->state = close_paren[2];
  /* Field 4 is the parent, 9 the kernel's flags, 20 the number of
     threads, 50 and 51 the environment's range.  */
  const char *p = close_paren + 2;
  for (int field = 3; p && field <= 51; field++) {
    if (field == 4)
      st->ppid = (pid_t)atol (p);
    else if (field == 9)
      st->flags = strtoul (p, NULL, 10);
    else if (field == 20)
      st->threads = atol (p);
    else if (field == 50)
      st->env_start = strtoul (p, NULL, 10);
    else if (field == 51)
      st->env_end = strtoul (p, NULL, 10);
    p = strchr (p, ' ');
    if (p)
      p++;
  }
  return 0;
}

int
ulp_proc_stat (pid_t tid, struct ulp_proc_stat *st)
{
  return read_stat (tid, st) < 0 ? ulp_fail ("no such process") : 0;
}

int
ulp_proc_name (pid_t pid, char *buf, size_t len)
{
  struct ulp_proc_stat st;
  if (ulp_proc_stat (pid, &st) < 0)
    return -1;
  snprintf (buf, len, "%s", st.name);
  return 0;
}

/* The number after "NAME:" on its line of the text of /proc/TID/status,
   in BASE; 0 when there is none.  */
static unsigned long long
status_value (const char *text, const char *name, int base)
{
  size_t len = strlen (name);
  for (const char *line = text; line; line = strchr (line, '\n')) {
    line += *line == '\n';
    if (strncmp (line, name, len) == 0 && line[len] == ':')
      return strtoull (line + len + 1, NULL, base);
  }
  return 0;
}

int
ulp_proc_status (pid_t tid, struct ulp_proc_status *st)
{
  char text[8192];
  if (ulp_proc_read (tid, "status", text, sizeof text) < 0)
    return -1;
  st->tgid = (pid_t)status_value (text, "Tgid", 10);
  st->tracer = (pid_t)status_value (text, "TracerPid", 10);
  st->seccomp = (int)status_value (text, "Seccomp", 10);
  st->uid = (long)status_value (text, "Uid", 10);
  st->gid = (long)status_value (text, "Gid", 10);
  st->pending = status_value (text, "SigPnd", 16);
  st->shared = status_value (text, "ShdPnd", 16);
  st->blocked = status_value (text, "SigBlk", 16);
  st->ignored = status_value (text, "SigIgn", 16);
  st->caught = status_value (text, "SigCgt", 16);
  return 0;
}

char
ulp_proc_thread_state (pid_t tid)
{
  struct ulp_proc_stat st;
  return read_stat (tid, &st) < 0 ? '\0' : st.state;
}
