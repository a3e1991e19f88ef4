/* harden/symbols.c — ELF symbol lookup for reports (see symbols.h). */
#include "harden/symbols.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct object {
    uintptr_t ip, bias;
    char path[256];
    bool found;
};

static bool segment_holds(const struct dl_phdr_info *info, uintptr_t ip) {
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && ip - start < ph->p_memsz) return true;
    }
    return false;
}

static int find_object(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    struct object *o = arg;
    if (!segment_holds(info, o->ip)) return 0;
    o->bias = info->dlpi_addr;
    const char *name = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : NULL;
    if (name) {
        size_t n = strlen(name);
        if (n >= sizeof o->path) n = sizeof o->path - 1;
        memcpy(o->path, name, n);
        o->path[n] = '\0';
    } else {
        ssize_t n = readlink("/proc/self/exe", o->path, sizeof o->path - 1);
        o->path[n > 0 ? n : 0] = '\0';
    }
    o->found = true;
    return 1;
}

static bool object_of(uintptr_t ip, struct object *o) {
    memset(o, 0, sizeof *o);
    o->ip = ip;
    dl_iterate_phdr(find_object, o);
    return o->found;
}

bool mw_sym_is_self(uintptr_t ip) {
    struct object self, other;
    return object_of((uintptr_t)&mw_sym_is_self, &self) && object_of(ip, &other) &&
           self.bias == other.bias;
}

struct symbol {
    const char *name;
    uintptr_t offset;
};

/* Best symbol for file offset rel in the symbol table sh (strings in its linked table). */
static struct symbol lookup_table(const char *img, size_t size, const ElfW(Shdr) * sh,
                                  const ElfW(Shdr) * shdrs, uintptr_t rel) {
    struct symbol best = {NULL, 0};
    const ElfW(Shdr) *strs = &shdrs[sh->sh_link];
    if (sh->sh_offset + sh->sh_size > size || strs->sh_offset + strs->sh_size > size) return best;
    const ElfW(Sym) *syms = (const ElfW(Sym) *)(img + sh->sh_offset);
    size_t n = sh->sh_size / sizeof(ElfW(Sym));
    uintptr_t best_value = 0;
    for (size_t i = 0; i < n; i++) {
        const ElfW(Sym) *s = &syms[i];
        if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_value > rel || s->st_name == 0 ||
            s->st_name >= strs->sh_size)
            continue;
        bool inside = rel < s->st_value + s->st_size;
        if ((inside || s->st_size == 0) && s->st_value >= best_value) {
            best_value = s->st_value;
            best.name = img + strs->sh_offset + s->st_name;
            best.offset = rel - s->st_value;
        }
    }
    return best;
}

static struct symbol lookup_image(const char *img, size_t size, uintptr_t rel) {
    struct symbol none = {NULL, 0};
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)img;
    if (size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) > size)
        return none;
    const ElfW(Shdr) *shdrs = (const ElfW(Shdr) *)(img + eh->e_shoff);
    for (unsigned pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < eh->e_shnum; i++) {
            if (shdrs[i].sh_type != (pass == 0 ? SHT_SYMTAB : SHT_DYNSYM)) continue;
            if (shdrs[i].sh_link >= eh->e_shnum) continue;
            struct symbol s = lookup_table(img, size, &shdrs[i], shdrs, rel);
            if (s.name) return s;
        }
    }
    return none;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Appends "name+0xOFF (object)" from the object's file; false when it cannot be read. */
static bool describe_from_file(struct mw_line *l, const struct object *o) {
    int fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    void *img = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (img == MAP_FAILED) return false;
    /* ip is a return address: the call is the byte before it */
    struct symbol s = lookup_image(img, (size_t)st.st_size, o->ip - 1 - o->bias);
    if (s.name) {
        mw_line_str(l, s.name);
        mw_line_str(l, "+");
        mw_line_hex(l, s.offset + 1);
        mw_line_str(l, " (");
        mw_line_str(l, base_name(o->path));
        mw_line_str(l, ")");
    }
    munmap(img, (size_t)st.st_size);
    return s.name != NULL;
}

void mw_sym_describe(struct mw_line *l, uintptr_t ip) {
    mw_line_hex(l, ip);
    struct object o;
    if (!ip || !object_of(ip, &o)) return;
    mw_line_str(l, " ");
    if (describe_from_file(l, &o)) return;
    mw_line_str(l, "(");
    mw_line_str(l, base_name(o.path));
    mw_line_str(l, "+");
    mw_line_hex(l, ip - o.bias);
    mw_line_str(l, ")");
}
