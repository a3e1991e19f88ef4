/* cli.h — what the files of the `meshward` command share: messages, locating meshward's
 * libraries, running other programs, and the subcommands' entry points.
 *
 * Conventions: every message goes to stderr and starts with "meshward: " (the program's
 * stdout stays exactly its own); a failure of the command itself exits with CLI_EXIT_FAIL
 * (125, as env(1) and timeout(1) do), a program that cannot be found or run with 127/126,
 * and otherwise the command exits with the program's own status (128+N for signal N). */
#ifndef MW_CLI_H
#define MW_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum { CLI_EXIT_FAIL = 125, CLI_EXIT_NOEXEC = 126, CLI_EXIT_NOTFOUND = 127 };

/* messages.c */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- libs.c: meshward's libraries, installed or in the build tree ---------------------- */

/* Finds library `name` (e.g. "libmeshward.so"): in libdir when given (--libdir), else next
 * to the command (the installed layout, then the build tree). Returns a malloc'ed absolute
 * path, or NULL after printing an error that says where it looked. */
char *libs_find(const char *name, const char *libdir);

/* The value of LD_PRELOAD for a child: the `n` libraries, then the caller's LD_PRELOAD. */
char *libs_preload_value(const char *const *libs, size_t n);

/* ---- spawn.c: other programs ----------------------------------------------------------- */

/* The path of executable `name` found as execvp would ("/"-containing names as given), or
 * NULL. Malloc'ed. */
char *spawn_which(const char *name);

/* Runs argv with stdin from /dev/null and stdout+stderr captured into *out (malloc'ed,
 * NUL-terminated, may be NULL when not wanted). Returns the exit status as cli.h says. */
int spawn_capture(char *const argv[], char **out);

/* The command's exit status for a wait(2) status. */
int spawn_exit_status(int wstatus);

/* Replaces the process with argv[0] found on PATH (after setting up the environment);
 * returns only on failure, with the status to exit with, after printing why. */
int spawn_exec(char *const argv[]);

/* ---- subcommands ------------------------------------------------------------------------ */

int cmd_run(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
