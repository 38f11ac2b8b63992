#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elffile.h"
#include "error.h"

struct ulp_elf
{
  int fd;
  Elf *elf;
  char *name;
};

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
dynamic_section (Elf *elf, GElf_Shdr *shdr)
{
  for (Elf_Scn *scn = elf_nextscn (elf, NULL); scn;
       scn = elf_nextscn (elf, scn))
    if (gelf_getshdr (scn, shdr) && shdr->sh_type == SHT_DYNAMIC)
      return scn;
  return NULL;
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
ulp_elf_read (struct ulp_elf *e, uint64_t vaddr, void *buf, size_t len)
{
  for (Elf_Scn *scn = elf_nextscn (e->elf, NULL); scn;
       scn = elf_nextscn (e->elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr (scn, &shdr) || !(shdr.sh_flags & SHF_ALLOC)
        || shdr.sh_type == SHT_NOBITS || vaddr < shdr.sh_addr
        || vaddr + len > shdr.sh_addr + shdr.sh_size)
      continue;
    Elf_Data *data = elf_rawdata (scn, NULL);
    if (!data || data->d_size < shdr.sh_size)
      break;
    memcpy (buf, (const uint8_t *)data->d_buf + (vaddr - shdr.sh_addr), len);
    return 0;
  }
  return ulp_fail ("%s: no file data at address 0x%llx", e->name,
                   (unsigned long long)vaddr);
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
