#include <ctype.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "commit.h"
#include "error.h"
#include "load.h"
#include "patch.h"
#include "process.h"
#include "transition.h"
#include "trust.h"
#include "trigger.h"

#define PENDING 0

static const char other_build[] = "build-ID mismatch";

struct item
{
  const char *label;
  struct ulp_container *container;
  enum ulp_outcome outcome;
  char reason[600];
  int other_build;
};

struct plan
{
  struct ulp_process proc;
  struct item *items;
  size_t nitems;
  struct ulp_container **apply;
  size_t napply;
  struct copies *apply_copies; /* where each container's library is mapped */
  uint64_t *load_bases;
  const char **revert_libs;
  size_t nrevert_libs;
  struct ulp_runtime *state; /* this thread's scratch (state_scratch) */
  /* The state as planning read it (the used part), and the commit page's
     generation and copy it was found through: a copy is never written
     while the page names it, so the stop need not read it again.  */
  void *seen;
  uint64_t seen_generation;
  uint32_t seen_active;
  int revert;
  int has_work;
};

struct copies
{
  uint64_t base[ULP_MAX_COPIES];
  size_t n;
};

static void
set_outcome (struct item *it, enum ulp_outcome o, const char *reason)
{
  it->outcome = o;
  it->other_build = reason == other_build;
  snprintf (it->reason, sizeof it->reason, "%s", reason ? reason : "");
}

static int
is_pid (const char *s)
{
  if (!s || !*s)
    return 0;
  for (; *s; s++)
    if (!isdigit ((unsigned char)*s))
      return 0;
  return 1;
}

int
ulp_select_pids (const char *selector, pid_t **pids, size_t *n, int *strict)
{
  *strict = is_pid (selector);
  if (*strict) {
    *pids = malloc (sizeof **pids);
    if (!*pids)
      return ulp_fail ("out of memory");
    (*pids)[0] = (pid_t)atoi (selector);
    *n = 1;
    return 0;
  }
  if (ulp_proc_pids (pids, n) < 0)
    return -1;
  size_t kept = 0;
  pid_t self = getpid ();
  for (size_t i = 0; i < *n; i++) {
    char name[64];
    if ((*pids)[i] == self)
      continue;
    if (selector
        && (ulp_proc_name ((*pids)[i], name, sizeof name) < 0
            || fnmatch (selector, name, 0) != 0))
      continue;
    (*pids)[kept++] = (*pids)[i];
  }
  *n = kept;
  return 0;
}

/* --- planning ----------------------------------------------------------- */

static int
add_item (struct plan *plan, const char *label, struct ulp_container *c)
{
  struct item *grown
      = realloc (plan->items, (plan->nitems + 1) * sizeof *grown);
  if (!grown)
    return ulp_fail ("out of memory");
  plan->items = grown;
  plan->items[plan->nitems] = (struct item){ label, c, PENDING, "", 0 };
  plan->nitems++;
  return 0;
}

static int
buildid_matches (const struct ulp_library *lib, const struct ulp_metadata *m)
{
  return lib->build_id_len == m->build_id_len
         && memcmp (lib->build_id, m->build_id, m->build_id_len) == 0;
}

static int
reverts_library (const struct plan *plan, const char *lib)
{
  for (size_t i = 0; i < plan->nrevert_libs; i++)
    if (strcmp (plan->revert_libs[i], lib) == 0)
      return 1;
  return 0;
}

/* The mappings of C's library whose build C was made for.  */
static int
matching_copies (struct plan *plan, const struct ulp_container *c,
                 struct copies *copies)
{
  struct ulp_library libs[ULP_MAX_COPIES];
  int n = ulp_process_libraries (&plan->proc, c->meta.target, libs,
                                 ULP_MAX_COPIES);
  copies->n = 0;
  for (int i = 0; i < n; i++)
    if (buildid_matches (&libs[i], &c->meta))
      copies->base[copies->n++] = libs[i].base;
  return n;
}

