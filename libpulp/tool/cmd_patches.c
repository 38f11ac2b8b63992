/* ulp patches: what each process has, as text or as stable JSON.  */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "command.h"
#include "error.h"
#include "process.h"
#include "trigger.h"

struct listing
{
  int json;
  int first_library;
  struct ulp_catalog catalog; /* names the package behind a build-ID */
};

static void
json_string (const char *s)
{
  putchar ('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf ("\\%c", c);
    else if (c < 0x20)
      printf ("\\u%04x", c);
    else
      putchar (c);
  }
  putchar ('"');
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
  char hex[2 * ULP_BUILD_ID_MAX + 1];
  ulp_hex (lib->build_id, lib->build_id_len, hex);
  const struct ulp_catalog_entry *e = ulp_catalog_find_build (&l->catalog, hex);
  char nevra[400] = "";
  if (e)
    ulp_catalog_nevra (e, nevra, sizeof nevra);
  if (!l->json) {
    printf ("    %s (build-ID %s%s%s)\n", lib->path, hex, e ? ", " : "", nevra);
    return;
  }
  printf ("%s{\"path\":", l->first_library ? "" : ",");
  json_string (lib->path);
  printf (",\"build_id\":\"%s\"", hex);
  if (e) {
    printf (",\"package\":");
    json_string (nevra);
  }
  putchar ('}');
  l->first_library = 0;
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
  if (!json) {
    printf ("    %s (target %s, id %s, applied %s)\n", container, target, id,
            when);
    return;
  }
  printf ("%s{\"container\":", first ? "" : ",");
  json_string (container);
  printf (",\"id\":\"%s\",\"target\":", id);
  json_string (target);
  printf (",\"applied_at\":\"%s\",\"functions\":%u}", when, p->nfuncs);
}

static int
print_process (struct ulp_process *p, const struct ulp_runtime *st,
               struct listing *l, int first)
{
  if (l->json) {
    printf ("%s{\"pid\":%d,\"name\":", first ? "" : ",", (int)p->pid);
    json_string (p->name);
    printf (",\"libraries\":[");
  } else
    printf ("%s (pid %d):\n  libraries:\n", p->name, (int)p->pid);
  l->first_library = 1;
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
  struct listing l = { 0, 1, { NULL, 0 } };
  const char *selector = NULL;
  int c;
  while ((c = getopt_long (argc, argv, "p:", options, NULL)) != -1)
    if (c == 'p')
      selector = optarg;
    else if (c == 'j')
      l.json = 1;
    else {
      fprintf (stderr, "usage: ulp patches [-p PID|NAME|WILDCARD] [--json]\n");
      return ULP_EXIT_USAGE;
    }
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
    if (ulp_process_read_state (&p, st) == 0)
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
  return rc;
}
