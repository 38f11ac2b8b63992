#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elffile.h"
#include "error.h"

/* Packed relative relocations, newer than some <elf.h>.  */
#ifndef DT_RELR
#define DT_RELRSZ 35
#define DT_RELR 36
#endif

struct dynamic_symbols;
struct ifunc_slots;

struct ulp_elf
{
  int fd;
  Elf *elf;
  char *name;
  struct dynamic_symbols *dynsyms; /* read on first use */
  struct ifunc_slots *ifuncs;      /* read on first use */
};

static void free_dynamic_symbols (struct dynamic_symbols *t);
static void free_ifunc_slots (struct ifunc_slots *t);

static int
libelf_ready (void)
{
  static int ready;
  if (!ready && elf_version (EV_CURRENT) == EV_NONE)
    return ulp_fail ("libelf: %s", elf_errmsg (-1));
  ready = 1;
  return 0;
}

static struct ulp_elf *wrap (Elf *elf, int fd, const char *name);

struct ulp_elf *
ulp_elf_open_fd (int fd, const char *name)
{
  if (libelf_ready () < 0) {
    close (fd);
    return NULL;
  }
  return wrap (elf_begin (fd, ELF_C_READ_MMAP, NULL), fd, name);
}

struct ulp_elf *
ulp_elf_open_memory (uint8_t *image, size_t len, const char *name)
{
  if (libelf_ready () < 0)
    return NULL;
  return wrap (elf_memory ((char *)image, len), -1, name);
}

static struct ulp_elf *
wrap (Elf *elf, int fd, const char *name)
{
  struct ulp_elf *e = NULL;
  GElf_Ehdr ehdr;
  if (!elf || elf_kind (elf) != ELF_K_ELF || !gelf_getehdr (elf, &ehdr)) {
    ulp_fail ("%s: not an ELF file", name);
    goto fail;
  }
  if (gelf_getclass (elf) != ELFCLASS64 || ehdr.e_machine != EM_X86_64) {
    ulp_fail ("%s: not an x86-64 ELF file", name);
    goto fail;
  }
  e = calloc (1, sizeof *e);
  if (!e || !(e->name = strdup (name))) {
    ulp_fail ("%s: out of memory", name);
    goto fail;
  }
  e->fd = fd;
  e->elf = elf;
  return e;
fail:
  free (e);
  if (elf)
    elf_end (elf);
  if (fd >= 0)
    close (fd);
  return NULL;
}

struct ulp_elf *
ulp_elf_open (const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ulp_fail ("%s: %s", path,
              errno == ENOENT ? "no such file" : strerror (errno));
    return NULL;
  }
  struct stat st;
  if (fstat (fd, &st) == 0 && !S_ISREG (st.st_mode)) {
    close (fd);
    ulp_fail ("%s: not a regular file", path);
    return NULL;
  }
  return ulp_elf_open_fd (fd, path);
}

void
ulp_elf_close (struct ulp_elf *e)
{
  if (!e)
    return;
  free_dynamic_symbols (e->dynsyms);
  free_ifunc_slots (e->ifuncs);
  elf_end (e->elf);
  if (e->fd >= 0)
    close (e->fd);
  free (e->name);
  free (e);
}

int
ulp_elf_is_shared_object (struct ulp_elf *e)
{
  GElf_Ehdr ehdr;
  return gelf_getehdr (e->elf, &ehdr) && ehdr.e_type == ET_DYN;
}

int
ulp_elf_is_fixed_program (struct ulp_elf *e)
{
  GElf_Ehdr ehdr;
  return gelf_getehdr (e->elf, &ehdr) && ehdr.e_type == ET_EXEC;
}

static Elf_Scn *
find_section (Elf *elf, const char *name, GElf_Shdr *shdr)
{
  size_t shstrndx;
  if (elf_getshdrstrndx (elf, &shstrndx) != 0)
    return NULL;
  for (Elf_Scn *scn = elf_nextscn (elf, NULL); scn;
       scn = elf_nextscn (elf, scn)) {
    if (!gelf_getshdr (scn, shdr))
      continue;
    const char *found = elf_strptr (elf, shstrndx, shdr->sh_name);
    if (found && strcmp (found, name) == 0)
      return scn;
  }
  return NULL;
}

int
ulp_elf_section (struct ulp_elf *e, const char *name, const uint8_t **data,
                 size_t *len)
{
  GElf_Shdr shdr;
  Elf_Scn *scn = find_section (e->elf, name, &shdr);
  if (!scn)
    return 1;
  Elf_Data *d = elf_rawdata (scn, NULL);
  if (!d || shdr.sh_type == SHT_NOBITS)
    return ulp_fail ("%s: cannot read section %s: %s", e->name, name,
                     elf_errmsg (-1));
  *data = d->d_buf;
  *len = d->d_size;
  return 0;
}

static int
build_id_from_notes (Elf_Data *data, uint8_t *out, size_t cap, size_t *len)
{
  GElf_Nhdr nhdr;
  size_t offset = 0, name_off, desc_off;
  while (offset < data->d_size
         && (offset = gelf_getnote (data, offset, &nhdr, &name_off, &desc_off))
                > 0) {
    const char *owner = (const char *)data->d_buf + name_off;
    if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4
        && memcmp (owner, "GNU", 4) == 0 && nhdr.n_descsz > 0
        && nhdr.n_descsz <= cap) {
      memcpy (out, (const uint8_t *)data->d_buf + desc_off, nhdr.n_descsz);
      *len = nhdr.n_descsz;
      return 0;
    }
  }
  return 1;
}