/* Why container C cannot be applied (or reverted) here, or NULL.  */
static const char *
mismatch (struct plan *plan, struct ulp_container *c, int revert,
          struct copies *copies, char *buf, size_t len)
{
  int rc = matching_copies (plan, c, copies);
  if (rc < 0) {
    snprintf (buf, len, "%s", ulp_error ());
    return buf;
  }
  if (rc == 0) {
    snprintf (buf, len, "library %s not mapped", c->meta.target);
    return buf;
  }
  if (copies->n == 0)
    return other_build;
  int applied = ulp_state_find (plan->state, c->meta.id) >= 0;
  /* Reverting everything on the target first makes "this patch alone" a
     fine request even when it is already applied.  */
  if (!revert && applied && !reverts_library (plan, c->meta.target))
    return "already applied";
  if (revert && !applied)
    return "not applied";
  return NULL;
}

static int
plan_container (struct plan *plan, struct ulp_container *c,
                const struct ulp_trigger_options *o)
{
  struct copies copies;
  char buf[256];
  const char *why = mismatch (plan, c, o->revert, &copies, buf, sizeof buf);
  int relevant = ulp_process_maps_library (&plan->proc, c->meta.target);
  if (why && !relevant && !o->selector)
    return 0; /* not a candidate: says nothing about this process */
  if (add_item (plan, c->label, c) < 0)
    return -1;
  struct item *it = &plan->items[plan->nitems - 1];
  if (why) {
    set_outcome (it, ULP_SKIPPED, why);
    return 0;
  }
  if (!o->revert) {
    plan->apply[plan->napply] = c;
    plan->apply_copies[plan->napply] = copies;
    plan->napply++;
  }
  plan->has_work = 1;
  return 0;
}

static int
plan_revert_all (struct plan *plan, struct ulp_container *containers, size_t n,
                 const struct ulp_trigger_options *o)
{
  if (!o->revert_all)
    return 0;
  if (strcmp (o->revert_all, "target") != 0) {
    if (ulp_process_maps_library (&plan->proc, o->revert_all))
      plan->revert_libs[plan->nrevert_libs++] = o->revert_all;
    return 0;
  }
  for (size_t i = 0; i < n; i++)
    if (ulp_process_maps_library (&plan->proc, containers[i].meta.target))
      plan->revert_libs[plan->nrevert_libs++] = containers[i].meta.target;
  return 0;
}

/* Whether LIB is among the first I libraries to revert.  */
static int
reverts_library_before (const struct plan *plan, size_t i, const char *lib)
{
  while (i-- > 0)
    if (strcmp (plan->revert_libs[i], lib) == 0)
      return 1;
  return 0;
}

static int
patches_on (const struct ulp_runtime *st, const char *lib)
{
  for (uint32_t i = 0; i < st->npatches; i++)
    if (strcmp (st->patches[i].target, lib) == 0)
      return 1;
  return 0;
}

static int
add_revert_all_item (struct plan *plan, const char *lib)
{
  char *label;
  if (asprintf (&label, "revert-all=%s", lib) < 0)
    return ulp_fail ("out of memory");
  if (add_item (plan, label, NULL) < 0) {
    free (label);
    return -1;
  }
  return 0;
}

/* Whether every container for LIB was made for another build than the one
   the process runs.  */
static int
uncovered (const struct plan *plan, const char *lib)
{
  for (size_t i = 0; i < plan->nitems; i++) {
    const struct item *it = &plan->items[i];
    if (it->container && strcmp (it->container->meta.target, lib) == 0
        && !it->other_build)
      return 0;
  }
  return 1;
}

/* With revert_uncovered: a process whose build none of the containers
   covers loses its earlier patches on the library all the same.  */
static int
plan_uncovered (struct plan *plan)
{
  for (size_t i = 0; i < plan->nrevert_libs; i++) {
    const char *lib = plan->revert_libs[i];
    if (reverts_library_before (plan, i, lib) || !uncovered (plan, lib)
        || !patches_on (plan->state, lib))
      continue;
    if (add_revert_all_item (plan, lib) < 0)
      return -1;
    struct item *it = &plan->items[plan->nitems - 1];
    snprintf (it->reason, sizeof it->reason,
              "no container for the library build it runs: earlier patches "
              "reverted");
    plan->has_work = 1;
  }
  return 0;
}

