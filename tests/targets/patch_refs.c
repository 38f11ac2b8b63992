/* A fix of demo_value (libdemo_ext.c) that reaches the library's private
   state through references: the static function demo_scale, the static
   counter demo_value_calls and the thread-local demo_value_thread_calls,
   none of them exported.  It counts as the original does and returns
   demo_scale (x) * 100 + 1, or + 0 when the two counters, which a program
   calling from one thread keeps equal, disagree: the tool wrote wrong
   addresses.  patch_refs.dsc.in names them; the tests also write the
   offset form.  */
#include <stddef.h>

struct tls_index
{
  unsigned long module, offset;
};
void *__tls_get_addr (struct tls_index *ti);

int (*scale_ref) (int);
long *calls_ref;
struct tls_index thread_calls_ref;

int
demo_value_counted (int x)
{
  long *thread_calls = __tls_get_addr (&thread_calls_ref);
  ++*calls_ref;
  ++*thread_calls;
  return scale_ref (x) * 10 + (*calls_ref == *thread_calls);
}
