/* ulp patches: what each process has, as text or as stable JSON.  */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "command.h"
#include "container.h"
#include "elffile.h"
#include "error.h"
#include "metadata.h"
#include "process.h"
#include "text.h"
#include "trigger.h"

/* A mapped file already looked at: whether it is a live patch container.  */
struct seen_file
{
  unsigned dev_major, dev_minor;
  uint64_t inode;
  int container;
};

struct listing
{
  int json;
  int first_library;
  struct ulp_process *process; /* the one being printed */
  struct ulp_catalog catalog;  /* names the package behind a build-ID */
  struct seen_file *seen;      /* every file asked about, by identity */
  size_t nseen, seen_cap;
};

/* Text output of a string read from a process or a file: control
   characters, backslash and bytes that are not UTF-8 are written as \xNN
   (backslash as \\), so nothing reaches the terminal as a control
   sequence.  */
static void
text_string (const char *str)
{
  const unsigned char *s = (const unsigned char *)str;
  while (*s) {
    uint32_t cp;
    size_t n = ulp_utf8_sequence (s, &cp);
    if (n == 0 || ulp_is_control (cp)) {
      for (size_t i = 0; i < (n ? n : 1); i++)
        printf ("\\x%02x", s[i]);
      s += n ? n : 1;
    } else if (cp == '\\') {
      fputs ("\\\\", stdout);
      s++;
    } else {
      fwrite (s, 1, n, stdout);
      s += n;
    }
  }
}

/* A JSON string of valid UTF-8: control characters as \u00XX, each byte
   that is not part of a valid UTF-8 sequence as U+FFFD (\ufffd).  */
static void
json_string (const char *str)
{
  const unsigned char *s = (const unsigned char *)str;
  putchar ('"');
  while (*s) {
    uint32_t cp;
    size_t n = ulp_utf8_sequence (s, &cp);
    if (n == 0)
      fputs ("\\ufffd", stdout);
    else if (cp == '"' || cp == '\\')
      printf ("\\%c", (char)cp);
    else if (ulp_is_control (cp))
      printf ("\\u%04x", (unsigned)cp);
    else
      fwrite (s, 1, n, stdout);
    s += n ? n : 1;
  }
  putchar ('"');
}

/* Whether the file of mapping M, opened as the process maps it, holds a
   .ulp section: a live patch container the process loaded, not one of its
   libraries.  */