/* A state is large and only needed while a process is planned, or
   written: one per thread does, rather than fresh memory for each.  */
static struct ulp_runtime *
state_scratch (void)
{
  static _Thread_local struct ulp_runtime scratch;
  return &scratch;
}

/* The used parts of a state, as (offset, length) pairs.  */
static void
used_parts (const struct ulp_runtime *st, size_t part[3][2])
{
  part[0][0] = 0;
  part[0][1] = offsetof (struct ulp_runtime, loaded)
               + st->nloaded * sizeof st->loaded[0];
  part[1][0] = offsetof (struct ulp_runtime, patches);
  part[1][1] = st->npatches * sizeof st->patches[0];
  part[2][0] = offsetof (struct ulp_runtime, funcs);
  part[2][1] = st->nfuncs * sizeof st->funcs[0];
}

static void
remember_state (struct plan *plan, const struct ulp_commit *page)
{
  const char *st = (const char *)plan->state;
  size_t part[3][2];
  used_parts (plan->state, part);
  if (!plan->proc.state || plan->proc.state_blank
      || !(plan->seen = malloc (part[0][1] + part[1][1] + part[2][1])))
    return;
  char *out = plan->seen;
  for (int i = 0; i < 3; out += part[i][1], i++)
    memcpy (out, st + part[i][0], part[i][1]);
  plan->seen_generation = page->generation;
  plan->seen_active = page->active;
}

/* The state the commit page PAGE names, as planning saw it if it is the
   same (no read), else as it is now.  */
static int
state_now (struct plan *plan, const struct ulp_commit *page)
{
  if (!plan->seen || page->generation != plan->seen_generation
      || page->active != plan->seen_active)
    return ulp_process_read_copy (&plan->proc, page, plan->state);
  char *st = (char *)plan->state;
  const char *in = plan->seen;
  size_t part[3][2];
  used_parts ((const struct ulp_runtime *)in, part);
  for (int i = 0; i < 3; in += part[i][1], i++)
    memcpy (st + part[i][0], in, part[i][1]);
  return 0;
}

static int
plan_process (struct plan *plan, struct ulp_container *containers, size_t n,
              const struct ulp_trigger_options *o)
{
  plan->apply = calloc (n + 1, sizeof *plan->apply);
  plan->apply_copies = calloc (n + 1, sizeof *plan->apply_copies);
  plan->load_bases = calloc (n + 1, sizeof *plan->load_bases);
  plan->revert_libs = calloc (n + 2, sizeof *plan->revert_libs);
  plan->state = state_scratch ();
  if (!plan->apply || !plan->apply_copies || !plan->load_bases
      || !plan->revert_libs)
    return ulp_fail ("out of memory");
  plan->revert = o->revert;
  struct ulp_commit page;
  if (ulp_process_tie (&plan->proc) < 0
      || ulp_process_peek_state (&plan->proc, plan->state, &page) < 0)
    return -1;
  remember_state (plan, &page);
  plan_revert_all (plan, containers, n, o);
  for (size_t i = 0; i < n; i++)
    if (plan_container (plan, &containers[i], o) < 0)
      return -1;
  if (o->revert_uncovered && n > 0 && plan_uncovered (plan) < 0)
    return -1;
  if (n == 0 && o->revert_all) {
    for (size_t i = 0; i < plan->nrevert_libs; i++) {
      if (add_revert_all_item (plan, plan->revert_libs[i]) < 0)
        return -1;
      if (patches_on (plan->state, plan->revert_libs[i]))
        plan->has_work = 1;
      else
        set_outcome (&plan->items[plan->nitems - 1], ULP_SKIPPED,
                     "nothing to revert");
    }
  }
  return 0;
}

/* --- the write, with every thread stopped ------------------------------- */

static int
add_affected (uint64_t **addrs, size_t *n, uint64_t addr)
{
  for (size_t i = 0; i < *n; i++)
    if ((*addrs)[i] == addr)
      return 0;
  uint64_t *grown = realloc (*addrs, (*n + 1) * sizeof *grown);
  if (!grown)
    return ulp_fail ("out of memory");
  grown[(*n)++] = addr;
  *addrs = grown;
  return 0;
}

