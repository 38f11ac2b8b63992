/* Adding sections to an existing ELF file without disturbing its layout:
   a new file is written beside it with every section at its old offset,
   the added or replaced data and the section name table after everything
   else, and the section header table last.  It replaces the original only
   when complete.  */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "elffile.h"
#include "error.h"

static uint64_t
align8 (uint64_t v)
{
  return (v + 7) & ~(uint64_t)7;
}

/* The end of everything the source file holds.  */
static uint64_t
used_end (Elf *elf, const GElf_Ehdr *ehdr)
{
  uint64_t end = ehdr->e_phoff + (uint64_t)ehdr->e_phnum * ehdr->e_phentsize;
  uint64_t sh_end = ehdr->e_shoff + (uint64_t)ehdr->e_shnum * ehdr->e_shentsize;
  if (sh_end > end)
    end = sh_end;
  for (Elf_Scn *scn = elf_nextscn (elf, NULL); scn;
       scn = elf_nextscn (elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr (scn, &shdr) && shdr.sh_type != SHT_NOBITS
        && shdr.sh_offset + shdr.sh_size > end)
      end = shdr.sh_offset + shdr.sh_size;
  }
  return end;
}

static int
set_data (Elf_Scn *scn, void *buf, size_t len)
{
  Elf_Data *d = elf_newdata (scn);
  if (!d)
    return ulp_fail ("libelf: %s", elf_errmsg (-1));
  d->d_buf = buf;
  d->d_size = len;
  d->d_type = ELF_T_BYTE;
  d->d_align = 1;
  d->d_version = EV_CURRENT;
  return 0;
}

static const struct ulp_new_section *
replacement_for (const char *name, const struct ulp_new_section *sections,
                 size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (sections[i].name, name) == 0)
      return &sections[i];
  return NULL;
}

struct names
{
  char *buf;
  size_t len;
};

static size_t
add_name (struct names *names, const char *name)
{
  size_t offset = names->len, n = strlen (name) + 1;
  char *grown = realloc (names->buf, names->len + n);
  if (!grown)
    return 0;
  memcpy (grown + names->len, name, n);
  names->buf = grown;
  names->len += n;
  return offset;
}

/* Copies every section of IN at its own offset; sections being replaced
   keep their header but get new data at the end of the file.  */
static int
copy_sections (Elf *in, Elf *out, size_t shstrndx,
               const struct ulp_new_section *sections, size_t n, int *replaced,
               uint64_t *end)
{
  for (Elf_Scn *scn = elf_nextscn (in, NULL); scn;
       scn = elf_nextscn (in, scn)) {
    GElf_Shdr shdr;
    Elf_Scn *copy = elf_newscn (out);
    Elf_Data *data = elf_rawdata (scn, NULL);
    if (!copy || !gelf_getshdr (scn, &shdr))
      return ulp_fail ("libelf: %s", elf_errmsg (-1));
    const char *name = elf_strptr (in, shstrndx, shdr.sh_name);
    const struct ulp_new_section *r
        = name ? replacement_for (name, sections, n) : NULL;
    if (r) {
      replaced[r - sections] = 1;
      shdr.sh_offset = *end = align8 (*end);
      shdr.sh_size = r->len;
      *end += r->len;
      if (set_data (copy, (void *)r->data, r->len) < 0)
        return -1;
    } else if (data && data->d_size
               && set_data (copy, data->d_buf, data->d_size) < 0)
      return -1;
    if (!gelf_update_shdr (copy, &shdr))
      return ulp_fail ("libelf: %s", elf_errmsg (-1));
  }
  return 0;
}