static int
mapped_container (const struct ulp_process *p, const struct ulp_mapping *m)
{
  char link[96];
  snprintf (link, sizeof link, "/proc/%d/map_files/%llx-%llx", (int)p->view,
            (unsigned long long)m->start, (unsigned long long)m->end);
  int fd = open (link, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  struct ulp_elf *e = ulp_elf_open_fd (fd, m->path);
  const uint8_t *data;
  size_t len;
  int found = e && ulp_elf_section (e, ULP_SECTION_APPLY, &data, &len) == 0;
  if (e)
    ulp_elf_close (e);
  return found;
}

static const struct ulp_mapping *
mapping_at (const struct ulp_process *p, uint64_t start)
{
  for (size_t i = 0; i < p->maps.n; i++)
    if (p->maps.v[i].start == start && p->maps.v[i].offset == 0)
      return &p->maps.v[i];
  return NULL;
}

/* Whether LIB is a container copy; each file is opened once per run.  */
static int
is_container (struct listing *l, const struct ulp_library *lib)
{
  const struct ulp_mapping *m = mapping_at (l->process, lib->start);
  if (!m)
    return 0;
  for (size_t i = 0; i < l->nseen; i++)
    if (l->seen[i].inode == m->inode && l->seen[i].dev_major == m->dev_major
        && l->seen[i].dev_minor == m->dev_minor)
      return l->seen[i].container;
  int container = mapped_container (l->process, m);
  if (l->nseen == l->seen_cap) {
    size_t cap = l->seen_cap ? 2 * l->seen_cap : 16;
    struct seen_file *grown = realloc (l->seen, cap * sizeof *grown);
    if (!grown)
      return container;
    l->seen = grown;
    l->seen_cap = cap;
  }
  l->seen[l->nseen++]
      = (struct seen_file){ m->dev_major, m->dev_minor, m->inode, container };
  return container;
}

static void
iso_time (int64_t t, char *buf, size_t len)
{
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r (&tt, &tm);
  strftime (buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
print_library (const struct ulp_library *lib, void *ctx)
{
  struct listing *l = ctx;
  if (is_container (l, lib))
    return;
  char hex[2 * ULP_BUILD_ID_MAX + 1];
  ulp_hex (lib->build_id, lib->build_id_len, hex);
  const struct ulp_catalog_entry *e = ulp_catalog_find_build (&l->catalog, hex);
  char nevra[400] = "";
  if (e)
    ulp_catalog_nevra (e, nevra, sizeof nevra);
  if (!l->json) {
    fputs ("    ", stdout);
    text_string (lib->path);
    printf (" (build-ID %s%s", hex, e ? ", " : "");
    text_string (nevra);
    fputs (")\n", stdout);
    return;
  }
  printf ("%s{\"path\":", l->first_library ? "" : ",");
  json_string (lib->path);
  if (lib->soname[0]) {
    printf (",\"soname\":");
    json_string (lib->soname);
  }
  printf (",\"build_id\":\"%s\"", hex);
  if (e) {
    printf (",\"package\":");
    json_string (nevra);
  }
  putchar ('}');
  l->first_library = 0;
}

/* The bug and CVE ids in the comments of the container P came from, when
   that file is still there and still that patch; "" otherwise.  Processes
   mostly share their patches: the last container read is remembered.  */
static void
patch_labels (const struct ulp_applied_patch *p, const char *path, char *labels,
              size_t size)
{
  static char last_path[ULP_PATH_MAX], last_labels[1024];
  static uint8_t last_id[ULP_ID_LEN];
  if (strcmp (path, last_path) != 0
      || memcmp (p->id, last_id, ULP_ID_LEN) != 0) {
    struct ulp_container c;
    last_labels[0] = '\0';
    if (ulp_container_open (path, &c) == 0) {
      if (c.comments && memcmp (c.meta.id, p->id, ULP_ID_LEN) == 0)
        ulp_labels (c.comments, last_labels, sizeof last_labels);
      ulp_container_free (&c);
    }
    ulp_clear_error ();
    snprintf (last_path, sizeof last_path, "%s", path);
    memcpy (last_id, p->id, ULP_ID_LEN);
  }
  snprintf (labels, size, "%s", last_labels);
}

static void
print_labels (const char *labels, int json)
{
  char copy[1024], *save = NULL;
  const char *sep = "";
  if (!json) {
    if (labels[0])
      printf ("      fixes: %s\n", labels);
    return;
  }
  snprintf (copy, sizeof copy, "%s", labels);
  fputs (",\"labels\":[", stdout);
  for (char *l = strtok_r (copy, " ", &save); l;
       l = strtok_r (NULL, " ", &save)) {
    printf ("%s\"%s\"", sep, l);
    sep = ",";
  }
  fputs ("]", stdout);
}

static void
print_patch (const struct ulp_applied_patch *p, int json, int first)
{
  char id[2 * ULP_ID_LEN + 1], when[32], container[ULP_PATH_MAX],
      target[ULP_NAME_MAX];
  ulp_hex (p->id, ULP_ID_LEN, id);
  iso_time (p->applied_at, when, sizeof when);
  snprintf (container, sizeof container, "%.*s", ULP_PATH_MAX - 1,
            p->container);
  snprintf (target, sizeof target, "%.*s", ULP_NAME_MAX - 1, p->target);
  char labels[1024];
  patch_labels (p, container, labels, sizeof labels);
  if (!json) {
    fputs ("    ", stdout);
    text_string (container);
    fputs (" (target ", stdout);
    text_string (target);
    printf (", id %s, applied %s)\n", id, when);
    print_labels (labels, json);
    return;
  }
  printf ("%s{\"container\":", first ? "" : ",");
  json_string (container);
  printf (",\"id\":\"%s\",\"target\":", id);
  json_string (target);
  printf (",\"applied_at\":\"%s\",\"functions\":%u", when, p->nfuncs);
  print_labels (labels, json);
  putchar ('}');
}

static void
count_library (const struct ulp_library *lib, void *ctx)
{
  (void)lib;
  ++*(size_t *)ctx;
}

/* Listed: processes ever patched, and those with something to patch.  */
static int
worth_listing (struct ulp_process *p)
{
  size_t n = 0;
  if (p->state)
    return 1;
  ulp_process_livepatchable (p, count_library, &n);
  return n > 0;
}

static int
print_process (struct ulp_process *p, const struct ulp_runtime *st,
               struct listing *l, int first)
{
  if (l->json) {
    printf ("%s{\"pid\":%d,\"name\":", first ? "" : ",", (int)p->pid);
    json_string (p->name);
    printf (",\"libraries\":[");
  } else {
    text_string (p->name);
    printf (" (pid %d):\n  libraries:\n", (int)p->pid);
  }
  l->first_library = 1;
  l->process = p;
  ulp_process_livepatchable (p, print_library, l);
  printf (l->json ? "],\"patches\":[" : "  patches:\n");
  for (uint32_t i = 0; i < st->npatches; i++)
    print_patch (&st->patches[i], l->json, i == 0);
  if (l->json)
    printf ("]}");
  return 0;
}

int
cmd_patches (int argc, char **argv)
{
  static const struct option options[]
      = { { "json", no_argument, NULL, 'j' },
          { "process", required_argument, NULL, 'p' },
          { NULL, 0, NULL, 0 } };
  struct listing l = { .json = 0, .first_library = 1 };
  const char *selector = NULL;
  int c;
  while ((c = getopt_long (argc, argv, "p:", options, NULL)) != -1)
    if (c == 'p')
      selector = optarg;
    else if (c == 'j')
      l.json = 1;
    else
      return ulp_command_usage ("patches", stderr);
  pid_t *pids;
  size_t n, shown = 0;
  int strict;
  struct ulp_runtime *st = malloc (sizeof *st);
  if (!st || ulp_select_pids (selector, &pids, &n, &strict) < 0) {
    fprintf (stderr, "ulp patches: %s\n", ulp_error ());
    free (st);
    return ULP_EXIT_USAGE;
  }
  ulp_catalog_read_dir (NULL, &l.catalog);
  int rc = ULP_EXIT_OK;
  if (l.json)
    printf ("{\"version\":1,\"processes\":[");
  for (size_t i = 0; i < n; i++) {
    struct ulp_process p;
    if (ulp_process_open (pids[i], &p) < 0) {
      if (strict) {
        fprintf (stderr, "ulp patches: pid %d: no such process\n",
                 (int)pids[i]);
        rc = ULP_EXIT_FAILED;
      }
      continue;
    }
    if (!strict && !worth_listing (&p))
      ;
    else if (ulp_process_read_state (&p, st) == 0)
      print_process (&p, st, &l, shown++ == 0);
    else if (strict) {
      fprintf (stderr, "ulp patches: pid %d: %s\n", (int)pids[i], ulp_error ());
      rc = ULP_EXIT_FAILED;
    }
    ulp_process_close (&p);
  }
  if (l.json)
    printf ("]}\n");
  free (pids);
  free (st);
  ulp_catalog_free (&l.catalog);
  free (l.seen);
  return rc;
}
