/* Reading /proc: processes, threads, names and memory maps.  */
#ifndef ULP_PROC_H
#define ULP_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ulp_mapping
{
  uint64_t start, end, offset, inode;
  unsigned dev_major, dev_minor;
  char perms[5];
  char *path;  /* NULL for anonymous mappings (ulp_maps_read skips them) */
  int deleted; /* the file was removed or replaced after mapping */
};

struct ulp_maps
{
  size_t n;
  struct ulp_mapping *v; /* of files only; followed by their paths */
};

int ulp_maps_read (pid_t pid, struct ulp_maps *maps);
void ulp_maps_free (struct ulp_maps *maps);
/* Whether ADDR lies in an executable mapping of a file whose name starts
   with one of PREFIXES (NULL-terminated).  */
int ulp_maps_in_code_of (const struct ulp_maps *maps, uint64_t addr,
                         const char *const *prefixes);

const char *ulp_basename (const char *path);

int ulp_proc_pids (pid_t **pids, size_t *n);
int ulp_proc_tids (pid_t pid, pid_t **tids, size_t *n);
/* A thread of process PID other than its main thread that has not ended,
   or 0: where to read the memory of a process whose main thread ended.  */
pid_t ulp_proc_live_thread (pid_t pid);
struct ulp_proc_stat
{
  char name[64]; /* the command, as in /proc/PID/comm */
  char state;    /* R, S, D, T, t, Z, X, ... */
  pid_t ppid;
  unsigned long flags; /* PF_* */
  long threads;
  /* Where its start-up environment lies (0 when /proc hides it).  */
  unsigned long env_start, env_end;
};

/* A process forked that has not called exec since (so a vfork child
   still in its parent's memory has it).  */
#define ULP_PF_FORKNOEXEC 0x40ul

/* /proc/TID/NAME, one read of at most SIZE - 1 bytes, NUL-terminated: its
   length, or -1 with errno.  */
ssize_t ulp_proc_read (pid_t tid, const char *name, char *buf, size_t size);

/* /proc/TID/stat, what the tool uses of it.  */
int ulp_proc_stat (pid_t tid, struct ulp_proc_stat *st);
int ulp_proc_name (pid_t pid, char *buf, size_t len);
/* The state letter of thread TID in /proc/TID/stat (R, S, D, T, t, Z, X,
   ...), or '\0' when the thread is gone.  */
char ulp_proc_thread_state (pid_t tid);

/* What the tool uses of /proc/TID/status: the thread's process, who
   traces it, its seccomp mode and its signal masks.  */
struct ulp_proc_status
{
  pid_t tgid;    /* its process */
  pid_t tracer;  /* TracerPid, 0 when none */
  int seccomp;   /* 0 none, 1 strict, 2 filter */
  long uid, gid; /* real user and group */
  unsigned long long pending, shared, blocked, ignored, caught; /* Sig*: */
};
/* -1 with errno when the thread is gone.  */
int ulp_proc_status (pid_t tid, struct ulp_proc_status *st);

#endif
