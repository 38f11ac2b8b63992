#include <stdio.h>
#include <string.h>

#include "command.h"
#include "container.h"
#include "error.h"
#include "text.h"

/* The description's comments, one per line, control characters
   defused, and the labels found in them.  */
static void
print_comments (char *comments)
{
  char labels[1024];
  ulp_labels (comments, labels, sizeof labels);
  const char *title = "comments:  ";
  char *save = NULL;
  for (char *line = strtok_r (comments, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save)) {
    ulp_defuse (line, "");
    printf ("%s%s\n", title, line);
    title = "           ";
  }
  if (labels[0])
    printf ("labels:    %s\n", labels);
}

int
cmd_dump (int argc, char **argv)
{
  if (argc != 2) {
    return ulp_command_usage ("dump", stderr);
  }
  struct ulp_container c;
  if (ulp_container_open (argv[1], &c) < 0) {
    fprintf (stderr, "ulp dump: %s\n", ulp_error ());
    return ULP_EXIT_FAILED;
  }
  char id[2 * ULP_ID_LEN + 1], build_id[2 * ULP_BUILD_ID_MAX + 1];
  ulp_hex (c.meta.id, ULP_ID_LEN, id);
  ulp_hex (c.meta.build_id, c.meta.build_id_len, build_id);
  printf ("container: %s\n", c.origin);
  printf ("patch id:  %s\n", id);
  printf ("target:    %s\n", c.meta.target);
  printf ("build-id:  %s\n", build_id);
  printf ("functions: %zu\n", c.meta.nfuncs);
  for (size_t i = 0; i < c.meta.nfuncs; i++) {
    const struct ulp_func_meta *f = &c.meta.funcs[i];
    printf ("  %s -> %s (old offset 0x%llx, new offset 0x%llx)\n", f->old_name,
            f->new_name, (unsigned long long)f->old_offset,
            (unsigned long long)f->new_offset);
  }
  if (c.meta.nrefs)
    printf ("references: %zu\n", c.meta.nrefs);
  for (size_t i = 0; i < c.meta.nrefs; i++) {
    const struct ulp_ref_meta *r = &c.meta.refs[i];
    printf ("  %s%s -> %s (target offset 0x%llx, patch offset 0x%llx)\n",
            r->tls ? "%" : "", r->local_name, r->ref_name,
            (unsigned long long)r->local_offset,
            (unsigned long long)r->ref_offset);
  }
  if (c.comments)
    print_comments (c.comments);
  ulp_hex (c.rev.id, ULP_ID_LEN, id);
  printf ("revert:    patch id %s, target %s\n", id, c.rev.target);
  if (c.signed_)
    printf ("signature: %zu bytes over the first %zu (check with 'ulp "
            "verify')\n",
            c.sig.block_len, c.sig.signed_len);
  else
    printf ("signature: none\n");
  ulp_container_free (&c);
  return ULP_EXIT_OK;
}
