#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "elffile.h"
#include "error.h"
#include "loader.h"

#define PAGE_SIZE 4096u
/* Far beyond any container: bounds what a corrupt header can make the tool
   reserve in a process.  */
#define MAX_SPAN (UINT64_C (1) << 30)

static uint64_t
page_down (uint64_t x)
{
  return x & ~(uint64_t)(PAGE_SIZE - 1);
}

static uint64_t
page_up (uint64_t x)
{
  return page_down (x + PAGE_SIZE - 1);
}

static int
prot_of (uint32_t flags)
{
  return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0)
         | (flags & PF_X ? PROT_EXEC : 0);
}

/* --- layout --------------------------------------------------------------- */

static int
is_corrupt_load (const struct ulp_image *img, const struct ulp_elf_segment *s)
{
  return s->filesz > s->memsz || s->offset > img->len
         || s->filesz > img->len - s->offset || s->vaddr >= MAX_SPAN
         || s->memsz > MAX_SPAN - s->vaddr;
}

/* Adds the pages of S to the regions to protect.  Two PT_LOADs that share a
   page make one region with both protections, as that page needs both.  */
static void
add_region (struct ulp_image *img, const struct ulp_elf_segment *s)
{
  uint64_t start = page_down (s->vaddr), end = page_up (s->vaddr + s->memsz);
  struct ulp_image_segment *last = img->nseg ? &img->seg[img->nseg - 1] : NULL;
  if (last && start < last->vaddr + last->size) {
    if (end > last->vaddr + last->size)
      last->size = end - last->vaddr;
    last->prot |= prot_of (s->flags);
    return;
  }
  img->seg[img->nseg++]
      = (struct ulp_image_segment){ start, end - start, prot_of (s->flags) };
}

static int
add_load (struct ulp_image *img, const char *name,
          const struct ulp_elf_segment *s)
{
  const struct ulp_image_load *last
      = img->nload ? &img->load[img->nload - 1] : NULL;
  if (img->nload == ULP_IMAGE_MAX_SEGMENTS)
    return ulp_fail ("%s: more than %d loadable segments", name,
                     ULP_IMAGE_MAX_SEGMENTS);
  if (is_corrupt_load (img, s))
    return ulp_fail ("%s: corrupt loadable segment at 0x%llx", name,
                     (unsigned long long)s->vaddr);
  if (last && s->vaddr < last->vaddr + last->memsz)
    return ulp_fail ("%s: loadable segments overlap or are out of order", name);
  img->load[img->nload++]
      = (struct ulp_image_load){ s->offset, s->vaddr, s->filesz, s->memsz };
  add_region (img, s);
  return 0;
}

/* Records every PT_LOAD, PT_GNU_RELRO into RELRO (memsz 0: none), and
   whether there is a PT_TLS.  */
static int
read_segments (struct ulp_image *img, const char *name,
               struct ulp_elf_segment *relro)
{
  size_t n;
  memset (relro, 0, sizeof *relro);
  if (ulp_elf_segment_count (img->elf, &n) < 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    struct ulp_elf_segment s;
    if (ulp_elf_segment (img->elf, i, &s) < 0)
      return -1;
    img->tls_segment |= s.type == PT_TLS;
    if (s.type == PT_GNU_RELRO)
      *relro = s;
    else if (s.type == PT_LOAD && s.memsz > 0 && add_load (img, name, &s) < 0)
      return -1;
  }
  if (img->nload == 0)
    return ulp_fail ("%s: no loadable segment", name);
  return 0;
}

/* Splits off the pages of PT_GNU_RELRO as read-only regions, like the
   dynamic linker after relocating: only whole pages, the last partial one
   stays writable.  */
