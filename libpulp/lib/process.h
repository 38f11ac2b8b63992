/* A running process as the tool sees it: its maps, the libraries it maps
   (with the build-ID of the mapped copy) and its ulp state.  ELF facts are
   cached by the mapped file's device and inode, so 200 processes mapping one
   library cost one ELF read.  */
#ifndef ULP_PROCESS_H
#define ULP_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "metadata.h"
#include "proc.h"
#include "ulp/state.h"

struct ulp_process
{
  pid_t pid;
  /* The task whose /proc entry shows the memory: the process, or one of
     its threads when its main thread has ended (pthread_exit in main
     leaves a zombie leader with no maps and no mem of its own).  */
  pid_t view;
  char name[64];
  pid_t ppid;
  int exec_since_fork;              /* so it shares no parent's memory */
  long threads;                     /* when it was opened */
  unsigned long env_start, env_end; /* its start-up environment */
  struct ulp_maps maps;
  uint64_t state;  /* address of the ulp state mapping, 0 before any patch */
  int state_blank; /* mapped, but its tool died before setting it up */
  int mem_fd;
};

struct ulp_library
{
  const char *path;
  const char *soname; /* DT_SONAME, or "" */
  uint64_t base;      /* where its address 0 is: offsets in it are from here */
  uint64_t start;     /* its first mapping */
  uint8_t build_id[ULP_BUILD_ID_MAX];
  size_t build_id_len;
  size_t patchable; /* number of patchable function entries */
};

int ulp_process_open (pid_t pid, struct ulp_process *p);
/* In two steps: the memory maps (and the state mapping), then the name,
   parent and number of threads.  */
int ulp_process_open_maps (pid_t pid, struct ulp_process *p);
int ulp_process_identify (struct ulp_process *p);
/* Its start-up environment (NUL-separated) into BUF: its length, or -1.  */
ssize_t ulp_process_environ (const struct ulp_process *p, char *buf,
                             size_t size);
/* The state mapping the tool made, found in MAPS by its name and size
   (its contents not checked), or 0.  */
uint64_t ulp_maps_state (const struct ulp_maps *maps);
void ulp_process_close (struct ulp_process *p);

/* A library may be mapped more than once (a copy dlopened under another
   path): every mapping of a matching build is patched.  */
#define ULP_MAX_COPIES 8

/* The objects the process maps that are library NAME (their DT_SONAME, or
   their file name when they have none), the files identified by device and
   inode: how many (at most MAX, in LIBS), -1 with ulp_error when one of
   them cannot be read.  */
int ulp_process_libraries (struct ulp_process *p, const char *name,
                           struct ulp_library *libs, size_t max);
/* The first of them: 0 found, 1 not mapped, -1 error.  */
int ulp_process_library (struct ulp_process *p, const char *name,
                         struct ulp_library *lib);
/* Whether the process maps library NAME at all (even unreadable).  */
int ulp_process_maps_library (struct ulp_process *p, const char *name);
/* Calls VISIT for every mapped library with patchable functions.  */
int ulp_process_livepatchable (struct ulp_process *p,
                               void (*visit) (const struct ulp_library *,
                                              void *),
                               void *ctx);

int ulp_process_read (struct ulp_process *p, uint64_t addr, void *buf,
                      size_t len);
int ulp_process_write (struct ulp_process *p, uint64_t addr, const void *buf,
                       size_t len);
/* N ranges in as few system calls as the kernel allows, in order, each
   range within a page in one piece: for memory that is readable (or
   writable) in the process, by its pid, so only once the process is
   known to run the planned program and is stopped (or for a first look
   at planning, checked again when stopped).  */
int ulp_process_read_ranges (struct ulp_process *p, const uint64_t *from,
                             const struct iovec *to, size_t n);
int ulp_process_write_ranges (struct ulp_process *p, const uint64_t *to,
                              const struct iovec *from, size_t n);
/* Reads the state: header, the used part of the tables (an empty state
   when the process was never patched).  */
int ulp_process_read_state (struct ulp_process *p, struct ulp_runtime *st);
/* The same, and the commit page's header (its slots are not read), in
   two system calls.  A trigger calls ulp_process_tie first.  */
int ulp_process_peek_state (struct ulp_process *p, struct ulp_runtime *st,
                            struct ulp_commit *page);
/* Opens P's /proc/PID/mem, which ties every later access through it to
   the program P runs now (after an exec it reads nothing).  */
int ulp_process_tie (struct ulp_process *p);
/* The copy of the state that PAGE (read from P's state mapping) names.  */
int ulp_process_read_copy (struct ulp_process *p, const struct ulp_commit *page,
                           struct ulp_runtime *st);
int ulp_process_read_commit (struct ulp_process *p, struct ulp_commit *c);
/* The same from the page's BYTES, read already.  */
int ulp_process_take_commit (struct ulp_process *p, const void *bytes,
                             struct ulp_commit *c);
/* The parent whose memory P shares (a vfork child before it calls exec),
   or 0.  Writing to it would change code the parent's threads run.  */
pid_t ulp_process_shares_memory (const struct ulp_process *p);
/* The TLS module ID of the object mapped at FIRST in P, as the dynamic
   linker numbered it: what it wrote into the object's own module slot
   (an R_X86_64_DTPMOD64 relocation for its own variables).  -1 with
   ulp_error when the object has no such slot.  */
int ulp_process_tls_module (struct ulp_process *p, uint64_t first,
                            uint64_t *module);
/* The address of NAME (of VERSION, when not NULL) as the dynamic linker
   would bind it: in the object mapped at FIRST, else in the first mapped
   object that defines it.  0 found, 1 not found, -1 error.  */
int ulp_process_symbol (struct ulp_process *p, uint64_t first, const char *name,
                        const char *version, uint64_t *value);
/* An address where LEN bytes of code can be written that no code of the
   process reaches (see inject.h); 0 with ulp_error if there is none.  */
uint64_t ulp_process_code_cave (struct ulp_process *p, size_t len);

#endif