static void
affected_by (const struct ulp_runtime *st, size_t index, uint64_t **addrs,
             size_t *n)
{
  const struct ulp_applied_patch *p = &st->patches[index];
  for (uint32_t f = p->first_func; f < p->first_func + p->nfuncs; f++)
    add_affected (addrs, n, st->funcs[f].old_addr);
}

static int
remove_patches (struct plan *plan, struct ulp_runtime *st, uint64_t **addrs,
                size_t *n)
{
  for (size_t l = 0; l < plan->nrevert_libs; l++)
    for (uint32_t i = st->npatches; i-- > 0;)
      if (strcmp (st->patches[i].target, plan->revert_libs[l]) == 0) {
        affected_by (st, i, addrs, n);
        ulp_state_remove (st, i);
      }
  for (size_t i = 0; plan->revert && i < plan->nitems; i++) {
    struct item *it = &plan->items[i];
    if (it->outcome != PENDING)
      continue;
    int index = ulp_state_find (st, it->container->meta.id);
    if (index < 0)
      return ulp_fail ("%s is not applied", it->label);
    affected_by (st, (size_t)index, addrs, n);
    ulp_state_remove (st, (size_t)index);
  }
  return 0;
}

/* The I-th container to apply, redirecting its functions in every copy
   of the library it was made for (one entry in the state block).  */
static int
add_patch (struct plan *plan, struct ulp_runtime *st, size_t i,
           uint64_t **addrs, size_t *n)
{
  struct ulp_container *c = plan->apply[i];
  const struct copies *copies = &plan->apply_copies[i];
  size_t nfuncs = c->meta.nfuncs * copies->n;
  if (ulp_state_find (st, c->meta.id) >= 0)
    return ulp_fail ("%s is already applied", c->label);
  struct ulp_patched_func *funcs = calloc (nfuncs + 1, sizeof *funcs);
  if (!funcs)
    return ulp_fail ("out of memory");
  int rc = 0;
  for (size_t k = 0; k < copies->n && rc == 0; k++)
    for (size_t f = 0; f < c->meta.nfuncs && rc == 0; f++) {
      struct ulp_patched_func *pf = &funcs[k * c->meta.nfuncs + f];
      pf->old_addr = copies->base[k] + c->meta.funcs[f].old_offset;
      pf->new_addr = plan->load_bases[i] + c->meta.funcs[f].new_offset;
      rc = add_affected (addrs, n, pf->old_addr);
    }
  if (rc == 0)
    rc = ulp_state_add (st, c->meta.id, c->origin, c->meta.target,
                        plan->load_bases[i], funcs, nfuncs,
                        (int64_t)time (NULL));
  free (funcs);
  return rc;
}

static int
add_patches (struct plan *plan, struct ulp_runtime *st, uint64_t **addrs,
             size_t *n)
{
  for (size_t i = 0; i < plan->napply; i++)
    if (add_patch (plan, st, i, addrs, n) < 0)
      return -1;
  return 0;
}

/* Maps the containers to apply, or finds them mapped already: only a new
   mapping needs a thread to make system calls.  */
/* The code the state mapping is made close to, when planning can tell:
   the first function of the first container to apply.  */
static uint64_t
state_near (const struct plan *plan)
{
  if (plan->proc.state || !plan->napply || !plan->apply[0]->meta.nfuncs)
    return 0;
  return plan->apply_copies[0].base[0]
         + plan->apply[0]->meta.funcs[0].old_offset;
}

static int
load_containers (struct plan *plan, struct ulp_runtime *st,
                 struct ulp_stop *stop)
{
  for (size_t i = 0; i < plan->napply; i++) {
    if (ulp_load_find (&plan->proc, st, plan->apply[i], &plan->load_bases[i]))
      continue;
    struct ulp_injector *in = ulp_stop_injector (stop);
    if (!in
        || ulp_load_container (in, &plan->proc, st, plan->apply[i],
                               plan->apply_copies[i].base[0], state_near (plan),
                               &plan->load_bases[i])
               < 0)
      return -1;
  }
  return 0;
}

