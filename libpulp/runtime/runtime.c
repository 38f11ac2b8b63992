/* libpulp.so.0: the runtime preloaded into livepatchable processes.

   It is deliberately tiny.  It owns the state block the tool reads and
   writes, and one entry point, ulp_load, that a thread borrowed by the tool
   calls to dlopen a container.  Nothing here runs unless the tool makes a
   thread call it; the runtime installs no handlers and starts no threads.  */
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "ulp/state.h"

uint64_t ulp_load (void);
void ulp_trap (void);

__attribute__ ((visibility ("default"))) struct ulp_runtime __ulp_runtime = {
  .magic = ULP_STATE_MAGIC,
  .version = ULP_STATE_VERSION,
  .load_entry = (uint64_t)(uintptr_t)&ulp_load,
  .trap_addr = (uint64_t)(uintptr_t)&ulp_trap,
};

static void
copy_error (const char *msg)
{
  size_t n = msg ? strlen (msg) : 0;
  if (n >= ULP_LOAD_ERROR_MAX)
    n = ULP_LOAD_ERROR_MAX - 1;
  if (n)
    memcpy (__ulp_runtime.load_error, msg, n);
  __ulp_runtime.load_error[n] = '\0';
}

/* Called by the tool on a borrowed thread, never by the program.  */
__attribute__ ((visibility ("default"), used)) uint64_t
ulp_load (void)
{
  struct link_map *map = NULL;
  void *handle;

  __ulp_runtime.load_error[0] = '\0';
  __ulp_runtime.load_base = 0;
  handle = dlopen (__ulp_runtime.load_path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    copy_error (dlerror ());
    return 0;
  }
  if (dlinfo (handle, RTLD_DI_LINKMAP, &map) != 0 || !map) {
    copy_error (dlerror ());
    return 0;
  }
  __ulp_runtime.load_base = map->l_addr;
  __ulp_runtime.load_handle = (uint64_t)(uintptr_t)handle;
  return (uint64_t)(uintptr_t)handle;
}

/* ulp_load returns here; the breakpoint hands the thread back to the tool,
   which restores the thread's own registers.  */
__asm__(".text\n"
        ".globl ulp_trap\n"
        ".type ulp_trap, @function\n"
        "ulp_trap:\n"
        "  int3\n"
        "  hlt\n"
        ".size ulp_trap, .-ulp_trap\n");
