/* What a patch does to code and state, independent of how it gets into a
   process.

   A livepatchable function F has 14 NOP bytes before it (the pad) and two
   at its entry, after an optional endbr64.  Patched:
       pad:   ff 25 <rel32>      jmp *SLOT(%rip), then 8 NOPs
       entry: [endbr64] eb XX    jmp back to the pad
   where SLOT, in the process's state mapping (ulp/state.h), holds the
   address of the replacement.  The entry NOPs may also be the one 2-byte
   NOP 66 90, as libpulp's `ulp post` rewrites them: a patched pad then
   ends with 66 90 instead of two of its NOPs (never executed, after the
   jump), so that unpatching puts back the form the library had.  A patched call
   therefore runs two jumps where the original ran two NOPs, and every slot of a
   process changes in one write.  Unpatching first points the slot at F's own
   body (after the entry NOPs), then restores the NOPs.  */
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
  int short_nop; /* the entry NOPs are 66 90 */
  uint64_t slot; /* where the pad jumps through; 0 when not patched */
};

/* Reads the window of the function at FUNC (starting at FUNC - 14); -1 if
   it is not a patch area.  */
int ulp_entry_parse (uint64_t func, const uint8_t window[ULP_WINDOW],
                     struct ulp_entry *e);
/* Writes the window for the function at FUNC, whose entry has the form of
   FORM (endbr64, the kind of entry NOPs), jumping through SLOT, or the
   NOPs when SLOT is 0.  Bytes after the entry NOPs are left as they were.
   -1 when SLOT is out of reach of a 32-bit displacement.  */
int ulp_entry_render (uint64_t func, const struct ulp_entry *form,
                      uint64_t slot, uint8_t window[ULP_WINDOW]);
/* Where F's own code goes on after its entry NOPs.  */
uint64_t ulp_entry_body (uint64_t func, int endbr);
/* Makes a thread stopped at *PC safe for rewriting the window of the
   function at FUNC, whose current contents are CURRENT.  A thread resting
   between the entry NOPs is moved past them (skipping NOPs changes
   nothing); -1 when the thread cannot be moved.  */
int ulp_entry_move_pc (uint64_t func, const struct ulp_entry *current,
                       uint64_t *pc);
/* Whether the bytes at a function entry in a library file form a patch
   area (WINDOW as above, read from the file).  */
int ulp_entry_is_patchable (const uint8_t window[ULP_WINDOW]);

/* Patch bookkeeping in the state block.  */
/* No patch: the header (up to the patches) of a valid, empty state.  */
void ulp_state_empty (struct ulp_runtime *st);
int ulp_state_find (const struct ulp_runtime *st, const uint8_t id[ULP_ID_LEN]);
void ulp_state_remove (struct ulp_runtime *st, size_t index);
int ulp_state_add (struct ulp_runtime *st, const uint8_t id[ULP_ID_LEN],
                   const char *container, const char *target, uint64_t base,
                   const struct ulp_patched_func *funcs, size_t nfuncs,
                   int64_t now);
/* Where calls to OLD_ADDR go: the newest active replacement, or 0.  */
uint64_t ulp_state_effective (const struct ulp_runtime *st, uint64_t old_addr);

#endif