static int
ensure_state_mapping (struct plan *plan, struct ulp_stop *stop, uint64_t near)
{
  if (plan->proc.state)
    return plan->proc.state_blank ? ulp_load_state_init (&plan->proc) : 0;
  struct ulp_injector *in = ulp_stop_injector (stop);
  return in ? ulp_load_state (in, &plan->proc, near) : -1;
}

/* The state of the stopped process, and its commit page (which the stop
   read first when planning knew where it is).  */
static int
read_state (struct plan *plan, const struct ulp_stop *stop,
            struct ulp_commit *page)
{
  ulp_state_empty (plan->state);
  memset (page, 0, sizeof *page);
  if (!plan->proc.state)
    return 0;
  int read_first = stop->job->first_addr == plan->proc.state
                   && stop->first_len == sizeof *page;
  if (read_first ? ulp_process_take_commit (&plan->proc, stop->first, page) < 0
                 : ulp_process_read_commit (&plan->proc, page) < 0)
    return -1;
  return plan->proc.state_blank ? 0 : state_now (plan, page);
}

/* Called with every thread stopped: re-reads the state (the earlier read
   was only for planning), maps what the new state needs, derives it and
   makes the code match (commit.h).  */
static enum ulp_stop_result
write_patches (struct ulp_job *job, struct ulp_stop *stop)
{
  struct plan *plan = job->ctx;
  struct ulp_runtime *st = plan->state = state_scratch ();
  struct ulp_commit page;
  uint64_t *addrs = NULL;
  size_t naddrs = 0;
  enum ulp_stop_result rc = ULP_STOP_FAILED;
  int read = read_state (plan, stop, &page) == 0;
  /* A page read before the state mapping was made (with a container,
     below) or set up is not its page.  */
  int known = plan->proc.state && !plan->proc.state_blank;
  if (read && load_containers (plan, st, stop) == 0
      && remove_patches (plan, st, &addrs, &naddrs) == 0
      && add_patches (plan, st, &addrs, &naddrs) == 0) {
    /* A patch that redirects no function is still recorded.  */
    uint64_t near = naddrs         ? addrs[0]
                    : plan->napply ? plan->apply_copies[0].base[0]
                                   : 0;
    if (naddrs == 0 && !plan->proc.state && !plan->napply)
      rc = ULP_STOP_DONE;
    else if (ensure_state_mapping (plan, stop, near) == 0)
      rc = ulp_commit (&plan->proc, known ? &page : NULL, st, addrs, naddrs,
                       stop);
  }
  if (rc == ULP_STOP_FAILED && stop->busy)
    rc = ULP_STOP_RETRY; /* the threads settle: try again */
  free (addrs);
  return rc;
}

/* --- running and reporting ---------------------------------------------- */

/* NAME-VERSION-RELEASE.ARCH: the package the catalog names for the build
   of the item's library that the process runs; "" when unknown.  */
static void
build_name (struct plan *plan, const struct item *it,
            const struct ulp_catalog *catalog, char *out, size_t size)
{
  out[0] = '\0';
  if (!catalog)
    return;
  const char *lib = it->container ? it->container->meta.target : it->label;
  const char *eq = strchr (lib, '=');
  struct ulp_library l;
  if (ulp_process_library (&plan->proc, eq ? eq + 1 : lib, &l) != 0) {
    ulp_clear_error ();
    return;
  }
  char hex[2 * ULP_BUILD_ID_MAX + 1];
  ulp_hex (l.build_id, l.build_id_len, hex);
  const struct ulp_catalog_entry *e = ulp_catalog_find_build (catalog, hex);
  if (e)
    ulp_catalog_nevra (e, out, size);
}

static int
add_result (struct ulp_results *r, struct plan *plan, const struct item *it,
            const struct ulp_trigger_options *o, const struct ulp_job *job)
{
  if (ulp_reserve (&r->v, &r->cap, r->n, sizeof *r->v) < 0)
    return ulp_fail ("out of memory");
  struct ulp_result *res = &r->v[r->n++];
  memset (res, 0, sizeof *res);
  res->pid = plan->proc.pid;
  snprintf (res->process, sizeof res->process, "%s", plan->proc.name);
  build_name (plan, it, o->catalog, res->build, sizeof res->build);
  res->outcome = it->outcome;
  snprintf (res->what, sizeof res->what, "%s", it->label);
  snprintf (res->reason, sizeof res->reason, "%s", it->reason);
  res->other_build = it->other_build;
  int timed = o->timing && job && !job->failed;
  res->stopped_us = timed ? (long long)(job->stopped_ns / 1000) : -1;
  res->thread_max_us = timed ? (long long)(job->thread_max_ns / 1000) : -1;
  return 0;
}

