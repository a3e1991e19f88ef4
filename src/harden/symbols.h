/* harden/symbols.h — naming code addresses for reports without allocating: the loaded
 * object holding an address (dl_iterate_phdr), then its ELF symbol table read from the file
 * through a private read-only mapping (.symtab when the file has one, so static functions
 * of unstripped programs are named; .dynsym otherwise). */
#ifndef MW_HARDEN_SYMBOLS_H
#define MW_HARDEN_SYMBOLS_H

#include "harden/report.h"

/* Appends "0xADDR function+0xOFF (object)" — or "0xADDR (object+0xOFF)" without a symbol,
 * "0xADDR" when no object holds it. */
void mw_sym_describe(struct mw_line *l, uintptr_t ip);
/* True when ip lies in meshward's own library (frames a report leaves out). */
bool mw_sym_is_self(uintptr_t ip);

#endif