int
ulp_elf_build_id (struct ulp_elf *e, uint8_t *out, size_t cap, size_t *len)
{
  size_t nphdr;
  if (elf_getphdrnum (e->elf, &nphdr) == 0)
    for (size_t i = 0; i < nphdr; i++) {
      GElf_Phdr phdr;
      if (!gelf_getphdr (e->elf, i, &phdr) || phdr.p_type != PT_NOTE)
        continue;
      Elf_Data *data = elf_getdata_rawchunk (e->elf, phdr.p_offset,
                                             phdr.p_filesz, ELF_T_NHDR);
      if (data && build_id_from_notes (data, out, cap, len) == 0)
        return 0;
    }
  return ulp_fail ("%s: no GNU build-ID note", e->name);
}

static Elf_Scn *
section_of_type (Elf *elf, Elf64_Word type, GElf_Shdr *shdr)
{
  for (Elf_Scn *scn = elf_nextscn (elf, NULL); scn;
       scn = elf_nextscn (elf, scn))
    if (gelf_getshdr (scn, shdr) && shdr->sh_type == type)
      return scn;
  return NULL;
}

static Elf_Scn *
dynamic_section (Elf *elf, GElf_Shdr *shdr)
{
  return section_of_type (elf, SHT_DYNAMIC, shdr);
}

int
ulp_elf_soname (struct ulp_elf *e, char *out, size_t cap)
{
  GElf_Shdr shdr;
  Elf_Scn *scn = dynamic_section (e->elf, &shdr);
  Elf_Data *data = scn ? elf_getdata (scn, NULL) : NULL;
  if (!data || shdr.sh_entsize == 0)
    return 1;
  for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
    GElf_Dyn dyn;
    if (!gelf_getdyn (data, (int)i, &dyn) || dyn.d_tag == DT_NULL)
      break;
    if (dyn.d_tag != DT_SONAME)
      continue;
    const char *name = elf_strptr (e->elf, shdr.sh_link, dyn.d_un.d_val);
    if (!name || strlen (name) >= cap)
      return ulp_fail ("%s: unreadable DT_SONAME", e->name);
    memcpy (out, name, strlen (name) + 1);
    return 0;
  }
  return 1;
}

static int
search_symtab (Elf_Scn *scn, GElf_Shdr *shdr, Elf *elf, const char *name,
               int func_only, uint64_t *value)
{
  Elf_Data *data = elf_getdata (scn, NULL);
  if (!data || shdr->sh_entsize == 0)
    return 1;
  size_t count = shdr->sh_size / shdr->sh_entsize;
  for (size_t i = 1; i < count; i++) {
    GElf_Sym sym;
    if (!gelf_getsym (data, i, &sym) || sym.st_shndx == SHN_UNDEF
        || sym.st_value == 0)
      continue;
    if (func_only && GELF_ST_TYPE (sym.st_info) != STT_FUNC
        && GELF_ST_TYPE (sym.st_info) != STT_GNU_IFUNC)
      continue;
    const char *found = elf_strptr (elf, shdr->sh_link, sym.st_name);
    if (found && strcmp (found, name) == 0) {
      *value = sym.st_value;
      return 0;
    }
  }
  return 1;
}

int
ulp_elf_find_symbol (struct ulp_elf *e, const char *name, int func_only,
                     uint64_t *value)
{
  static const Elf64_Word kinds[] = { SHT_SYMTAB, SHT_DYNSYM };
  for (size_t k = 0; k < 2; k++)
    for (Elf_Scn *scn = elf_nextscn (e->elf, NULL); scn;
         scn = elf_nextscn (e->elf, scn)) {
      GElf_Shdr shdr;
      if (gelf_getshdr (scn, &shdr) && shdr.sh_type == kinds[k]
          && search_symtab (scn, &shdr, e->elf, name, func_only, value) == 0)
        return 0;
    }
  return 1;
}

static int
note_match (const GElf_Sym *sym, struct ulp_elf_found *found, int matches)
{
  if (matches && found->value == sym->st_value)
    return matches; /* an alias */
  found->value = sym->st_value;
  found->size = sym->st_size;
  found->type = GELF_ST_TYPE (sym->st_info);
  return matches + 1;
}

static Elf64_Word best_symbol_table (Elf *elf);

int
ulp_elf_lookup_unique (struct ulp_elf *e, const char *name,
                       struct ulp_elf_found *found)
{
  GElf_Shdr shdr;
  Elf_Scn *scn = section_of_type (e->elf, best_symbol_table (e->elf), &shdr);
  Elf_Data *data = scn ? elf_getdata (scn, NULL) : NULL;
  int matches = 0;
  if (!data || shdr.sh_entsize == 0)
    return 1;
  for (size_t i = 1; i < shdr.sh_size / shdr.sh_entsize; i++) {
    GElf_Sym sym;
    const char *s;
    if (gelf_getsym (data, (int)i, &sym) && sym.st_shndx != SHN_UNDEF
        && GELF_ST_TYPE (sym.st_info) != STT_SECTION
        && GELF_ST_TYPE (sym.st_info) != STT_FILE
        && (s = elf_strptr (e->elf, shdr.sh_link, sym.st_name))
        && strcmp (s, name) == 0)
      matches = note_match (&sym, found, matches);
  }
  return matches == 0 ? 1 : matches == 1 ? 0 : 2;
}