static const char *const outcome_names[]
    = { "PENDING", "SUCCESS", "SKIPPED", "FAILED" };

void
ulp_result_format (const struct ulp_result *r, char *out, size_t size)
{
  snprintf (out, size, "%s (pid %d%s%s): %s %s%s%s", r->process, (int)r->pid,
            r->build[0] ? ", " : "", r->build, outcome_names[r->outcome],
            r->what, r->reason[0] ? ": " : "", r->reason);
}

void
ulp_results_count (const struct ulp_results *r, struct ulp_trigger_summary *s)
{
  memset (s, 0, sizeof *s);
  for (size_t i = 0; i < r->n; i++) {
    s->succeeded += r->v[i].outcome == ULP_SUCCESS;
    s->skipped += r->v[i].outcome == ULP_SKIPPED;
    s->failed += r->v[i].outcome == ULP_FAILED;
  }
}

void
ulp_results_free (struct ulp_results *r)
{
  free (r->v);
  r->v = NULL;
  r->n = r->cap = 0;
}

static void
settle (struct plan *plan, struct ulp_job *job, int strict)
{
  for (size_t i = 0; i < plan->nitems; i++) {
    struct item *it = &plan->items[i];
    if (it->outcome == PENDING && job && job->failed)
      set_outcome (it, job->skipped && !strict ? ULP_SKIPPED : ULP_FAILED,
                   job->reason);
    else if (it->outcome == PENDING)
      it->outcome = ULP_SUCCESS; /* with the reason planned, if any */
    else if (strict && it->outcome == ULP_SKIPPED
             && strcmp (it->reason, "nothing to revert") != 0)
      it->outcome = ULP_FAILED;
  }
}

static void
free_plan (struct plan *plan)
{
  for (size_t i = 0; i < plan->nitems; i++)
    if (!plan->items[i].container)
      free ((char *)plan->items[i].label);
  free (plan->items);
  free (plan->apply);
  free (plan->apply_copies);
  free (plan->load_bases);
  free (plan->revert_libs);
  free (plan->seen);
  ulp_process_close (&plan->proc);
}

/* A process the user named but that cannot take part.  */
static void
report_unusable (struct plan *plan, struct ulp_container *containers, size_t n,
                 const struct ulp_trigger_options *o, const char *why,
                 int strict)
{
  if (n == 0)
    add_item (plan, o->revert_all ? o->revert_all : "revert-all", NULL);
  for (size_t i = 0; i < n; i++)
    add_item (plan, containers[i].label, &containers[i]);
  for (size_t i = 0; i < plan->nitems; i++) {
    if (!plan->items[i].container)
      plan->items[i].label = strdup (plan->items[i].label);
    set_outcome (&plan->items[i], strict ? ULP_FAILED : ULP_SKIPPED, why);
  }
}

/* The library of the request that process PLAN maps, or NULL.  */
static const char *
mapped_target (struct plan *plan, const struct ulp_container *c, size_t n,
               const struct ulp_trigger_options *o)
{
  for (size_t i = 0; i < n; i++)
    if (ulp_process_maps_library (&plan->proc, c[i].meta.target))
      return c[i].meta.target;
  if (o->revert_all && strcmp (o->revert_all, "target") != 0
      && ulp_process_maps_library (&plan->proc, o->revert_all))
    return o->revert_all;
  return NULL;
}

/* SUSE libpulp's opt-outs, in the environment the process started with.  */
static int
opted_out (struct plan *plan, char *why, size_t size)
{
  char env[65536];
  ssize_t len = ulp_process_environ (&plan->proc, env, sizeof env - 1);
  if (len <= 0)
    return 0;
  env[len] = '\0';
  return ulp_env_opted_out (plan->proc.pid, env, (size_t)len, why, size);
}

