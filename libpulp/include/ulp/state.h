/* Layout of the runtime's state block, shared by the preloaded runtime
   (libpulp.so.0) and the tool that reads and writes it through ptrace.

   The runtime holds no logic for patching: it only owns this block and a
   loader entry point.  Every change to the block is made by the tool while
   all threads of the process are stopped, so the block is always consistent
   when a thread can observe it.  */
#ifndef ULP_STATE_H
#define ULP_STATE_H

#include <stdint.h>

#define ULP_STATE_MAGIC "ULPSTAT"
#define ULP_STATE_VERSION 1
#define ULP_STATE_SYMBOL "__ulp_runtime"

#define ULP_MAX_PATCHES 64
#define ULP_MAX_FUNCS 1024
#define ULP_PATH_MAX 512
#define ULP_NAME_MAX 128
#define ULP_ID_LEN 16
#define ULP_LOAD_ERROR_MAX 256

/* Bytes reserved before and at each livepatchable function entry
   (-fpatchable-function-entry=16,14).  */
#define ULP_PAD_BEFORE 14
#define ULP_PAD_AT 2

struct ulp_applied_patch
{
  uint8_t id[ULP_ID_LEN];
  char container[ULP_PATH_MAX];
  char target[ULP_NAME_MAX];
  uint64_t container_base;
  int64_t applied_at;  /* seconds since the epoch */
  uint32_t first_func; /* index into ulp_runtime.funcs */
  uint32_t nfuncs;
};

struct ulp_patched_func
{
  uint64_t old_addr; /* entry of the function being replaced */
  uint64_t new_addr; /* entry of its replacement in the container */
};

struct ulp_runtime
{
  char magic[8];
  uint32_t version;
  uint32_t npatches;
  uint32_t nfuncs;
  uint32_t reserved;
  uint64_t generation; /* bumped by the tool on every change */

  /* Loader mailbox: the tool writes load_path, makes a thread call
     load_entry with the return address trap_addr, and reads the results.  */
  uint64_t load_entry;
  uint64_t trap_addr;
  uint64_t load_base;
  uint64_t load_handle;
  char load_path[ULP_PATH_MAX];
  char load_error[ULP_LOAD_ERROR_MAX];

  struct ulp_applied_patch patches[ULP_MAX_PATCHES];
  struct ulp_patched_func funcs[ULP_MAX_FUNCS];
};

#endif