static int
each_symbol_of (struct ulp_elf *e, Elf64_Word type,
                ulp_elf_symbol_visitor visit, void *ctx)
{
  GElf_Shdr shdr;
  Elf_Scn *scn = section_of_type (e->elf, type, &shdr);
  Elf_Data *data = scn ? elf_getdata (scn, NULL) : NULL;
  if (!data || shdr.sh_entsize == 0)
    return 0;
  for (size_t i = 1; i < shdr.sh_size / shdr.sh_entsize; i++) {
    GElf_Sym sym;
    const char *name;
    if (!gelf_getsym (data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF
        || !(name = elf_strptr (e->elf, shdr.sh_link, sym.st_name)) || !*name)
      continue;
    int rc = visit (ctx, name, sym.st_value, sym.st_size, sym.st_info,
                    sym.st_other);
    if (rc)
      return rc;
  }
  return 0;
}

int
ulp_elf_each_symbol (struct ulp_elf *e, ulp_elf_symbol_visitor visit, void *ctx)
{
  int rc = each_symbol_of (e, SHT_DYNSYM, visit, ctx);
  return rc ? rc : each_symbol_of (e, SHT_SYMTAB, visit, ctx);
}

int
ulp_elf_has_symtab (struct ulp_elf *e)
{
  GElf_Shdr shdr;
  return section_of_type (e->elf, SHT_SYMTAB, &shdr) != NULL;
}

/* The debug file at PATH if it is E's: the same build-ID.  */
static struct ulp_elf *
open_if_same_build (struct ulp_elf *e, const char *path)
{
  uint8_t want[64], have[64];
  size_t want_len, have_len;
  if (access (path, R_OK) != 0)
    return NULL;
  struct ulp_elf *d = ulp_elf_open (path);
  if (d
      && (ulp_elf_build_id (e, want, sizeof want, &want_len) < 0
          || ulp_elf_build_id (d, have, sizeof have, &have_len) < 0
          || want_len != have_len || memcmp (want, have, want_len) != 0)) {
    ulp_elf_close (d);
    d = NULL;
  }
  ulp_clear_error ();
  return d;
}

/* The file name in .gnu_debuglink, or NULL.  */
static const char *
debuglink (struct ulp_elf *e)
{
  const uint8_t *data;
  size_t len;
  if (ulp_elf_section (e, ".gnu_debuglink", &data, &len) != 0 || len < 2
      || !memchr (data, '\0', len))
    return NULL;
  return (const char *)data;
}

struct ulp_elf *
ulp_elf_open_debug (struct ulp_elf *e, const char *path, const char *root)
{
  char file[2 * PATH_MAX + 64], hex[2 * 64 + 1], dir[PATH_MAX];
  uint8_t id[64];
  size_t len;
  struct ulp_elf *d = NULL;
  const char *r = root ? root : "";
  if (ulp_elf_build_id (e, id, sizeof id, &len) == 0 && len > 1) {
    ulp_hex (id, len, hex);
    snprintf (file, sizeof file, "%s/usr/lib/debug/.build-id/%.2s/%s.debug", r,
              hex, hex + 2);
    d = open_if_same_build (e, file);
  }
  ulp_clear_error ();
  const char *link = debuglink (e);
  snprintf (dir, sizeof dir, "%s", path);
  char *slash = strrchr (dir, '/');
  if (slash)
    *slash = '\0';
  else
    snprintf (dir, sizeof dir, ".");
  const char *forms[] = { "%s/%s", "%s/.debug/%s", NULL };
  for (int i = 0; !d && link && forms[i]; i++) {
    snprintf (file, sizeof file, forms[i], dir, link);
    d = open_if_same_build (e, file);
  }
  if (!d && link) {
    snprintf (file, sizeof file, "%s/usr/lib/debug%s/%s", r,
              dir[0] == '/' ? dir : "", link);
    d = open_if_same_build (e, file);
  }
  return d;
}

/* The full symbol table when there is one, the dynamic one otherwise.  */
static Elf64_Word
best_symbol_table (Elf *elf)
{
  for (Elf_Scn *scn = elf_nextscn (elf, NULL); scn;
       scn = elf_nextscn (elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr (scn, &shdr) && shdr.sh_type == SHT_SYMTAB)
      return SHT_SYMTAB;
  }
  return SHT_DYNSYM;
}

void
ulp_elf_each_function (struct ulp_elf *e, void (*visit) (uint64_t, void *),
                       void *ctx)
{
  Elf64_Word table = best_symbol_table (e->elf);
  for (Elf_Scn *scn = elf_nextscn (e->elf, NULL); scn;
       scn = elf_nextscn (e->elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr (scn, &shdr) || shdr.sh_type != table)
      continue;
    Elf_Data *data = elf_getdata (scn, NULL);
    size_t count = shdr.sh_entsize ? shdr.sh_size / shdr.sh_entsize : 0;
    for (size_t i = 1; data && i < count; i++) {
      GElf_Sym sym;
      if (gelf_getsym (data, i, &sym) && sym.st_shndx != SHN_UNDEF
          && sym.st_value && GELF_ST_TYPE (sym.st_info) == STT_FUNC)
        visit (sym.st_value, ctx);
    }
  }
}

int
ulp_elf_read_at_least (struct ulp_elf *e, uint64_t vaddr, void *buf, size_t len,
                       size_t need)
{
  for (Elf_Scn *scn = elf_nextscn (e->elf, NULL); scn;
       scn = elf_nextscn (e->elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr (scn, &shdr) || !(shdr.sh_flags & SHF_ALLOC)
        || shdr.sh_type == SHT_NOBITS || vaddr < shdr.sh_addr
        || vaddr + need > shdr.sh_addr + shdr.sh_size)
      continue;
    Elf_Data *data = elf_rawdata (scn, NULL);
    if (!data || data->d_size < shdr.sh_size)
      break;
    uint64_t left = shdr.sh_addr + shdr.sh_size - vaddr;
    size_t got = left < len ? (size_t)left : len;
    memcpy (buf, (const uint8_t *)data->d_buf + (vaddr - shdr.sh_addr), got);
    memset ((uint8_t *)buf + got, 0, len - got);
    return 0;
  }
  return ulp_fail ("%s: no file data at address 0x%llx", e->name,
                   (unsigned long long)vaddr);
}

int
ulp_elf_read (struct ulp_elf *e, uint64_t vaddr, void *buf, size_t len)
{
  return ulp_elf_read_at_least (e, vaddr, buf, len, len);
}

int
ulp_elf_digest_loadable (struct ulp_elf *e,
                         void (*update) (void *, const void *, size_t),
                         void *ctx)
{
  for (Elf_Scn *scn = elf_nextscn (e->elf, NULL); scn;
       scn = elf_nextscn (e->elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr (scn, &shdr) || !(shdr.sh_flags & SHF_ALLOC)
        || shdr.sh_type == SHT_NOBITS)
      continue;
    Elf_Data *data = elf_rawdata (scn, NULL);
    if (!data)
      return ulp_fail ("%s: unreadable section: %s", e->name, elf_errmsg (-1));
    update (ctx, data->d_buf, data->d_size);
  }
  return 0;
}

const char *
ulp_elf_name (struct ulp_elf *e)
{
  return e->name;
}

int
ulp_elf_raw_image (struct ulp_elf *e, const uint8_t **data, size_t *len)
{
  char *raw = elf_rawfile (e->elf, len);
  if (!raw)
    return ulp_fail ("%s: unreadable file: %s", e->name, elf_errmsg (-1));
  *data = (const uint8_t *)raw;
  return 0;
}

int
ulp_elf_segment_count (struct ulp_elf *e, size_t *count)
{
  if (elf_getphdrnum (e->elf, count) != 0)
    return ulp_fail ("%s: unreadable program headers", e->name);
  return 0;
}

int
ulp_elf_segment (struct ulp_elf *e, size_t index, struct ulp_elf_segment *seg)
{
  GElf_Phdr p;
  if (index > INT_MAX || !gelf_getphdr (e->elf, (int)index, &p))
    return ulp_fail ("%s: unreadable program header %zu", e->name, index);
  *seg = (struct ulp_elf_segment){ p.p_type,   p.p_flags, p.p_offset, p.p_vaddr,
                                   p.p_filesz, p.p_memsz, p.p_align };
  return 0;
}

static int
has_string_value (int64_t tag)
{
  return tag == DT_NEEDED || tag == DT_SONAME || tag == DT_RPATH
         || tag == DT_RUNPATH;
}

int
ulp_elf_each_dynamic (struct ulp_elf *e, ulp_elf_dynamic_visitor visit,
                      void *ctx)
{
  GElf_Shdr shdr;
  Elf_Scn *scn = dynamic_section (e->elf, &shdr);
  if (!scn)
    return 0;
  Elf_Data *data = elf_getdata (scn, NULL);
  if (!data)
    return ulp_fail ("%s: unreadable .dynamic: %s", e->name, elf_errmsg (-1));
  size_t count = data->d_size / sizeof (Elf64_Dyn);
  for (size_t i = 0; i < count; i++) {
    GElf_Dyn dyn;
    if (!gelf_getdyn (data, (int)i, &dyn))
      return ulp_fail ("%s: unreadable .dynamic entry", e->name);
    if (dyn.d_tag == DT_NULL)
      break;
    const char *string = NULL;
    if (has_string_value (dyn.d_tag)
        && !(string = elf_strptr (e->elf, shdr.sh_link, dyn.d_un.d_val)))
      return ulp_fail ("%s: unreadable .dynamic string", e->name);
    int rc = visit (ctx, dyn.d_tag, dyn.d_un.d_val, string);
    if (rc)
      return rc;
  }
  return 0;
}

/* --- dynamic relocations ------------------------------------------------ */

struct relocation_tables
{
  uint64_t rela, relasz, jmprel, pltrelsz, pltrel, relr, relrsz;
  int has_rel;
};

static int
note_relocation_table (void *ctx, int64_t tag, uint64_t value,
                       const char *string)
{
  struct relocation_tables *t = ctx;
  (void)string;
  switch (tag) {
  case DT_RELA:
    t->rela = value;
    break;
  case DT_RELASZ:
    t->relasz = value;
    break;
  case DT_JMPREL:
    t->jmprel = value;
    break;
  case DT_PLTRELSZ:
    t->pltrelsz = value;
    break;
  case DT_PLTREL:
    t->pltrel = value;
    break;
  case DT_RELR:
    t->relr = value;
    break;
  case DT_RELRSZ:
    t->relrsz = value;
    break;
  case DT_REL:
  case DT_RELSZ:
    t->has_rel = 1;
    break;
  }
  return 0;
}

static int
read_relocation_tables (struct ulp_elf *e, struct relocation_tables *t)
{
  memset (t, 0, sizeof *t);
  if (ulp_elf_each_dynamic (e, note_relocation_table, t) < 0)
    return -1;
  if (t->has_rel || (t->pltrelsz && t->pltrel != DT_RELA))
    return ulp_fail ("%s: has REL relocations (x86-64 objects use RELA)",
                     e->name);
  return 0;
}

/* Where the SIZE bytes at VADDR are in the file, if they all are.  */
static int
file_offset_of (Elf *elf, uint64_t vaddr, uint64_t size, uint64_t *offset)
{
  size_t n;
  if (elf_getphdrnum (elf, &n) != 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    GElf_Phdr p;
    if (!gelf_getphdr (elf, (int)i, &p) || p.p_type != PT_LOAD
        || vaddr < p.p_vaddr || vaddr - p.p_vaddr > p.p_filesz
        || size > p.p_filesz - (vaddr - p.p_vaddr))
      continue;
    *offset = p.p_offset + (vaddr - p.p_vaddr);
    return 0;
  }
  return -1;
}

/* The SIZE bytes of the table at VADDR, as TYPE.  */
static Elf_Data *
table_at (struct ulp_elf *e, uint64_t vaddr, uint64_t size, Elf_Type type)
{
  uint64_t offset;
  Elf_Data *data = NULL;
  if (file_offset_of (e->elf, vaddr, size, &offset) == 0 && offset <= INT64_MAX)
    data = elf_getdata_rawchunk (e->elf, (int64_t)offset, size, type);
  if (!data)
    ulp_fail ("%s: unreadable relocation table at 0x%llx", e->name,
              (unsigned long long)vaddr);
  return data;
}

static int
each_rela (struct ulp_elf *e, uint64_t vaddr, uint64_t size,
           ulp_elf_reloc_visitor visit, void *ctx)
{
  Elf_Data *data;
  if (size == 0)
    return 0;
  if (!(data = table_at (e, vaddr, size, ELF_T_RELA)))
    return -1;
  size_t count = data->d_size / sizeof (Elf64_Rela);
  for (size_t i = 0; i < count; i++) {
    GElf_Rela rela;
    if (!gelf_getrela (data, (int)i, &rela))
      return ulp_fail ("%s: unreadable relocation", e->name);
    struct ulp_elf_reloc r = { rela.r_offset, GELF_R_TYPE (rela.r_info),
                               GELF_R_SYM (rela.r_info), rela.r_addend };
    int rc = visit (ctx, &r);
    if (rc)
      return rc;
  }
  return 0;
}

int
ulp_elf_each_dynamic_reloc (struct ulp_elf *e, ulp_elf_reloc_visitor visit,
                            void *ctx)
{
  struct relocation_tables t;
  if (read_relocation_tables (e, &t) < 0)
    return -1;
  int rc = each_rela (e, t.rela, t.relasz, visit, ctx);
  return rc ? rc : each_rela (e, t.jmprel, t.pltrelsz, visit, ctx);
}

/* Each DT_RELR word is an address to relocate, or (low bit set) a bitmap
   of which of the next 63 words after the last address to relocate.  */
int
ulp_elf_each_relr (struct ulp_elf *e, ulp_elf_relr_visitor visit, void *ctx)
{
  struct relocation_tables t;
  Elf_Data *data;
  uint64_t where = 0;
  if (read_relocation_tables (e, &t) < 0)
    return -1;
  if (t.relrsz == 0)
    return 0;
  if (!(data = table_at (e, t.relr, t.relrsz, ELF_T_XWORD)))
    return -1;
  const uint64_t *words = data->d_buf;
  for (size_t i = 0; i < data->d_size / sizeof *words; i++) {
    int rc = 0;
    if (!(words[i] & 1)) {
      where = words[i];
      rc = visit (ctx, where);
      where += 8;
    } else {
      uint64_t bits = words[i] >> 1;
      for (unsigned k = 0; bits && !rc; k++, bits >>= 1)
        if (bits & 1)
          rc = visit (ctx, where + 8 * k);
      where += 63 * 8;
    }
    if (rc)
      return rc;
  }
  return 0;
}

/* --- dynamic symbols ------------------------------------------------------ */

struct version_name
{
  const char *name; /* NULL for indexes 0 and 1: no version */
  const char *file; /* for a version needed from another object */
};

struct symbol_slot
{
  const char *name;
  uint32_t hash;
  uint32_t index; /* in .dynsym; 0 marks an empty slot */
};

/* .dynsym with its version names, and an open-addressing hash table of its
   definitions.  */
struct dynamic_symbols
{
  Elf_Data *syms;
  size_t count;
  size_t strtab;
  Elf_Data *versym; /* NULL: the object has no symbol versions */
  struct version_name *versions;
  size_t nversions;
  struct symbol_slot *slots;
  size_t mask;
};

#define VERSION_INDEX(versym) ((versym)&0x7fff)
#define VERSION_HIDDEN(versym) (((versym)&0x8000) != 0)

static void
free_dynamic_symbols (struct dynamic_symbols *t)
{
  if (!t)
    return;
  free (t->versions);
  free (t->slots);
  free (t);
}

static int
set_version (struct dynamic_symbols *t, size_t index, const char *name,
             const char *file)
{
  if (index >= t->nversions) {
    struct version_name *grown
        = realloc (t->versions, (index + 1) * sizeof *grown);
    if (!grown)
      return -1;
    memset (grown + t->nversions, 0,
            (index + 1 - t->nversions) * sizeof *grown);
    t->versions = grown;
    t->nversions = index + 1;
  }
  t->versions[index] = (struct version_name){ name, file };
  return 0;
}

static int
read_version_definitions (Elf *elf, struct dynamic_symbols *t)
{
  GElf_Shdr shdr;
  Elf_Scn *scn = section_of_type (elf, SHT_GNU_verdef, &shdr);
  if (!scn)
    return 0;
  Elf_Data *data = elf_getdata (scn, NULL);
  size_t offset = 0;
  for (size_t i = 0; data && i < shdr.sh_info; i++) {
    GElf_Verdef def;
    GElf_Verdaux aux;
    if (!gelf_getverdef (data, (int)offset, &def)
        || !gelf_getverdaux (data, (int)(offset + def.vd_aux), &aux))
      return -1;
    /* The base entry names the object itself, not a version.  */
    if (!(def.vd_flags & VER_FLG_BASE)) {
      const char *name = elf_strptr (elf, shdr.sh_link, aux.vda_name);
      if (!name || set_version (t, VERSION_INDEX (def.vd_ndx), name, NULL) < 0)
        return -1;
    }
    if (def.vd_next == 0)
      return 0;
    offset += def.vd_next;
  }
  return data ? 0 : -1;
}

static int
read_needed_versions (Elf *elf, struct dynamic_symbols *t)
{
  GElf_Shdr shdr;
  Elf_Scn *scn = section_of_type (elf, SHT_GNU_verneed, &shdr);
  if (!scn)
    return 0;
  Elf_Data *data = elf_getdata (scn, NULL);
  size_t offset = 0;
  for (size_t i = 0; data && i < shdr.sh_info; i++) {
    GElf_Verneed need;
    if (!gelf_getverneed (data, (int)offset, &need))
      return -1;
    const char *file = elf_strptr (elf, shdr.sh_link, need.vn_file);
    size_t aux_offset = offset + need.vn_aux;
    for (size_t j = 0; file && j < need.vn_cnt; j++) {
      GElf_Vernaux aux;
      if (!gelf_getvernaux (data, (int)aux_offset, &aux))
        return -1;
      const char *name = elf_strptr (elf, shdr.sh_link, aux.vna_name);
      if (!name
          || set_version (t, VERSION_INDEX (aux.vna_other), name, file) < 0)
        return -1;
      if (aux.vna_next == 0)
        break;
      aux_offset += aux.vna_next;
    }
    if (!file)
      return -1;
    if (need.vn_next == 0)
      return 0;
    offset += need.vn_next;
  }
  return data ? 0 : -1;
}

static uint32_t
name_hash (const char *name)
{
  uint32_t h = 5381;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    h = h * 33 + *p;
  return h;
}

static int
is_lookup_candidate (const GElf_Sym *sym)
{
  int bind = GELF_ST_BIND (sym->st_info);
  return sym->st_shndx != SHN_UNDEF && sym->st_shndx != SHN_ABS
         && GELF_ST_TYPE (sym->st_info) != STT_TLS
         && (bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE);
}

static int
index_definitions (Elf *elf, struct dynamic_symbols *t)
{
  size_t capacity = 16;
  while (capacity < 2 * t->count)
    capacity *= 2;
  if (!(t->slots = calloc (capacity, sizeof *t->slots)))
    return -1;
  t->mask = capacity - 1;
  for (size_t i = 1; i < t->count; i++) {
    GElf_Sym sym;
    const char *name;
    if (!gelf_getsym (t->syms, (int)i, &sym) || !is_lookup_candidate (&sym)
        || !(name = elf_strptr (elf, t->strtab, sym.st_name)))
      continue;
    uint32_t hash = name_hash (name);
    size_t s = hash & t->mask;
    while (t->slots[s].index)
      s = (s + 1) & t->mask;
    t->slots[s] = (struct symbol_slot){ name, hash, (uint32_t)i };
  }
  return 0;
}

static int
read_dynamic_symbols (Elf *elf, struct dynamic_symbols *t)
{
  GElf_Shdr shdr;
  Elf_Scn *scn = section_of_type (elf, SHT_DYNSYM, &shdr);
  if (!scn)
    return 0;
  if (!(t->syms = elf_getdata (scn, NULL)))
    return -1;
  t->count = t->syms->d_size / sizeof (Elf64_Sym);
  t->strtab = shdr.sh_link;
  if (t->count > UINT32_MAX)
    return -1;
  scn = section_of_type (elf, SHT_GNU_versym, &shdr);
  if (scn && !(t->versym = elf_getdata (scn, NULL)))
    return -1;
  return 0;
}

static struct dynamic_symbols *
dynamic_symbols (struct ulp_elf *e)
{
  if (e->dynsyms)
    return e->dynsyms;
  struct dynamic_symbols *t = calloc (1, sizeof *t);
  if (!t) {
    ulp_fail ("%s: out of memory", e->name);
    return NULL;
  }
  if (read_dynamic_symbols (e->elf, t) < 0
      || read_version_definitions (e->elf, t) < 0
      || read_needed_versions (e->elf, t) < 0
      || index_definitions (e->elf, t) < 0) {
    free_dynamic_symbols (t);
    ulp_fail ("%s: unreadable dynamic symbol table", e->name);
    return NULL;
  }
  e->dynsyms = t;
  return t;
}

/* The .gnu.version word of symbol INDEX: 1 (global, unversioned) when the
   object has no versions.  */
static uint16_t
versym_of (const struct dynamic_symbols *t, size_t index)
{
  GElf_Versym v;
  if (!t->versym || !gelf_getversym (t->versym, (int)index, &v))
    return 1;
  return v;
}

static const struct version_name *
version_of (const struct dynamic_symbols *t, uint16_t versym)
{
  size_t index = VERSION_INDEX (versym);
  if (index >= t->nversions || !t->versions[index].name)
    return NULL;
  return &t->versions[index];
}

int
ulp_elf_dynamic_symbol_count (struct ulp_elf *e, size_t *count)
{
  struct dynamic_symbols *t = dynamic_symbols (e);
  if (!t)
    return -1;
  *count = t->count;
  return 0;
}

int
ulp_elf_dynamic_symbol_at (struct ulp_elf *e, size_t index,
                           struct ulp_elf_symbol *out)
{
  struct dynamic_symbols *t = dynamic_symbols (e);
  if (!t)
    return -1;
  if (index >= t->count)
    return 1;
  GElf_Sym sym;
  const char *name;
  if (!gelf_getsym (t->syms, (int)index, &sym)
      || !(name = elf_strptr (e->elf, t->strtab, sym.st_name)))
    return ulp_fail ("%s: unreadable dynamic symbol %zu", e->name, index);
  uint16_t versym = versym_of (t, index);
  const struct version_name *version = version_of (t, versym);
  *out = (struct ulp_elf_symbol){
    .name = name,
    .value = sym.st_value,
    .size = sym.st_size,
    .type = GELF_ST_TYPE (sym.st_info),
    .bind = GELF_ST_BIND (sym.st_info),
    .shndx = sym.st_shndx,
    .version = version ? version->name : NULL,
    .file = version ? version->file : NULL,
    .hidden = VERSION_HIDDEN (versym),
  };
  return 0;
}

/* How well a definition with version word VERSYM answers a lookup of
   VERSION (NULL: unversioned): 2 exactly, 1 acceptably (as the dynamic
   linker would take it when nothing better exists), 0 not at all.  */
static int
version_match (const struct dynamic_symbols *t, uint16_t versym,
               const char *version)
{
  const struct version_name *defined = version_of (t, versym);
  int hidden = VERSION_HIDDEN (versym);
  if (!t->versym)
    return version ? 1 : 2;
  if (version) {
    if (defined && strcmp (defined->name, version) == 0)
      return 2;
    return !defined && !hidden;
  }
  if (hidden)
    return 0;
  return defined ? 1 : 2;
}

int
ulp_elf_dynamic_symbol (struct ulp_elf *e, const char *name,
                        const char *version, uint64_t *value, int *ifunc)
{
  struct dynamic_symbols *t = dynamic_symbols (e);
  if (!t)
    return -1;
  uint32_t hash = name_hash (name);
  uint32_t best = 0;
  int best_match = 0;
  for (size_t s = hash & t->mask; t->slots[s].index; s = (s + 1) & t->mask) {
    const struct symbol_slot *slot = &t->slots[s];
    if (slot->hash != hash || strcmp (slot->name, name) != 0)
      continue;
    int match = version_match (t, versym_of (t, slot->index), version);
    if (match > best_match) {
      best = slot->index;
      best_match = match;
    }
    if (match == 2)
      break;
  }
  GElf_Sym sym;
  if (!best)
    return 1;
  if (!gelf_getsym (t->syms, (int)best, &sym))
    return ulp_fail ("%s: unreadable dynamic symbol %s", e->name, name);
  *value = sym.st_value;
  *ifunc = GELF_ST_TYPE (sym.st_info) == STT_GNU_IFUNC;
  return 0;
}

const char *
ulp_elf_function_at (struct ulp_elf *e, uint64_t addr)
{
  Elf64_Word table = best_symbol_table (e->elf);
  for (Elf_Scn *scn = elf_nextscn (e->elf, NULL); scn;
       scn = elf_nextscn (e->elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr (scn, &shdr) || shdr.sh_type != table)
      continue;
    Elf_Data *data = elf_getdata (scn, NULL);
    size_t count = data ? data->d_size / sizeof (Elf64_Sym) : 0;
    for (size_t i = 1; i < count; i++) {
      GElf_Sym sym;
      if (gelf_getsym (data, (int)i, &sym) && sym.st_shndx != SHN_UNDEF
          && sym.st_value == addr && GELF_ST_TYPE (sym.st_info) == STT_FUNC)
        return elf_strptr (e->elf, shdr.sh_link, sym.st_name);
    }
  }
  return NULL;
}

int
ulp_elf_exec_extent (struct ulp_elf *e, uint64_t *first_vaddr,
                     uint64_t *exec_end)
{
  size_t n;
  int first = 1;
  *exec_end = 0;
  if (ulp_elf_segment_count (e, &n) < 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    struct ulp_elf_segment s;
    if (ulp_elf_segment (e, i, &s) < 0)
      return -1;
    if (s.type != PT_LOAD)
      continue;
    if (first)
      *first_vaddr = s.vaddr;
    first = 0;
    if ((s.flags & PF_X) && s.vaddr + s.memsz > *exec_end)
      *exec_end = s.vaddr + s.memsz;
  }
  return *exec_end ? 0 : 1;
}

/* --- IFUNC slots ---------------------------------------------------------- */

struct ifunc_slot
{
  uint64_t resolver, slot;
  int by_symbol; /* 0: IRELATIVE, preferred; 1: a relocation by symbol */
};

struct ifunc_slots
{
  struct ifunc_slot *v;
  size_t n, cap;
  struct ulp_elf *e;
};

static void
free_ifunc_slots (struct ifunc_slots *t)
{
  if (!t)
    return;
  free (t->v);
  free (t);
}

static int
add_ifunc_slot (struct ifunc_slots *t, uint64_t resolver, uint64_t slot,
                int by_symbol)
{
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 64;
    struct ifunc_slot *grown = realloc (t->v, cap * sizeof *grown);
    if (!grown)
      return ulp_fail ("out of memory");
    t->v = grown;
    t->cap = cap;
  }
  t->v[t->n++] = (struct ifunc_slot){ resolver, slot, by_symbol };
  return 0;
}