static int
protect_relro (struct ulp_image *img, const char *name,
               const struct ulp_elf_segment *relro)
{
  struct ulp_image_segment split[3 * ULP_IMAGE_MAX_SEGMENTS];
  size_t n = 0;
  if (relro->memsz == 0)
    return 0;
  if (relro->vaddr >= MAX_SPAN || relro->memsz > MAX_SPAN)
    return ulp_fail ("%s: corrupt PT_GNU_RELRO", name);
  uint64_t start = page_down (relro->vaddr);
  uint64_t end = page_down (relro->vaddr + relro->memsz);
  for (size_t i = 0; i < img->nseg; i++) {
    const struct ulp_image_segment *s = &img->seg[i];
    uint64_t s_end = s->vaddr + s->size;
    uint64_t lo = s->vaddr > start ? s->vaddr : start;
    uint64_t hi = s_end < end ? s_end : end;
    if (lo >= hi) {
      split[n++] = *s;
      continue;
    }
    if (s->vaddr < lo)
      split[n++]
          = (struct ulp_image_segment){ s->vaddr, lo - s->vaddr, s->prot };
    split[n++]
        = (struct ulp_image_segment){ lo, hi - lo, s->prot & ~PROT_WRITE };
    if (hi < s_end)
      split[n++] = (struct ulp_image_segment){ hi, s_end - hi, s->prot };
  }
  if (n > ULP_IMAGE_MAX_SEGMENTS)
    return ulp_fail ("%s: more than %d regions to protect", name,
                     ULP_IMAGE_MAX_SEGMENTS);
  memcpy (img->seg, split, n * sizeof *split);
  img->nseg = n;
  return 0;
}

int
ulp_image_open (const uint8_t *image, size_t len, const char *name,
                struct ulp_image *img)
{
  struct ulp_elf_segment relro;
  memset (img, 0, sizeof *img);
  /* libelf only reads an image in the host's byte order: the cast makes
     nothing writable.  */
  img->elf = ulp_elf_open_memory ((uint8_t *)image, len, name);
  if (!img->elf)
    return -1;
  img->image = image;
  img->len = len;
  if (!ulp_elf_is_shared_object (img->elf))
    ulp_fail ("%s: not a shared object", name);
  else if (read_segments (img, name, &relro) == 0
           && protect_relro (img, name, &relro) == 0) {
    const struct ulp_image_segment *last = &img->seg[img->nseg - 1];
    img->span = last->vaddr + last->size;
    return 0;
  }
  ulp_image_close (img);
  return -1;
}

void
ulp_image_close (struct ulp_image *img)
{
  ulp_elf_close (img->elf);
  img->elf = NULL;
}

/* --- relocation ----------------------------------------------------------- */

#define RELOC_NAME(type) [R_X86_64_##type] = "R_X86_64_" #type
static const char *const reloc_names[] = {
  RELOC_NAME (NONE),
  RELOC_NAME (64),
  RELOC_NAME (PC32),
  RELOC_NAME (GOT32),
  RELOC_NAME (PLT32),
  RELOC_NAME (COPY),
  RELOC_NAME (GLOB_DAT),
  RELOC_NAME (JUMP_SLOT),
  RELOC_NAME (RELATIVE),
  RELOC_NAME (GOTPCREL),
  RELOC_NAME (32),
  RELOC_NAME (32S),
  RELOC_NAME (16),
  RELOC_NAME (PC16),
  RELOC_NAME (8),
  RELOC_NAME (PC8),
  RELOC_NAME (DTPMOD64),
  RELOC_NAME (DTPOFF64),
  RELOC_NAME (TPOFF64),
  RELOC_NAME (TLSGD),
  RELOC_NAME (TLSLD),
  RELOC_NAME (DTPOFF32),
  RELOC_NAME (GOTTPOFF),
  RELOC_NAME (TPOFF32),
  RELOC_NAME (PC64),
  RELOC_NAME (GOTOFF64),
  RELOC_NAME (GOTPC32),
  RELOC_NAME (GOT64),
  RELOC_NAME (GOTPCREL64),
  RELOC_NAME (GOTPC64),
  RELOC_NAME (GOTPLT64),
  RELOC_NAME (PLTOFF64),
  RELOC_NAME (SIZE32),
  RELOC_NAME (SIZE64),
  RELOC_NAME (GOTPC32_TLSDESC),
  RELOC_NAME (TLSDESC_CALL),
  RELOC_NAME (TLSDESC),
  RELOC_NAME (IRELATIVE),
  RELOC_NAME (RELATIVE64),
  RELOC_NAME (GOTPCRELX),
  RELOC_NAME (REX_GOTPCRELX),
};

