/* run.c — `meshward run [--hardened] [--stats] [-O NAME=VALUE]... [--valgrind [-V OPT]...]
 * [--libdir DIR] [--] PROG [ARGS...]`: replaces itself with PROG, libmeshward (or
 * libmeshward-hardened) first in LD_PRELOAD and the options exported as MESHWARD_<NAME>, so
 * PROG's exit status is the command's own. With --valgrind it replaces itself with memcheck
 * running PROG on meshward instead: --soname-synonyms=somalloc=NONE (memcheck would
 * otherwise put its own malloc in meshward's place), children traced too, then each -V
 * option in order (a later one overrides ours), so the status is still PROG's unless -V asks
 * for --error-exitcode. */
#include "cli.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exports NAME=VALUE as MESHWARD_NAME=VALUE (NAME upper-cased); false when malformed. */
static bool set_option(const char *arg) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) return false;
    char name[128] = "MESHWARD_";
    size_t pre = strlen(name), len = (size_t)(eq - arg);
    if (pre + len >= sizeof name) return false;
    for (size_t i = 0; i < len; i++)
        name[pre + i] = (char)toupper((unsigned char)arg[i]);
    name[pre + len] = '\0';
    return setenv(name, eq + 1, 1) == 0;
}

/* The options memcheck needs before the user's -V ones (a later valgrind option wins). */
static const char *const memcheck_args[] = {"--tool=memcheck", "--soname-synonyms=somalloc=NONE",
                                            "--trace-children=yes"};
#define MEMCHECK_NARGS (sizeof memcheck_args / sizeof *memcheck_args)

/* Replaces the process with valgrind running prog (NULL-terminated), the -V options
 * (vopts[0..nv)) after ours. */
static int exec_valgrind(char *const *vopts, int nv, char *const *prog, int nprog) {
    char **argv = calloc(1 + MEMCHECK_NARGS + (size_t)nv + 1 + (size_t)nprog + 1, sizeof *argv);
    if (!argv) return CLI_EXIT_FAIL;
    size_t n = 0;
    argv[n++] = "valgrind";
    for (size_t i = 0; i < MEMCHECK_NARGS; i++)
        argv[n++] = (char *)memcheck_args[i];
    for (int i = 0; i < nv; i++)
        argv[n++] = vopts[i];
    argv[n++] = "--";
    for (int i = 0; i < nprog; i++)
        argv[n++] = prog[i];
    return spawn_exec(argv);
}

int cmd_run(int argc, char **argv) {
    static const struct option longopts[] = {{"hardened", no_argument, NULL, 'H'},
                                             {"stats", no_argument, NULL, 's'},
                                             {"option", required_argument, NULL, 'O'},
                                             {"libdir", required_argument, NULL, 'L'},
                                             {"valgrind", no_argument, NULL, 'G'},
                                             {"valgrind-option", required_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    bool hardened = false, valgrind = false;
    const char *libdir = NULL;
    char **vopts = calloc((size_t)argc, sizeof *vopts);
    int nv = 0, c;
    if (!vopts) return CLI_EXIT_FAIL;
    optind = 1;
    /* "+": stop at PROG, whose own options are not ours. */
    while ((c = getopt_long(argc, argv, "+O:V:", longopts, NULL)) != -1) {
        switch (c) {
        case 'H':
            hardened = true;
            break;
        case 's':
            setenv("MESHWARD_STATS", "1", 1);
            break;
        case 'O':
            if (!set_option(optarg)) {
                cli_error("-O expects NAME=VALUE, got '%s'", optarg);
                return CLI_EXIT_FAIL;
            }
            break;
        case 'L':
            libdir = optarg;
            break;
        case 'G':
            valgrind = true;
            break;
        case 'V':
            vopts[nv++] = optarg;
            break;
        default:
            return CLI_EXIT_FAIL;
        }
    }
    if (optind >= argc) {
        cli_error("run: no program given (meshward run [options] -- PROG [ARGS...])");
        return CLI_EXIT_FAIL;
    }
    if (nv > 0 && !valgrind) {
        cli_error("run: -V passes options to valgrind: it needs --valgrind");
        return CLI_EXIT_FAIL;
    }
    char *lib = libs_find(hardened ? "libmeshward-hardened.so" : "libmeshward.so", libdir);
    if (!lib) return CLI_EXIT_FAIL;
    const char *libs[] = {lib};
    char *preload = libs_preload_value(libs, 1);
    if (!preload || setenv("LD_PRELOAD", preload, 1) != 0) {
        cli_error("cannot set LD_PRELOAD");
        return CLI_EXIT_FAIL;
    }
    if (valgrind) return exec_valgrind(vopts, nv, argv + optind, argc - optind);
    return spawn_exec(argv + optind);
}
