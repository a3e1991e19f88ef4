/* report/symbols.c — names the frames of call sites with elfutils' libdw: function, source
 * file and line of the call (the return address minus one), and the library.
 *
 * Frames are (module, offset) pairs, so a frame is resolved once whatever the number of
 * processes and stacks that hold it, and only when an output shows it. Each module's ELF file (with
 * its separate debug information, found by build id or debug link the standard way) is opened once,
 * on first use, in a Dwfl of its own reported at bias 0, so that a file address is the first
 * loadable segment's address plus the offset from the load base. A module without symbols leaves
 * the site named library+offset. C++ names are demangled. */
#include "report.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dw_module {
    bool opened;
    Dwfl *dwfl;
    Dwfl_Module *mod;
    GElf_Addr first_vaddr; /* of the first PT_LOAD segment, plus the module's bias */
};

static struct dw_module *dw;
static size_t n_dw;

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

static GElf_Addr first_load(Dwfl_Module *mod) {
    GElf_Addr bias = 0;
    Elf *elf = dwfl_module_getelf(mod, &bias);
    size_t n = 0;
    if (!elf || elf_getphdrnum(elf, &n) != 0) return bias;
    GElf_Addr lowest = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < lowest)
            lowest = ph.p_vaddr;
    }
    return bias + (lowest == UINT64_MAX ? 0 : lowest);
}

static struct dw_module *dw_open(const struct rep *r, uint32_t module) {
    if (module >= n_dw) {
        size_t n = r->n_modules;
        dw = realloc(dw, n * sizeof *dw);
        if (!dw) abort();
        memset(dw + n_dw, 0, (n - n_dw) * sizeof *dw);
        n_dw = n;
    }
    struct dw_module *d = &dw[module];
    if (d->opened) return d;
    d->opened = true;
    const char *path = r->modules[module].path;
    if (access(path, R_OK) != 0 || !(d->dwfl = dwfl_begin(&callbacks))) return d;
    dwfl_report_begin(d->dwfl);
    d->mod = dwfl_report_elf(d->dwfl, rep_module_name(r, module), path, -1, 0, false);
    dwfl_report_end(d->dwfl, NULL, NULL);
    if (d->mod) d->first_vaddr = first_load(d->mod);
    return d;
}

/* C++ names readable: libstdc++'s demangler, looked up at run time (the command is C and
 * does not link libstdc++); the name as it is when it is missing or fails. */
static char *demangle(const char *name) {
    typedef char *(*demangler)(const char *, char *, size_t *, int *);
    static demangler fn;
    static bool looked_up;
    if (!looked_up) {
        looked_up = true;
        void *lib = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
        fn = lib ? (demangler)(uintptr_t)dlsym(lib, "__cxa_demangle") : NULL;
    }
    int status = -1;
    char *out = fn && strncmp(name, "_Z", 2) == 0 ? fn(name, NULL, NULL, &status) : NULL;
    return out && status == 0 ? out : strdup(name);
}

void rep_resolve(struct rep *r, uint32_t frame) {
    struct rep_frame *s = &r->frames[frame];
    if (s->resolved || s->module == REP_NO_MODULE) return;
    s->resolved = true;
    struct dw_module *d = dw_open(r, s->module);
    if (!d->mod) return;
    GElf_Addr addr = d->first_vaddr + s->offset - (s->offset ? 1 : 0);
    const char *fn = dwfl_module_addrname(d->mod, addr);
    if (fn) s->function = demangle(fn);
    Dwfl_Line *line = dwfl_module_getsrc(d->mod, addr);
    int lineno = 0;
    const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
    if (file) {
        s->file = strdup(file);
        s->line = lineno;
    }
}

void rep_symbols_end(void) {
    for (size_t i = 0; i < n_dw; i++)
        if (dw[i].dwfl) dwfl_end(dw[i].dwfl);
    free(dw);
    dw = NULL;
    n_dw = 0;
}

const char *rep_module_name(const struct rep *r, uint32_t module) {
    if (module == REP_NO_MODULE) return "?";
    const char *slash = strrchr(r->modules[module].path, '/');
    return slash ? slash + 1 : r->modules[module].path;
}

void rep_frame_name(struct rep *r, uint32_t frame, char *buf, size_t size) {
    rep_resolve(r, frame);
    const struct rep_frame *s = &r->frames[frame];
    const char *lib = rep_module_name(r, s->module);
    if (s->module == REP_NO_MODULE) {
        snprintf(buf, size, "0x%llx", (unsigned long long)s->offset);
    } else if (s->function && s->file) {
        const char *f = strrchr(s->file, '/');
        snprintf(buf, size, "%s (%s:%d, %s)", s->function, f ? f + 1 : s->file, s->line, lib);
    } else if (s->function) {
        snprintf(buf, size, "%s (%s+0x%llx)", s->function, lib, (unsigned long long)s->offset);
    } else {
        snprintf(buf, size, "%s+0x%llx", lib, (unsigned long long)s->offset);
    }
}

void rep_frame_function(struct rep *r, uint32_t frame, char *buf, size_t size) {
    rep_resolve(r, frame);
    const struct rep_frame *s = &r->frames[frame];
    if (s->function)
        snprintf(buf, size, "%s", s->function);
    else if (s->module != REP_NO_MODULE)
        snprintf(buf, size, "%s+0x%llx", rep_module_name(r, s->module),
                 (unsigned long long)s->offset);
    else
        snprintf(buf, size, "0x%llx", (unsigned long long)s->offset);
}

enum { NAMED_CALLERS = 3 }; /* callers a site's one-line name shows */

void rep_site_name(struct rep *r, uint32_t site, char *buf, size_t size) {
    const struct rep_site *s = &r->sites[site];
    if (!s->n_frames) {
        snprintf(buf, size, "(unknown stack)");
        return;
    }
    rep_frame_name(r, s->frames[0], buf, size);
    for (uint32_t i = 1; i < s->n_frames && i <= NAMED_CALLERS; i++) {
        char fn[256];
        rep_frame_function(r, s->frames[i], fn, sizeof fn);
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, " < %s", fn);
    }
    if (s->n_frames > NAMED_CALLERS + 1) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, " < ...");
    }
}
