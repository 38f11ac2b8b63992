/* What a patch does to code and state, independent of how it gets into a
   process.

   A livepatchable function F has 14 NOP bytes before it (the pad) and two
   at its entry, after an optional endbr64.  Patched:
       pad:   ff 25 00 00 00 00  <8-byte address of the replacement>
              (jmp *0(%rip))
       entry: [endbr64] eb XX    (jmp back to the pad)
   A patched call therefore runs two jumps where the original ran one NOP.
   Reverting the last patch restores the NOPs; reverting any other one only
   rewrites the address.  */
#ifndef ULP_PATCH_H
#define ULP_PATCH_H

#include <stddef.h>
#include <stdint.h>

#include "ulp/state.h"

#define ULP_ENDBR_LEN 4
/* Bytes from F - 14 up to the end of the entry NOPs with endbr64.  */
#define ULP_WINDOW (ULP_PAD_BEFORE + ULP_ENDBR_LEN + ULP_PAD_AT)

struct ulp_entry
{
  int endbr;
  uint64_t target; /* 0 when the function runs its original code */
};

/* Reads a window starting at F - 14; -1 if it is not a patch area.  */
int ulp_entry_parse (const uint8_t window[ULP_WINDOW], struct ulp_entry *e);
/* Writes the window for the function sending calls to TARGET (0: original).
   Bytes after the entry NOPs are left as they were.  */
void ulp_entry_render (int endbr, uint64_t target, uint8_t window[ULP_WINDOW]);
/* Makes a thread stopped at *PC safe for rewriting the window of the
   function at FUNC, whose current contents are CURRENT.  A thread resting
   inside NOPs that will be overwritten is moved past them (skipping NOPs
   changes nothing); -1 when the thread cannot be moved.  */
int ulp_entry_move_pc (uint64_t func, const struct ulp_entry *current,
                       uint64_t *pc);
/* Whether the bytes at a function entry in a library file form a patch
   area (WINDOW as above, read from the file).  */
int ulp_entry_is_patchable (const uint8_t window[ULP_WINDOW]);

/* Patch bookkeeping in the state block.  */
int ulp_state_find (const struct ulp_runtime *st, const uint8_t id[ULP_ID_LEN]);
void ulp_state_remove (struct ulp_runtime *st, size_t index);
int ulp_state_add (struct ulp_runtime *st, const uint8_t id[ULP_ID_LEN],
                   const char *container, const char *target, uint64_t base,
                   const struct ulp_patched_func *funcs, size_t nfuncs,
                   int64_t now);
/* Where calls to OLD_ADDR go: the newest active replacement, or 0.  */
uint64_t ulp_state_effective (const struct ulp_runtime *st, uint64_t old_addr);

#endif
