/* mesh/file.h — the mesh file: one memfd as large as the arena, holding the pages of kept
 * spans at offset (address - arena base), so that several virtual spans can map them.
 * Spans stay private anonymous memory until a mesh needs them here (DESIGN.md, arena).
 * Every function returns false on a failed system call and leaves the mappings as they
 * were, except where it says otherwise. */
#ifndef MW_MESH_FILE_H
#define MW_MESH_FILE_H

#include "common.h"

struct mw_span;

/* Moves s's pages into the file (s owned by the caller): its built part is copied while
 * s is read-only (barrier.h), then s is mapped shared onto its own offset. */
bool mw_mesh_file_adopt(struct mw_span *s);
/* Maps [start, start + len) shared onto kept's pages (kept in the file). */
bool mw_mesh_file_alias(char *start, size_t len, const struct mw_span *kept);
/* Fresh private anonymous pages over [start, start + len) (what was there is dropped). */
bool mw_mesh_file_unback(char *start, size_t len);
/* Gives s's pages in the file back (s no longer maps them). */
void mw_mesh_file_punch(const struct mw_span *s);
/* Fork (file.c says how parent and child part): prepare makes every kept span and alias
 * read-only (inside the caller's barrier) and copies the file; parent makes them writable
 * again and keeps the original;
 * child maps the copy (false: some ranges could not be copied or mapped and stay shared
 * with the parent). Kept spans are visited by each_kept. */
void mw_mesh_file_fork_prepare(void (*each_kept)(void (*fn)(struct mw_span *)));
void mw_mesh_file_fork_parent(void (*each_kept)(void (*fn)(struct mw_span *)));
bool mw_mesh_file_fork_child(void (*each_kept)(void (*fn)(struct mw_span *)));
/* Read-write again (the forked child's side of the freeze). */
void mw_mesh_file_thaw(struct mw_span *s);
void mw_mesh_file_freeze(struct mw_span *s);
/* solo: the process has one thread, the caller, so nothing can write while it copies:
 * freeze and thaw need not change protections (two system calls per mesh saved). */
void mw_mesh_file_solo(bool solo);

#endif