/* A vfork child runs in its parent's memory until it calls exec: it is
   patched through the parent, never on its own.  */
static int
shares_memory (struct plan *plan, char *why, size_t size)
{
  pid_t parent = ulp_process_shares_memory (&plan->proc);
  if (parent)
    snprintf (why, size,
              "shares its memory with its parent (pid %d): a vfork child "
              "that has not called exec",
              (int)parent);
  return parent != 0;
}

/* The plan for process PID: 0 when it takes part (has items), 1 when it
   has nothing to do with the request.  Processes are read in order of
   cost: the maps of every process, the rest only of those that map a
   target or were named.  */
/* Empties PLAN for another process (or for a report of its own).  */
static void
reset_plan (struct plan *plan)
{
  free_plan (plan);
  memset (plan, 0, sizeof *plan);
  plan->proc.mem_fd = -1;
}

static int
plan_one (struct plan *plan, pid_t pid, struct ulp_container *containers,
          size_t n, const struct ulp_trigger_options *o,
          const struct ulp_policy *policy, int strict)
{
  char why[512];
  int opened = ulp_process_open_maps (pid, &plan->proc) == 0;
  if (opened && !o->selector && !mapped_target (plan, containers, n, o)) {
    reset_plan (plan);
    return 1;
  }
  if (opened)
    opened = ulp_process_identify (&plan->proc) == 0;
  if (!opened) {
    reset_plan (plan);
    if (!o->selector)
      return 1;
    snprintf (plan->proc.name, sizeof plan->proc.name, "?");
    plan->proc.pid = pid;
    report_unusable (plan, containers, n, o, "no such process", strict);
  } else if (ulp_policy_excludes (policy, pid, plan->proc.name, why, sizeof why)
             || opted_out (plan, why, sizeof why)
             || shares_memory (plan, why, sizeof why))
    report_unusable (plan, containers, n, o, why, strict);
  else if (plan_process (plan, containers, n, o) < 0) {
    snprintf (why, sizeof why, "%s", ulp_error ());
    reset_plan (plan);
    plan->proc.pid = pid;
    ulp_process_open (pid, &plan->proc);
    report_unusable (plan, containers, n, o, why, strict);
  }
  if (plan->nitems == 0) {
    reset_plan (plan);
    return 1;
  }
  return 0;
}

/* A share of the processes to plan, for one thread: every STEP-th from
   FIRST, each into its own slot.  */
struct planner
{
  pid_t *pids;
  size_t npids, first, step;
  struct plan *slots;
  struct ulp_container *containers;
  size_t n;
  const struct ulp_trigger_options *o;
  const struct ulp_policy *policy;
  int strict;
};

static void *
plan_share (void *arg)
{
  struct planner *p = arg;
  /* The maps kept of each process that takes part, its plan and result.  */
  ulp_heap_prefault (p->npids / p->step * 8192);
  for (size_t i = p->first; i < p->npids; i += p->step) {
    if (plan_one (&p->slots[i], p->pids[i], p->containers, p->n, p->o,
                  p->policy, p->strict)
        != 0)
      p->slots[i].proc.pid = 0; /* takes no part */
    p->slots[i].state = NULL;   /* this thread's scratch, gone with it */
  }
  return NULL;
}

/* Reading what planning needs of a process takes a dozen system calls,
   most of its time in the kernel: on a host with many processes, the
   cores plan a share each.  */
#define PROCESSES_PER_PLANNER 64
#define MAX_PLANNERS 8

static size_t
planner_count (size_t npids)
{
  long cores = sysconf (_SC_NPROCESSORS_ONLN);
  size_t want = npids / PROCESSES_PER_PLANNER + 1;
  if (cores < 1)
    cores = 1;
  if (want > (size_t)cores)
    want = (size_t)cores;
  return want < MAX_PLANNERS ? want : MAX_PLANNERS;
}

