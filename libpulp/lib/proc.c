#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "proc.h"

const char *
ulp_basename (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

static int
parse_map_line (char *line, struct ulp_mapping *m)
{
  int path_at = 0;
  unsigned long long start, end, offset, inode;
  memset (m, 0, sizeof *m);
  if (sscanf (line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, m->perms,
              &offset, &m->dev_major, &m->dev_minor, &inode, &path_at)
      < 7)
    return -1;
  m->start = start;
  m->end = end;
  m->offset = offset;
  m->inode = inode;
  char *path = line + path_at;
  path[strcspn (path, "\n")] = '\0';
  if (path[0] != '/')
    return 0;
  static const char deleted[] = " (deleted)";
  size_t n = strlen (path), d = sizeof deleted - 1;
  if (n > d && strcmp (path + n - d, deleted) == 0) {
    path[n - d] = '\0';
    m->deleted = 1;
  }
  m->path = strdup (path);
  return m->path ? 0 : -1;
}

int
ulp_maps_read (pid_t pid, struct ulp_maps *maps)
{
  char file[64], line[4096 + 128];
  snprintf (file, sizeof file, "/proc/%d/maps", (int)pid);
  memset (maps, 0, sizeof *maps);
  FILE *f = fopen (file, "re");
  if (!f)
    return ulp_fail (errno == ENOENT ? "no such process"
                                     : "cannot read memory maps: %s",
                     strerror (errno));
  size_t cap = 0;
  while (fgets (line, sizeof line, f)) {
    if (maps->n == cap) {
      cap = cap ? cap * 2 : 64;
      struct ulp_mapping *grown = realloc (maps->v, cap * sizeof *grown);
      if (!grown)
        break;
      maps->v = grown;
    }
    if (parse_map_line (line, &maps->v[maps->n]) == 0)
      maps->n++;
  }
  fclose (f);
  if (maps->n == 0)
    return ulp_fail ("no such process (or no memory maps)");
  return 0;
}

void
ulp_maps_free (struct ulp_maps *maps)
{
  for (size_t i = 0; i < maps->n; i++)
    free (maps->v[i].path);
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
    if (*n == cap) {
      cap = cap ? cap * 2 : 64;
      pid_t *grown = realloc (*out, cap * sizeof *grown);
      if (!grown)
        break;
      *out = grown;
    }
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

int
ulp_proc_name (pid_t pid, char *buf, size_t len)
{
  char file[64];
  snprintf (file, sizeof file, "/proc/%d/comm", (int)pid);
  FILE *f = fopen (file, "re");
  if (!f || !fgets (buf, (int)len, f)) {
    if (f)
      fclose (f);
    return ulp_fail ("no such process");
  }
  fclose (f);
  buf[strcspn (buf, "\n")] = '\0';
  return 0;
}

char
ulp_proc_thread_state (pid_t tid)
{
  char file[64], stat[512] = "";
  snprintf (file, sizeof file, "/proc/%d/stat", (int)tid);
  FILE *f = fopen (file, "re");
  if (!f)
    return '\0';
  if (!fgets (stat, sizeof stat, f))
    stat[0] = '\0';
  fclose (f);
  const char *end = strrchr (stat, ')'); /* the name may hold anything */
  return end && end[1] == ' ' && end[2] ? end[2] : '\0';
}
