/* The record of applied patches that a patched process carries, in a
   mapping the tool creates in it (a private mapping of a memfd named
   "ulp-state", so that it shows in /proc/PID/maps and is copied, not
   shared, by fork).  Nothing in the process reads it; the tool reads and
   writes it through /proc/PID/mem while every thread is stopped.

   Layout: one commit page, then two copies of struct ulp_runtime.  The
   commit page says which copy holds and where calls to every patched
   function go (its slot: the pad of the function jumps through it).  A
   change is prepared in the other copy and takes effect with one write of
   the commit page, which a dying tool either made whole or not at all:
   a process is never seen half patched.  */
#ifndef ULP_STATE_H
#define ULP_STATE_H

#include <stdint.h>

#define ULP_STATE_MAGIC "ULPSTAT"
#define ULP_STATE_VERSION 2
#define ULP_COMMIT_MAGIC "ULPCOMIT"
#define ULP_STATE_MEMFD "ulp-state"
#define ULP_CONTAINER_MEMFD "ulp:"

#define ULP_MAX_PATCHES 64
#define ULP_MAX_FUNCS 1024
#define ULP_PATH_MAX 512
#define ULP_NAME_MAX 128
#define ULP_ID_LEN 16
#define ULP_PAGE 4096
#define ULP_SLOTS 250

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

struct ulp_loaded
{
  uint8_t id[ULP_ID_LEN];
  uint64_t base, span;
};

/* Where calls to a patched function go: its replacement, or its own body
   after the entry NOPs while it is being unpatched.  */
struct ulp_slot
{
  uint64_t owner;  /* entry of the function whose pad uses it; 0: free */
  uint64_t target; /* where its calls go */
};

struct ulp_commit
{
  char magic[8];
  uint32_t version;
  uint32_t active; /* the copy of struct ulp_runtime that holds: 0 or 1 */
  uint64_t generation;
  uint64_t self; /* the address of this page, against look-alikes */
  struct ulp_slot slots[ULP_SLOTS];
};

struct ulp_runtime
{
  char magic[8];
  uint32_t version;
  uint32_t npatches;
  uint32_t nfuncs;
  uint32_t reserved;
  uint64_t generation; /* bumped by the tool on every change */

  /* Containers mapped in the process (kept after a revert, since a
     thread may still run their code), so that applying one again reuses
     its mapping.  */
  uint32_t nloaded;
  uint32_t reserved2;
  struct ulp_loaded loaded[ULP_MAX_PATCHES];

  struct ulp_applied_patch patches[ULP_MAX_PATCHES];
  struct ulp_patched_func funcs[ULP_MAX_FUNCS];
};

/* The state mapping: the commit page, then the two copies.  The end of
   the last page of copy 1, past any record, is reserved for the timeouts
   of system calls made again after a stop (libpulp/lib/resume.c).  */
#define ULP_COPY_SIZE                                                          \
  ((sizeof (struct ulp_runtime) + ULP_PAGE - 1) / ULP_PAGE * ULP_PAGE)
#define ULP_STATE_SIZE (ULP_PAGE + 2 * ULP_COPY_SIZE)

#endif