static void
plan_all (struct planner *share, size_t nplanners)
{
  pthread_t threads[MAX_PLANNERS];
  size_t started = 1;
  for (size_t t = 1; t < nplanners; t++) {
    share[t] = share[0];
    share[t].first = t;
    if (pthread_create (&threads[t], NULL, plan_share, &share[t]) != 0)
      break;
    started++;
  }
  /* The shares no thread took are this one's.  */
  share[0].step = nplanners;
  plan_share (&share[0]);
  for (size_t t = started; t < nplanners; t++) {
    share[0].first = t;
    plan_share (&share[0]);
  }
  for (size_t t = 1; t < started; t++)
    pthread_join (threads[t], NULL);
}

static int
build_plans (struct ulp_container *containers, size_t n,
             const struct ulp_trigger_options *o,
             const struct ulp_policy *policy, struct plan **plans,
             size_t *nplans, int *strict)
{
  pid_t *pids;
  size_t npids;
  if (ulp_select_pids (o->selector, &pids, &npids, strict) < 0)
    return -1;
  *plans = calloc (npids + 1, sizeof **plans);
  if (!*plans) {
    free (pids);
    return ulp_fail ("out of memory");
  }
  size_t nplanners = planner_count (npids);
  struct planner share[MAX_PLANNERS]
      = { { pids, npids, 0, nplanners, *plans, containers, n, o, policy,
            *strict } };
  plan_all (share, nplanners);
  *nplans = 0;
  for (size_t i = 0; i < npids; i++)
    if ((*plans)[i].proc.pid)
      (*plans)[(*nplans)++] = (*plans)[i];
  free (pids);
  return 0;
}

/* Each process taking part keeps its /proc/PID/mem open from planning to
   release (which ties it to the program planned for): a host with more
   such processes than the usual soft limit of 1024 files must not see
   them skipped for "Too many open files".  */
static void
allow_open_files (void)
{
  struct rlimit files;
  if (getrlimit (RLIMIT_NOFILE, &files) == 0
      && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit (RLIMIT_NOFILE, &files);
  }
}

static int
reverts_only (const struct ulp_trigger_options *o, size_t n)
{
  return o->revert || (o->revert_all && n == 0);
}

int
ulp_trigger (struct ulp_container *containers, size_t n,
             const struct ulp_trigger_options *o, struct ulp_results *results)
{
  struct plan *plans;
  size_t nplans = 0, njobs = 0;
  int strict, rc = 0;
  struct ulp_policy policy; /* the admin's exclusions */
  memset (results, 0, sizeof *results);
  allow_open_files ();
  if (ulp_policy_read (&policy) < 0) {
    /* Going back to the original code never waits on a policy fix.  */
    if (!reverts_only (o, n))
      return -1;
    ulp_clear_error ();
    policy.nexclude = policy.nexclude_cgroup = 0;
  }
  if (build_plans (containers, n, o, &policy, &plans, &nplans, &strict) < 0)
    return -1;
  struct ulp_job *jobs = calloc (nplans + 1, sizeof *jobs);
  struct ulp_job **job_of = calloc (nplans + 1, sizeof *job_of);
  if (!jobs || !job_of) {
    free (jobs);
    free (job_of);
    return ulp_fail ("out of memory");
  }
  for (size_t i = 0; i < nplans; i++) {
    if (!plans[i].has_work)
      continue;
    struct ulp_job *job = &jobs[njobs++];
    job->proc = &plans[i].proc;
    job->ctx = &plans[i];
    job->stopped = write_patches;
    if (plans[i].proc.state) {
      job->first_addr = plans[i].proc.state;
      job->first_len = sizeof (struct ulp_commit);
    }
    job_of[i] = job;
  }
  struct ulp_transition_options to = { o->timeout, o->retries };
  ulp_transition_run (jobs, njobs, &to);
  for (size_t i = 0; i < nplans; i++) {
    settle (&plans[i], job_of[i], strict);
    for (size_t k = 0; k < plans[i].nitems && rc == 0; k++)
      rc = add_result (results, &plans[i], &plans[i].items[k], o, job_of[i]);
    free_plan (&plans[i]);
  }
  for (size_t i = 0; i < njobs; i++)
    ulp_job_free (&jobs[i]);
  free (jobs);
  free (job_of);
  free (plans);
  if (rc < 0)
    ulp_results_free (results);
  return rc;
}