static int
append_sections (Elf *in, Elf *out, size_t shstrndx,
                 const struct ulp_new_section *sections, size_t n,
                 const int *replaced, uint64_t *end, struct names *names)
{
  Elf_Data *old = elf_rawdata (elf_getscn (in, shstrndx), NULL);
  if (!old || !(names->buf = malloc (old->d_size)))
    return ulp_fail ("cannot read the section name table");
  memcpy (names->buf, old->d_buf, old->d_size);
  names->len = old->d_size;
  for (size_t i = 0; i < n; i++) {
    if (replaced[i])
      continue;
    Elf_Scn *scn = elf_newscn (out);
    GElf_Shdr shdr = { 0 };
    if (!scn)
      return ulp_fail ("libelf: %s", elf_errmsg (-1));
    shdr.sh_name = add_name (names, sections[i].name);
    shdr.sh_type = SHT_PROGBITS;
    shdr.sh_addralign = 1;
    shdr.sh_offset = *end = align8 (*end);
    shdr.sh_size = sections[i].len;
    *end += sections[i].len;
    if (!shdr.sh_name
        || set_data (scn, (void *)sections[i].data, sections[i].len) < 0
        || !gelf_update_shdr (scn, &shdr))
      return ulp_fail ("cannot add section %s", sections[i].name);
  }
  /* The grown name table moves to the end as well.  */
  Elf_Scn *strscn = elf_getscn (out, shstrndx);
  GElf_Shdr shdr;
  Elf_Data *d = strscn ? elf_getdata (strscn, NULL) : NULL;
  if (!d || !gelf_getshdr (strscn, &shdr))
    return ulp_fail ("libelf: %s", elf_errmsg (-1));
  d->d_buf = names->buf;
  d->d_size = names->len;
  shdr.sh_offset = *end = align8 (*end);
  shdr.sh_size = names->len;
  *end += names->len;
  return gelf_update_shdr (strscn, &shdr)
             ? 0
             : ulp_fail ("libelf: %s", elf_errmsg (-1));
}

static int
copy_headers (Elf *in, Elf *out, GElf_Ehdr *ehdr)
{
  size_t nphdr;
  if (!gelf_newehdr (out, gelf_getclass (in))
      || elf_getphdrnum (in, &nphdr) != 0
      || (nphdr && !gelf_newphdr (out, nphdr)))
    return ulp_fail ("libelf: %s", elf_errmsg (-1));
  for (size_t i = 0; i < nphdr; i++) {
    GElf_Phdr phdr;
    if (!gelf_getphdr (in, (int)i, &phdr)
        || !gelf_update_phdr (out, (int)i, &phdr))
      return ulp_fail ("libelf: %s", elf_errmsg (-1));
  }
  return gelf_update_ehdr (out, ehdr)
             ? 0
             : ulp_fail ("libelf: %s", elf_errmsg (-1));
}

static int
write_copy (int in_fd, int out_fd, const struct ulp_new_section *sections,
            size_t n)
{
  struct names names = { NULL, 0 };
  int replaced[8] = { 0 };
  int rc = -1;
  size_t shstrndx;
  GElf_Ehdr ehdr;
  if (n > 8 || elf_version (EV_CURRENT) == EV_NONE)
    return ulp_fail ("libelf unavailable");
  Elf *in = elf_begin (in_fd, ELF_C_READ, NULL);
  Elf *out = elf_begin (out_fd, ELF_C_WRITE, NULL);
  if (!in || elf_kind (in) != ELF_K_ELF || !gelf_getehdr (in, &ehdr)
      || elf_getshdrstrndx (in, &shstrndx) != 0)
    ulp_fail ("not an ELF file");
  else if (!out)
    ulp_fail ("libelf: %s", elf_errmsg (-1));
  else {
    uint64_t end = used_end (in, &ehdr);
    elf_flagelf (out, ELF_C_SET, ELF_F_LAYOUT);
    if (copy_headers (in, out, &ehdr) == 0
        && copy_sections (in, out, shstrndx, sections, n, replaced, &end) == 0
        && append_sections (in, out, shstrndx, sections, n, replaced, &end,
                            &names)
               == 0) {
      gelf_getehdr (out, &ehdr);
      ehdr.e_shoff = align8 (end);
      if (!gelf_update_ehdr (out, &ehdr) || elf_update (out, ELF_C_WRITE) < 0)
        ulp_fail ("libelf: %s", elf_errmsg (-1));
      else
        rc = 0;
    }
  }
  if (out)
    elf_end (out);
  if (in)
    elf_end (in);
  free (names.buf);
  return rc;
}

int
ulp_elf_embed_sections (const char *path,
                        const struct ulp_new_section *sections, size_t n)
{
  struct stat st;
  struct ulp_pending_file out;
  int in = open (path, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return ulp_fail ("%s: %s", path,
                     errno == ENOENT ? "no such file" : strerror (errno));
  if (fstat (in, &st) != 0
      || ulp_file_begin (path, st.st_mode & 07777, &out) < 0) {
    close (in);
    return -1;
  }
  int ok = write_copy (in, out.fd, sections, n) == 0;
  close (in);
  if (!ok) {
    char why[512];
    snprintf (why, sizeof why, "%s", ulp_error ());
    ulp_file_finish (&out, 0);
    return ulp_fail ("%s: %s", path, why);
  }
  return ulp_file_finish (&out, 1);
}