static const char *
reloc_type_name (uint32_t type, char buf[32])
{
  if (type < sizeof reloc_names / sizeof *reloc_names && reloc_names[type])
    return reloc_names[type];
  snprintf (buf, 32, "%u", type);
  return buf;
}

static int
is_applied_type (uint32_t type)
{
  return type == R_X86_64_NONE || type == R_X86_64_RELATIVE
         || type == R_X86_64_64 || type == R_X86_64_GLOB_DAT
         || type == R_X86_64_JUMP_SLOT;
}

struct resolved_symbol
{
  int done;
  uint64_t value;
};

struct relocation_run
{
  struct ulp_image *img;
  uint64_t base;
  ulp_symbol_resolver resolve;
  void *ctx;
  uint8_t *out;
  struct resolved_symbol *symbols; /* by .dynsym index */
  size_t nsymbols;
};

static int
resolve_external (struct relocation_run *run, const struct ulp_elf_symbol *sym,
                  uint64_t *value)
{
  int rc = run->resolve (run->ctx, sym->name, sym->version, sym->file, value);
  if (rc < 0)
    return -1;
  if (rc == 0)
    return 0;
  if (sym->bind == STB_WEAK) {
    *value = 0;
    return 0;
  }
  if (sym->version)
    return ulp_fail ("symbol %s@%s not found in the process", sym->name,
                     sym->version);
  return ulp_fail ("symbol %s not found in the process", sym->name);
}

static int
resolve_own (struct relocation_run *run, const struct ulp_elf_symbol *sym,
             uint64_t *value)
{
  if (sym->type == STT_TLS)
    return ulp_fail ("symbol %s is thread-local, which live patches cannot "
                     "provide",
                     sym->name);
  if (sym->type == STT_GNU_IFUNC)
    return ulp_fail ("symbol %s is an indirect function (IFUNC), which live "
                     "patches cannot resolve",
                     sym->name);
  *value = sym->shndx == SHN_ABS ? sym->value : run->base + sym->value;
  return 0;
}

static int
symbol_value (struct relocation_run *run, uint32_t index, uint64_t *value)
{
  struct ulp_elf_symbol sym;
  if (index == 0) {
    *value = 0;
    return 0;
  }
  if (index >= run->nsymbols)
    return ulp_fail ("relocation against symbol %u, past the end of .dynsym",
                     index);
  if (run->symbols[index].done) {
    *value = run->symbols[index].value;
    return 0;
  }
  if (ulp_elf_dynamic_symbol_at (run->img->elf, index, &sym) != 0)
    return -1;
  int rc = sym.shndx == SHN_UNDEF ? resolve_external (run, &sym, value)
                                  : resolve_own (run, &sym, value);
  if (rc < 0)
    return -1;
  run->symbols[index] = (struct resolved_symbol){ 1, *value };
  return 0;
}

static int
apply_relocation (void *ctx, const struct ulp_elf_reloc *r)
{
  struct relocation_run *run = ctx;
  uint64_t value, s;
  char buf[32];
  if (r->type == R_X86_64_NONE)
    return 0;
  if (r->offset > run->img->span - sizeof value)
    return ulp_fail ("relocation at 0x%llx outside the image",
                     (unsigned long long)r->offset);
  switch (r->type) {
  case R_X86_64_RELATIVE:
    value = run->base + (uint64_t)r->addend;
    break;
  case R_X86_64_64:
    if (symbol_value (run, r->symbol, &s) < 0)
      return -1;
    value = s + (uint64_t)r->addend;
    break;
  case R_X86_64_GLOB_DAT:
  case R_X86_64_JUMP_SLOT:
    if (symbol_value (run, r->symbol, &value) < 0)
      return -1;
    break;
  default:
    return ulp_fail ("unsupported relocation type %s",
                     reloc_type_name (r->type, buf));
  }
  memcpy (run->out + r->offset, &value, sizeof value);
  return 0;
}

