#include <string.h>

#include "error.h"
#include "patch.h"

static const uint8_t endbr64[ULP_ENDBR_LEN] = { 0xf3, 0x0f, 0x1e, 0xfa };
static const uint8_t jmp_rip[6] = { 0xff, 0x25, 0, 0, 0, 0 };
static const uint8_t nop2[2] = { 0x66, 0x90 };
#define NOP 0x90
#define JMP_SHORT 0xeb

static int
all_nops (const uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != NOP)
      return 0;
  return 1;
}

static size_t
entry_nops_at (int endbr)
{
  return ULP_PAD_BEFORE + (endbr ? ULP_ENDBR_LEN : 0);
}

static uint8_t
jump_back (int endbr)
{
  /* From the end of the 2-byte jump to the start of the pad.  */
  return (uint8_t)(-(int)(entry_nops_at (endbr) + ULP_PAD_AT));
}

int
ulp_entry_parse (uint64_t func, const uint8_t window[ULP_WINDOW],
                 struct ulp_entry *e)
{
  e->endbr = memcmp (window + ULP_PAD_BEFORE, endbr64, ULP_ENDBR_LEN) == 0;
  const uint8_t *entry = window + entry_nops_at (e->endbr);
  e->slot = 0;
  e->short_nop = memcmp (entry, nop2, sizeof nop2) == 0;
  if (all_nops (window, ULP_PAD_BEFORE)
      && (e->short_nop || all_nops (entry, ULP_PAD_AT)))
    return 0;
  if (window[0] == jmp_rip[0] && window[1] == jmp_rip[1]
      && entry[0] == JMP_SHORT && entry[1] == jump_back (e->endbr)) {
    e->short_nop
        = memcmp (window + ULP_PAD_BEFORE - sizeof nop2, nop2, sizeof nop2)
          == 0;
    int32_t rel;
    memcpy (&rel, window + 2, sizeof rel);
    e->slot = func - ULP_PAD_BEFORE + sizeof jmp_rip + (int64_t)rel;
    return 0;
  }
  return -1;
}

int
ulp_entry_is_patchable (const uint8_t window[ULP_WINDOW])
{
  struct ulp_entry e;
  return ulp_entry_parse (ULP_PAD_BEFORE, window, &e) == 0 && e.slot == 0;
}

uint64_t
ulp_entry_body (uint64_t func, int endbr)
{
  return func + (endbr ? ULP_ENDBR_LEN : 0) + ULP_PAD_AT;
}

int
ulp_entry_render (uint64_t func, const struct ulp_entry *form, uint64_t slot,
                  uint8_t window[ULP_WINDOW])
{
  int endbr = form->endbr;
  uint8_t *entry = window + entry_nops_at (endbr);
  memset (window, NOP, ULP_PAD_BEFORE);
  if (!slot) {
    if (form->short_nop)
      memcpy (entry, nop2, sizeof nop2);
    else
      entry[0] = entry[1] = NOP;
    return 0;
  }
  if (form->short_nop)
    memcpy (window + ULP_PAD_BEFORE - sizeof nop2, nop2, sizeof nop2);
  int64_t rel = (int64_t)(slot - (func - ULP_PAD_BEFORE + sizeof jmp_rip));
  if (rel != (int32_t)rel)
    return ulp_fail ("the ulp state mapping is more than 2 GiB away from the "
                     "function at 0x%llx",
                     (unsigned long long)func);
  int32_t rel32 = (int32_t)rel;
  memcpy (window, jmp_rip, 2);
  memcpy (window + 2, &rel32, sizeof rel32);
  entry[0] = JMP_SHORT;
  entry[1] = jump_back (endbr);
  return 0;
}

/* A thread may rest at the start of the pad (it then takes the jump, or
   slides down the NOPs into the function) or at the entry NOPs, but not
   between the two entry NOPs once they are rewritten.  */
int
ulp_entry_move_pc (uint64_t func, const struct ulp_entry *current, uint64_t *pc)
{
  uint64_t pad = func - ULP_PAD_BEFORE;
  uint64_t second_nop = pad + entry_nops_at (current->endbr) + 1;
  int in_pad = *pc > pad && *pc < func;
  if (!in_pad && *pc != second_nop)
    return 0;
  if (current->slot)
    return -1; /* inside our own jumps: cannot happen at a stop */
  *pc = in_pad ? func : second_nop + 1;
  return 0;
}

void
ulp_state_empty (struct ulp_runtime *st)
{
  memset (st, 0, offsetof (struct ulp_runtime, patches));
  memcpy (st->magic, ULP_STATE_MAGIC, 8);
  st->version = ULP_STATE_VERSION;
}

int
ulp_state_find (const struct ulp_runtime *st, const uint8_t id[ULP_ID_LEN])
{
  for (uint32_t i = 0; i < st->npatches; i++)
    if (memcmp (st->patches[i].id, id, ULP_ID_LEN) == 0)
      return (int)i;
  return -1;
}

void
ulp_state_remove (struct ulp_runtime *st, size_t index)
{
  struct ulp_applied_patch *gone = &st->patches[index];
  uint32_t first = gone->first_func, n = gone->nfuncs;
  memmove (&st->funcs[first], &st->funcs[first + n],
           (st->nfuncs - first - n) * sizeof st->funcs[0]);
  st->nfuncs -= n;
  memmove (gone, gone + 1, (st->npatches - index - 1) * sizeof st->patches[0]);
  st->npatches--;
  for (uint32_t i = (uint32_t)index; i < st->npatches; i++)
    st->patches[i].first_func -= n;
  st->generation++;
}

static void
copy_string (char *dst, size_t cap, const char *src)
{
  size_t n = strlen (src);
  if (n >= cap)
    n = cap - 1;
  memcpy (dst, src, n);
  dst[n] = '\0';
}

int
ulp_state_add (struct ulp_runtime *st, const uint8_t id[ULP_ID_LEN],
               const char *container, const char *target, uint64_t base,
               const struct ulp_patched_func *funcs, size_t nfuncs, int64_t now)
{
  if (st->npatches == ULP_MAX_PATCHES)
    return ulp_fail ("too many patches applied (%d)", ULP_MAX_PATCHES);
  if (st->nfuncs + nfuncs > ULP_MAX_FUNCS)
    return ulp_fail ("too many patched functions (%d)", ULP_MAX_FUNCS);
  if (strlen (container) >= ULP_PATH_MAX)
    return ulp_fail ("%s: path too long", container);
  struct ulp_applied_patch *p = &st->patches[st->npatches++];
  memset (p, 0, sizeof *p);
  memcpy (p->id, id, ULP_ID_LEN);
  copy_string (p->container, sizeof p->container, container);
  copy_string (p->target, sizeof p->target, target);
  p->container_base = base;
  p->applied_at = now;
  p->first_func = st->nfuncs;
  p->nfuncs = (uint32_t)nfuncs;
  memcpy (&st->funcs[st->nfuncs], funcs, nfuncs * sizeof *funcs);
  st->nfuncs += (uint32_t)nfuncs;
  st->generation++;
  return 0;
}

uint64_t
ulp_state_effective (const struct ulp_runtime *st, uint64_t old_addr)
{
  for (uint32_t i = st->npatches; i-- > 0;) {
    const struct ulp_applied_patch *p = &st->patches[i];
    for (uint32_t f = p->first_func; f < p->first_func + p->nfuncs; f++)
      if (st->funcs[f].old_addr == old_addr)
        return st->funcs[f].new_addr;
  }
  return 0;
}
