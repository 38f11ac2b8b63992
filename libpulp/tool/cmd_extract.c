/* ulp extract LIB [-o FILE.json]: the library's build-ID and symbols in
   the JSON of SUSE libpulp's `ulp extract`, which `ulp packer` takes in
   place of the library.  */
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "elffile.h"
#include "error.h"
#include "proc.h"
#include "symbols.h"

static int
extract (const char *lib, FILE *out)
{
  struct ulp_symbols s;
  struct ulp_elf *e = ulp_elf_open (lib);
  if (!e)
    return -1;
  int rc = ulp_symbols_from_elf (e, ulp_basename (lib), &s);
  ulp_elf_close (e);
  if (rc == 0) {
    rc = ulp_symbols_write_json (&s, out);
    ulp_symbols_free (&s);
  }
  return rc;
}

int
cmd_extract (int argc, char **argv)
{
  const char *lib = NULL, *path = NULL;
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "-o") == 0 && i + 1 < argc && !path)
      path = argv[++i];
    else if (!lib && argv[i][0] != '-')
      lib = argv[i];
    else
      return ulp_command_usage ("extract", stderr);
  if (!lib)
    return ulp_command_usage ("extract", stderr);
  FILE *out = path ? fopen (path, "we") : stdout;
  if (!out) {
    perror (path);
    return ULP_EXIT_FAILED;
  }
  int rc = extract (lib, out);
  if (path && fclose (out) != 0 && rc == 0)
    rc = ulp_fail ("%s: cannot write", path);
  if (rc < 0) {
    fprintf (stderr, "ulp extract: %s\n", ulp_error ());
    if (path)
      remove (path);
    return ULP_EXIT_FAILED;
  }
  return ULP_EXIT_OK;
}