/* A packed RELATIVE relocation: the addend is what the slot holds.  */
static int
apply_relr (void *ctx, uint64_t offset)
{
  struct relocation_run *run = ctx;
  uint64_t value;
  if (offset > run->img->span - sizeof value)
    return ulp_fail ("relocation at 0x%llx outside the image",
                     (unsigned long long)offset);
  memcpy (&value, run->out + offset, sizeof value);
  value += run->base;
  memcpy (run->out + offset, &value, sizeof value);
  return 0;
}

static void
copy_segments (const struct ulp_image *img, uint8_t *out)
{
  memset (out, 0, img->span);
  for (size_t i = 0; i < img->nload; i++)
    memcpy (out + img->load[i].vaddr, img->image + img->load[i].offset,
            img->load[i].filesz);
}

int
ulp_image_relocate (struct ulp_image *img, uint64_t base,
                    ulp_symbol_resolver resolve, void *ctx, uint8_t *out)
{
  size_t count;
  if (ulp_elf_dynamic_symbol_count (img->elf, &count) < 0)
    return -1;
  struct relocation_run run = { img, base, resolve, ctx, out, NULL, count };
  run.symbols = calloc (count ? count : 1, sizeof *run.symbols);
  if (!run.symbols)
    return ulp_fail ("out of memory");
  copy_segments (img, out);
  int rc = ulp_elf_each_relr (img->elf, apply_relr, &run);
  if (rc == 0)
    rc = ulp_elf_each_dynamic_reloc (img->elf, apply_relocation, &run);
  free (run.symbols);
  return rc ? -1 : 0;
}

/* --- packer checks -------------------------------------------------------- */

/* What .dynamic says about initializers and code that needs rewriting.  */
struct dynamic_facts
{
  uint64_t init, init_array, init_array_size, preinit_array, preinit_array_size;
  int has_init, text_relocations, static_tls;
};

static int
note_dynamic_fact (void *ctx, int64_t tag, uint64_t value, const char *string)
{
  struct dynamic_facts *f = ctx;
  (void)string;
  switch (tag) {
  case DT_INIT:
    f->init = value;
    f->has_init = 1;
    break;
  case DT_INIT_ARRAY:
    f->init_array = value;
    break;
  case DT_INIT_ARRAYSZ:
    f->init_array_size = value;
    break;
  case DT_PREINIT_ARRAY:
    f->preinit_array = value;
    break;
  case DT_PREINIT_ARRAYSZ:
    f->preinit_array_size = value;
    break;
  case DT_TEXTREL:
    f->text_relocations = 1;
    break;
  case DT_FLAGS:
    f->text_relocations |= (value & DF_TEXTREL) != 0;
    f->static_tls = (value & DF_STATIC_TLS) != 0;
    break;
  }
  return 0;
}

static int
is_tls_type (uint32_t type)
{
  switch (type) {
  case R_X86_64_DTPMOD64:
  case R_X86_64_DTPOFF64:
  case R_X86_64_TPOFF64:
  case R_X86_64_TLSGD:
  case R_X86_64_TLSLD:
  case R_X86_64_DTPOFF32:
  case R_X86_64_GOTTPOFF:
  case R_X86_64_TPOFF32:
  case R_X86_64_GOTPC32_TLSDESC:
  case R_X86_64_TLSDESC_CALL:
  case R_X86_64_TLSDESC:
    return 1;
  }
  return 0;
}

/* The relocation types a container uses, by kind.  */
struct relocation_facts
{
  int tls, irelative, unsupported;
  uint32_t unsupported_type; /* the first one */
};

static int
note_relocation_fact (void *ctx, const struct ulp_elf_reloc *r)
{
  struct relocation_facts *f = ctx;
  if (is_tls_type (r->type))
    f->tls = 1;
  else if (r->type == R_X86_64_IRELATIVE)
    f->irelative = 1;
  else if (!is_applied_type (r->type) && !f->unsupported) {
    f->unsupported = 1;
    f->unsupported_type = r->type;
  }
  return 0;
}

static int
refuse_thread_locals (struct ulp_image *img, const char *name,
                      const struct dynamic_facts *d,
                      const struct relocation_facts *r)
{
  if (img->tls_segment || d->static_tls || r->tls)
    return ulp_fail ("%s: container uses thread-local variables, which live "
                     "patches cannot provide",
                     name);
  return 0;
}

