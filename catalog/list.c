/* ulp-catalog list and lookup.  */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog.h"
#include "error.h"
#include "tool.h"

/* The catalogs named in ARGV, or the catalog directory.  A catalog named
   on the command line must exist: a typo is no empty catalog.  */
static int
load (int argc, char **argv, struct ulp_catalog *c)
{
  if (argc > 0 && strcmp (argv[0], "--") == 0) {
    argc--;
    argv++;
  }
  if (argc == 0)
    return ulp_catalog_read_dir (NULL, c);
  for (int i = 0; i < argc; i++) {
    struct stat st;
    if (stat (argv[i], &st) != 0)
      return ulp_fail ("%s: %s", argv[i], strerror (errno));
    if (ulp_catalog_read (argv[i], c) < 0)
      return -1;
  }
  return 0;
}

static void
print_entry (const struct ulp_catalog_entry *e)
{
  char nevra[400];
  ulp_catalog_nevra (e, nevra, sizeof nevra);
  printf ("%s %s %s %s\n", e->soname, e->build_id, nevra, e->path);
}

int
cmd_list (int argc, char **argv)
{
  struct ulp_catalog c = { 0 };
  if (load (argc - 1, argv + 1, &c) < 0) {
    fprintf (stderr, "ulp-catalog list: %s\n", ulp_error ());
    ulp_catalog_free (&c);
    return 1;
  }
  for (size_t i = 0; i < c.n; i++)
    print_entry (&c.v[i]);
  ulp_catalog_free (&c);
  return 0;
}

int
cmd_lookup (int argc, char **argv)
{
  if (argc < 2 || strcmp (argv[1], "--") == 0) {
    catalog_usage ("lookup", stderr);
    return 2;
  }
  struct ulp_catalog c = { 0 };
  if (load (argc - 2, argv + 2, &c) < 0) {
    fprintf (stderr, "ulp-catalog lookup: %s\n", ulp_error ());
    ulp_catalog_free (&c);
    return 1;
  }
  const struct ulp_catalog_entry *e = ulp_catalog_find_build (&c, argv[1]);
  if (e)
    print_entry (e);
  else
    fprintf (stderr, "ulp-catalog lookup: %s: not in the catalog\n", argv[1]);
  ulp_catalog_free (&c);
  return e ? 0 : 1;
}