static int
note_ifunc_slot (void *ctx, const struct ulp_elf_reloc *r)
{
  struct ifunc_slots *t = ctx;
  struct ulp_elf_symbol sym;
  if (r->type == R_X86_64_IRELATIVE)
    return add_ifunc_slot (t, (uint64_t)r->addend, r->offset, 0);
  if (r->type != R_X86_64_GLOB_DAT && r->type != R_X86_64_JUMP_SLOT
      && !(r->type == R_X86_64_64 && r->addend == 0))
    return 0;
  if (r->symbol == 0 || ulp_elf_dynamic_symbol_at (t->e, r->symbol, &sym) != 0
      || sym.shndx == SHN_UNDEF || sym.type != STT_GNU_IFUNC)
    return 0;
  return add_ifunc_slot (t, sym.value, r->offset, 1);
}

static int
compare_ifunc_slots (const void *a, const void *b)
{
  const struct ifunc_slot *x = a, *y = b;
  if (x->resolver != y->resolver)
    return x->resolver < y->resolver ? -1 : 1;
  if (x->by_symbol != y->by_symbol)
    return x->by_symbol - y->by_symbol;
  return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static struct ifunc_slots *
ifunc_slots (struct ulp_elf *e)
{
  if (e->ifuncs)
    return e->ifuncs;
  struct ifunc_slots *t = calloc (1, sizeof *t);
  if (!t) {
    ulp_fail ("out of memory");
    return NULL;
  }
  t->e = e;
  if (ulp_elf_each_dynamic_reloc (e, note_ifunc_slot, t) != 0) {
    free_ifunc_slots (t);
    return NULL;
  }
  if (t->n)
    qsort (t->v, t->n, sizeof *t->v, compare_ifunc_slots);
  e->ifuncs = t;
  return t;
}

int
ulp_elf_ifunc_slot (struct ulp_elf *e, uint64_t resolver, uint64_t *slot)
{
  struct ifunc_slots *t = ifunc_slots (e);
  if (!t)
    return -1;
  size_t lo = 0, hi = t->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->v[mid].resolver < resolver)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == t->n || t->v[lo].resolver != resolver)
    return 1;
  *slot = t->v[lo].slot;
  return 0;
}

struct import_search
{
  struct ulp_elf *e;
  const char *name, *version;
  uint64_t slot;
  int found;
};

static int
is_import_of (void *ctx, const struct ulp_elf_reloc *r)
{
  struct import_search *q = ctx;
  struct ulp_elf_symbol sym;
  if ((r->type != R_X86_64_GLOB_DAT && r->type != R_X86_64_JUMP_SLOT
       && r->type != R_X86_64_64)
      || r->addend != 0 || !r->symbol
      || ulp_elf_dynamic_symbol_at (q->e, r->symbol, &sym) != 0
      || sym.shndx != SHN_UNDEF || strcmp (sym.name, q->name) != 0
      || (q->version && (!sym.version || strcmp (sym.version, q->version))))
    return 0;
  q->slot = r->offset;
  q->found = 1;
  return 1;
}

int
ulp_elf_import_slot (struct ulp_elf *e, const char *name, const char *version,
                     uint64_t *slot)
{
  struct import_search q = { e, name, version, 0, 0 };
  if (ulp_elf_each_dynamic_reloc (e, is_import_of, &q) < 0)
    return -1;
  if (q.found)
    *slot = q.slot;
  return !q.found;
}