static int
refuse_ifuncs (struct ulp_image *img, const char *name,
               const struct relocation_facts *r)
{
  size_t count;
  if (r->irelative)
    return ulp_fail ("%s: container has indirect functions (IRELATIVE "
                     "relocations), which live patches cannot resolve",
                     name);
  if (ulp_elf_dynamic_symbol_count (img->elf, &count) < 0)
    return -1;
  for (size_t i = 1; i < count; i++) {
    struct ulp_elf_symbol sym;
    if (ulp_elf_dynamic_symbol_at (img->elf, i, &sym) < 0)
      return -1;
    if (sym.shndx != SHN_UNDEF && sym.type == STT_GNU_IFUNC)
      return ulp_fail ("%s: container has an indirect function (IFUNC %s), "
                       "which live patches cannot resolve",
                       name, sym.name);
  }
  return 0;
}

static int
refuse_relocations (const char *name, const struct dynamic_facts *d,
                    const struct relocation_facts *r)
{
  char buf[32];
  if (d->text_relocations)
    return ulp_fail ("%s: container has text relocations, which live "
                     "patches cannot apply (compile it with -fPIC)",
                     name);
  if (r->unsupported)
    return ulp_fail ("%s: container uses relocation type %s, which live "
                     "patches do not support",
                     name, reloc_type_name (r->unsupported_type, buf));
  return 0;
}

/* --- initializers --- */

/* One initializer array being named slot by slot.  */
struct initializer_scan
{
  struct ulp_image *img;
  const char *name;
  uint64_t start;
  size_t slots;
  unsigned char *seen;
};

static int
refuse_constructor (struct ulp_image *img, const char *name,
                    const char *function, uint64_t addr)
{
  const uint8_t *symtab;
  size_t len;
  if (function)
    return ulp_fail ("%s: container needs initializers (constructor %s), "
                     "which live patches never run",
                     name, function);
  if (ulp_elf_section (img->elf, ".symtab", &symtab, &len) != 0)
    return ulp_fail ("%s: container has no symbol table (.symtab), so its "
                     "initializers cannot be told from the C runtime's: "
                     "do not strip it",
                     name);
  return ulp_fail ("%s: container needs initializers (constructor at "
                   "0x%llx), which live patches never run",
                   name, (unsigned long long)addr);
}

/* gcc's crtbeginS puts frame_dummy into every .init_array; it only
   registers exception frames and transactional memory clones, which a
   patch does without.  */
static int
check_array_entry (struct initializer_scan *scan, uint64_t addr)
{
  const char *function = ulp_elf_function_at (scan->img->elf, addr);
  if (function && strcmp (function, "frame_dummy") == 0)
    return 0;
  return refuse_constructor (scan->img, scan->name, function, addr);
}

static int
check_relocated_slot (void *ctx, const struct ulp_elf_reloc *r)
{
  struct initializer_scan *scan = ctx;
  if (r->offset < scan->start || r->offset - scan->start >= scan->slots * 8
      || (r->offset - scan->start) % 8)
    return 0;
  scan->seen[(r->offset - scan->start) / 8] = 1;
  if (r->type == R_X86_64_RELATIVE || r->symbol == 0)
    return check_array_entry (scan, (uint64_t)r->addend);
  struct ulp_elf_symbol sym;
  if (ulp_elf_dynamic_symbol_at (scan->img->elf, r->symbol, &sym) != 0)
    return -1;
  return refuse_constructor (scan->img, scan->name, sym.name, 0);
}

static int
check_unrelocated_slots (struct initializer_scan *scan)
{
  for (size_t i = 0; i < scan->slots; i++) {
    uint64_t addr;
    if (scan->seen[i])
      continue;
    if (ulp_elf_read (scan->img->elf, scan->start + 8 * i, &addr, sizeof addr)
        < 0)
      return -1;
    if (check_array_entry (scan, addr) < 0)
      return -1;
  }
  return 0;
}

