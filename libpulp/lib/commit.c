#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit.h"
#include "error.h"
#include "failpoint.h"
#include "patch.h"

_Static_assert(sizeof (struct ulp_commit) <= ULP_PAGE,
               "the commit page is written in one piece");

enum change
{
  KEEP,  /* stays as it is, or only its slot's target changes */
  CLAIM, /* becomes patched: a slot and new pad and entry */
  DROP   /* becomes unpatched: NOPs back, slot freed */
};

struct function
{
  uint64_t addr;
  struct ulp_entry entry;
  enum change change;
  int slot; /* index in the commit page, or -1 */
  uint8_t before[ULP_WINDOW], after[ULP_WINDOW];
};

struct commit
{
  struct ulp_process *proc;
  const struct ulp_runtime *st;
  struct function *funcs;
  size_t n;
  struct ulp_commit now, next;
};

/* What the pad of a function using slot INDEX jumps through.  */
static uint64_t
slot_address (const struct commit *c, int index)
{
  return c->proc->state + offsetof (struct ulp_commit, slots)
         + (uint64_t)index * sizeof (struct ulp_slot)
         + offsetof (struct ulp_slot, target);
}

/* Which slot of ours the pad jumps through; -1 with ulp_error if the pad
   jumps somewhere else (another tool, or an old inline jump).  */
static int
slot_index (const struct commit *c, const struct function *f)
{
  uint64_t first = slot_address (c, 0);
  uint64_t off = f->entry.slot - first;
  if (f->entry.slot >= first && off % sizeof (struct ulp_slot) == 0
      && off / sizeof (struct ulp_slot) < ULP_SLOTS
      && c->now.slots[off / sizeof (struct ulp_slot)].owner == f->addr)
    return (int)(off / sizeof (struct ulp_slot));
  return ulp_fail ("the function at 0x%llx was patched by something else "
                   "than this ulp",
                   (unsigned long long)f->addr);
}

static int
add_function (struct commit *c, uint64_t addr)
{
  for (size_t i = 0; i < c->n; i++)
    if (c->funcs[i].addr == addr)
      return 0;
  struct function *grown = realloc (c->funcs, (c->n + 1) * sizeof *grown);
  if (!grown)
    return ulp_fail ("out of memory");
  c->funcs = grown;
  struct function *f = &c->funcs[c->n++];
  memset (f, 0, sizeof *f);
  f->addr = addr;
  f->slot = -1;
  return 0;
}

/* Functions an earlier run left half unpatched (it died between the
   switch and the NOPs) are finished now.  */
static int
add_leftovers (struct commit *c)
{
  for (int i = 0; i < ULP_SLOTS; i++) {
    uint64_t owner = c->now.slots[i].owner;
    if (owner && !ulp_state_effective (c->st, owner)
        && add_function (c, owner) < 0)
      return -1;
  }
  return 0;
}

static int
free_slot (const struct commit *c)
{
  for (int i = 0; i < ULP_SLOTS; i++)
    if (!c->next.slots[i].owner)
      return i;
  return ulp_fail ("more than %d functions patched in one process", ULP_SLOTS);
}

/* The code around every function's entry, as it is: in one system call,
   or through the memory file where the code is not readable.  */
static int
read_windows (struct commit *c)
{
  uint64_t *at = calloc (c->n + 1, sizeof *at);
  struct iovec *to = calloc (c->n + 1, sizeof *to);
  int rc = at && to ? 0 : ulp_fail ("out of memory");
  for (size_t i = 0; rc == 0 && i < c->n; i++) {
    at[i] = c->funcs[i].addr - ULP_PAD_BEFORE;
    to[i] = (struct iovec){ c->funcs[i].before, ULP_WINDOW };
  }
  if (rc == 0 && ulp_process_read_ranges (c->proc, at, to, c->n) < 0) {
    ulp_clear_error ();
    for (size_t i = 0; rc == 0 && i < c->n; i++)
      rc = ulp_process_read (c->proc, at[i], to[i].iov_base, ULP_WINDOW);
  }
  free (at);
  free (to);
  return rc;
}

static int
classify (struct commit *c, struct function *f)
{
  if (ulp_entry_parse (f->addr, f->before, &f->entry) < 0)
    return ulp_fail ("code at 0x%llx is not a live patch area",
                     (unsigned long long)f->addr);
  uint64_t target = ulp_state_effective (c->st, f->addr);
  uint64_t body = ulp_entry_body (f->addr, f->entry.endbr);
  memcpy (f->after, f->before, ULP_WINDOW);
  if (f->entry.slot && (f->slot = slot_index (c, f)) < 0)
    return -1;
  if (f->entry.slot) {
    f->change = target ? KEEP : DROP;
    c->next.slots[f->slot].target = target ? target : body;
    return f->change == DROP
               ? ulp_entry_render (f->addr, &f->entry, 0, f->after)
               : 0;
  }
  if (!target)
    return 0; /* KEEP: not patched before or after */
  if ((f->slot = free_slot (c)) < 0)
    return -1;
  f->change = CLAIM;
  c->next.slots[f->slot] = (struct ulp_slot){ f->addr, target };
  return ulp_entry_render (f->addr, &f->entry, slot_address (c, f->slot),
                           f->after);
}

/* Threads resting between two entry NOPs about to be rewritten move on;
   this is done before any write, so that it holds whatever write is the
   last.  */
