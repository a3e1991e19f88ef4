/* run.c — `meshward run [--hardened] [--stats] [-O NAME=VALUE]... [--libdir DIR] [--] PROG
 * [ARGS...]`: replaces itself with PROG, libmeshward (or libmeshward-hardened) first in
 * LD_PRELOAD and the options exported as MESHWARD_<NAME>, so PROG's exit status is the
 * command's own. */
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

int cmd_run(int argc, char **argv) {
    static const struct option longopts[] = {{"hardened", no_argument, NULL, 'H'},
                                             {"stats", no_argument, NULL, 's'},
                                             {"option", required_argument, NULL, 'O'},
                                             {"libdir", required_argument, NULL, 'L'},
                                             {NULL, 0, NULL, 0}};
    bool hardened = false;
    const char *libdir = NULL;
    int c;
    optind = 1;
    /* "+": stop at PROG, whose own options are not ours. */
    while ((c = getopt_long(argc, argv, "+O:", longopts, NULL)) != -1) {
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
        default:
            return CLI_EXIT_FAIL;
        }
    }
    if (optind >= argc) {
        cli_error("run: no program given (meshward run [options] -- PROG [ARGS...])");
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
    return spawn_exec(argv + optind);
}
