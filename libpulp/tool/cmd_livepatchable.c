#include <stdio.h>

#include "command.h"
#include "elffile.h"
#include "error.h"
#include "patch.h"

struct census
{
  struct ulp_elf *elf;
  size_t functions, patchable;
};

static void
count_function (uint64_t addr, void *ctx)
{
  struct census *c = ctx;
  uint8_t window[ULP_WINDOW];
  c->functions++;
  if (addr >= ULP_PAD_BEFORE
      && ulp_elf_read_at_least (c->elf, addr - ULP_PAD_BEFORE, window,
                                sizeof window, ULP_PAD_BEFORE + ULP_PAD_AT)
             == 0
      && ulp_entry_is_patchable (window))
    c->patchable++;
}

int
cmd_livepatchable (int argc, char **argv)
{
  if (argc != 2) {
    return ulp_command_usage ("livepatchable", stderr);
  }
  const char *lib = argv[1];
  struct ulp_elf *e = ulp_elf_open (lib);
  if (!e) {
    fprintf (stderr, "ulp livepatchable: %s\n", ulp_error ());
    return ULP_EXIT_USAGE;
  }
  const uint8_t *data;
  size_t len;
  struct census census = { e, 0, 0 };
  int has_entries
      = ulp_elf_section (e, "__patchable_function_entries", &data, &len) == 0
        && len > 0;
  if (has_entries)
    ulp_elf_each_function (e, count_function, &census);
  ulp_elf_close (e);
  if (!has_entries) {
    fprintf (stderr,
             "ulp livepatchable: %s: not livepatchable: no "
             "__patchable_function_entries section (build with "
             "-fpatchable-function-entry=16,14)\n",
             lib);
    return ULP_EXIT_FAILED;
  }
  if (census.patchable == 0) {
    fprintf (stderr,
             "ulp livepatchable: %s: not livepatchable: patch areas are "
             "not 16,14 NOPs (build with -fpatchable-function-entry=16,14)\n",
             lib);
    return ULP_EXIT_FAILED;
  }
  printf ("%s: livepatchable (%zu patchable functions)\n", lib,
          census.patchable);
  return ULP_EXIT_OK;
}