static enum ulp_stop_result
move_threads (struct commit *c, struct ulp_stop *stop)
{
  for (size_t i = 0; i < c->n; i++) {
    struct function *f = &c->funcs[i];
    if (f->change == KEEP)
      continue;
    for (size_t k = 0; k < stop->npcs; k++)
      if (ulp_entry_move_pc (f->addr, &f->entry, &stop->pcs[k]) < 0) {
        ulp_fail ("a thread is inside the patch area at 0x%llx",
                  (unsigned long long)f->addr);
        return ULP_STOP_RETRY;
      }
  }
  return ulp_stop_move_threads (stop) < 0 ? ULP_STOP_FAILED : ULP_STOP_DONE;
}

static int
write_page (struct commit *c, const struct ulp_commit *page)
{
  return ulp_process_write (c->proc, c->proc->state, page, sizeof *page);
}

static int
write_windows (struct commit *c, enum change which, int forward)
{
  for (size_t i = 0; i < c->n; i++) {
    struct function *f = &c->funcs[i];
    if (f->change == which
        && ulp_process_write (c->proc, f->addr - ULP_PAD_BEFORE,
                              forward ? f->after : f->before, ULP_WINDOW)
               < 0)
      return -1;
  }
  return 0;
}

/* The copy WHICH of the state (not the one that holds), then PAGE if not
   NULL: in order, in one system call.  */
static int
write_copy_then (struct commit *c, uint32_t which,
                 const struct ulp_commit *page)
{
  const struct ulp_runtime *st = c->st;
  uint64_t copy = c->proc->state + ULP_PAGE + which * ULP_COPY_SIZE;
  uint64_t to[3]
      = { copy, copy + offsetof (struct ulp_runtime, funcs), c->proc->state };
  struct iovec from[3]
      = { { (void *)st, offsetof (struct ulp_runtime, patches)
                            + st->npatches * sizeof st->patches[0] },
          { (void *)st->funcs, st->nfuncs * sizeof st->funcs[0] },
          { (void *)page, page ? sizeof *page : 0 } };
  return ulp_process_write_ranges (c->proc, to, from, 3);
}

/* Before the switch: everything back as it was, as far as it goes.  */
static void
undo (struct commit *c)
{
  char saved[512];
  snprintf (saved, sizeof saved, "%s", ulp_error ());
  write_windows (c, CLAIM, 0);
  write_page (c, &c->now);
  ulp_fail ("%s (nothing changed)", saved);
}

static int
any_change (const struct commit *c, enum change which)
{
  for (size_t i = 0; i < c->n; i++)
    if (c->funcs[i].change == which)
      return 1;
  return 0;
}

static int
switch_over (struct commit *c)
{
  struct ulp_commit claimed = c->now;
  for (size_t i = 0; i < c->n; i++)
    if (c->funcs[i].change == CLAIM)
      claimed.slots[c->funcs[i].slot]
          = (struct ulp_slot){ c->funcs[i].addr,
                               ulp_entry_body (c->funcs[i].addr,
                                               c->funcs[i].entry.endbr) };
  c->next.active = !c->now.active;
  c->next.generation = c->now.generation + 1;
  /* With new slots: the copy and the claimed slots, the pads, then the
     page that switches; else the copy and the page that switches.  */
  int claims = any_change (c, CLAIM), rc = 0;
  if (claims)
    rc = write_copy_then (c, c->next.active, &claimed);
  ulp_failpoint ("commit-claimed");
  if (rc == 0 && claims)
    rc = write_windows (c, CLAIM, 1);
  ulp_failpoint ("commit-windows");
  if (rc == 0)
    rc = claims ? write_page (c, &c->next)
                : write_copy_then (c, c->next.active, &c->next);
  if (rc < 0) {
    undo (c);
    return -1;
  }
  ulp_failpoint ("commit-switched");
  return 0;
}

/* After the switch the new code runs; what is left is tidying, and a
   failure here is finished by the next run.  */
static void
tidy (struct commit *c)
{
  if (!any_change (c, DROP))
    return;
  if (write_windows (c, DROP, 1) < 0) {
    ulp_clear_error ();
    return;
  }
  ulp_failpoint ("commit-tidied");
  for (size_t i = 0; i < c->n; i++)
    if (c->funcs[i].change == DROP)
      c->next.slots[c->funcs[i].slot] = (struct ulp_slot){ 0, 0 };
  if (write_page (c, &c->next) < 0)
    ulp_clear_error ();
}

enum ulp_stop_result
ulp_commit (struct ulp_process *p, const struct ulp_commit *now,
            const struct ulp_runtime *st, const uint64_t *addrs, size_t naddrs,
            struct ulp_stop *stop)
{
  struct commit c = { .proc = p, .st = st };
  enum ulp_stop_result rc = ULP_STOP_FAILED;
  if (now)
    c.now = *now;
  else if (ulp_process_read_commit (p, &c.now) < 0)
    return ULP_STOP_FAILED;
  c.next = c.now;
  int ok = add_leftovers (&c) == 0;
  for (size_t i = 0; ok && i < naddrs; i++)
    ok = add_function (&c, addrs[i]) == 0;
  ok = ok && read_windows (&c) == 0;
  for (size_t i = 0; ok && i < c.n; i++)
    ok = classify (&c, &c.funcs[i]) == 0;
  if (ok)
    rc = move_threads (&c, stop);
  if (rc == ULP_STOP_DONE && switch_over (&c) < 0)
    rc = ULP_STOP_FAILED;
  if (rc == ULP_STOP_DONE)
    tidy (&c);
  free (c.funcs);
  return rc;
}