static int
check_initializer_array (struct ulp_image *img, const char *name,
                         uint64_t start, uint64_t size)
{
  struct initializer_scan scan = { img, name, start, size / 8, NULL };
  if (size == 0)
    return 0;
  if (size > img->span)
    return ulp_fail ("%s: corrupt initializer array", name);
  if (!(scan.seen = calloc (scan.slots, 1)))
    return ulp_fail ("out of memory");
  int rc = ulp_elf_each_dynamic_reloc (img->elf, check_relocated_slot, &scan);
  if (rc == 0)
    rc = check_unrelocated_slots (&scan);
  free (scan.seen);
  return rc ? -1 : 0;
}

static int
refuse_initializers (struct ulp_image *img, const char *name,
                     const struct dynamic_facts *d)
{
  if (d->has_init) {
    /* crti's _init: runs the C runtime's .init section, nothing of the
       patch.  */
    const char *function = ulp_elf_function_at (img->elf, d->init);
    if (!function || strcmp (function, "_init") != 0)
      return refuse_constructor (img, name, function, d->init);
  }
  if (check_initializer_array (img, name, d->preinit_array,
                               d->preinit_array_size)
      < 0)
    return -1;
  return check_initializer_array (img, name, d->init_array, d->init_array_size);
}

/* --- needed libraries --- */

struct library_search
{
  const char *library;
  int found;
};

static int
match_library (void *ctx, int64_t tag, uint64_t value, const char *string)
{
  struct library_search *search = ctx;
  (void)value;
  if ((tag == DT_NEEDED || tag == DT_SONAME)
      && strcmp (string, search->library) == 0) {
    search->found = 1;
    return 1;
  }
  return 0;
}

/* libc.so.6 and the dynamic loader are in every process that maps a
   library built against glibc.  */
static int
is_in_every_process (const char *library)
{
  return strcmp (library, "libc.so.6") == 0
         || strcmp (library, "ld-linux-x86-64.so.2") == 0;
}

struct needed_check
{
  const char *name;
  struct ulp_elf *target;
};

static int
check_needed_library (void *ctx, int64_t tag, uint64_t value,
                      const char *string)
{
  struct needed_check *check = ctx;
  struct library_search search = { string, 0 };
  char soname[256];
  (void)value;
  if (tag != DT_NEEDED || is_in_every_process (string))
    return 0;
  if (!check->target)
    return ulp_fail ("%s: container needs %s, and the target is known only "
                     "by its symbols (JSON): pack it against the library "
                     "itself",
                     check->name, string);
  if (ulp_elf_each_dynamic (check->target, match_library, &search) < 0)
    return -1;
  if (search.found)
    return 0;
  if (ulp_elf_soname (check->target, soname, sizeof soname) != 0)
    snprintf (soname, sizeof soname, "%s", ulp_elf_name (check->target));
  return ulp_fail ("%s: container needs %s, which %s does not load",
                   check->name, string, soname);
}

static int
refuse_foreign_libraries (struct ulp_image *img, const char *name,
                          struct ulp_elf *target)
{
  struct needed_check check = { name, target };
  return ulp_elf_each_dynamic (img->elf, check_needed_library, &check) ? -1 : 0;
}

static int
check_image (struct ulp_image *img, const char *name, struct ulp_elf *target)
{
  struct dynamic_facts d = { 0 };
  struct relocation_facts r = { 0 };
  if (ulp_elf_each_dynamic (img->elf, note_dynamic_fact, &d) < 0
      || ulp_elf_each_dynamic_reloc (img->elf, note_relocation_fact, &r) < 0)
    return -1;
  if (refuse_thread_locals (img, name, &d, &r) < 0
      || refuse_ifuncs (img, name, &r) < 0
      || refuse_relocations (name, &d, &r) < 0
      || refuse_initializers (img, name, &d) < 0)
    return -1;
  return refuse_foreign_libraries (img, name, target);
}

int
ulp_image_check (const uint8_t *image, size_t len, const char *name,
                 struct ulp_elf *target)
{
  struct ulp_image img;
  if (ulp_image_open (image, len, name, &img) < 0)
    return -1;
  int rc = check_image (&img, name, target);
  ulp_image_close (&img);
  return rc;
}
