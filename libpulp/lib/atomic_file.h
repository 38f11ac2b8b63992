/* Replacing a file so that readers see the old or the new content, never a
   mixture, and a failure leaves the old one in place: write a temporary
   file beside it, flush it, rename it over the original.  */
#ifndef ULP_ATOMIC_FILE_H
#define ULP_ATOMIC_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ulp_pending_file
{
  int fd;
  char *tmp_path;
  char *path;
};

/* Opens a temporary file beside PATH (beside the file it leads to, when
   it is a symbolic link) with MODE.  */
int ulp_file_begin (const char *path, mode_t mode, struct ulp_pending_file *f);
/* With OK, flushes the temporary file and renames it over PATH; otherwise,
   or when that fails, removes it.  Returns 0 when PATH was replaced.  */
int ulp_file_finish (struct ulp_pending_file *f, int ok);
/* Both at once for content already in memory.  */
int ulp_file_replace (const char *path, const uint8_t *data, size_t len,
                      mode_t mode);

#endif
