/* main.c — the `meshward` command: dispatches to a subcommand (run, trace, report). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: meshward run [--hardened] [--stats] [-O NAME=VALUE]... [--valgrind [-V OPTION]...]\n"
    "                    [--libdir DIR] [--] PROG [ARGS...]\n"
    "       meshward trace [-o DIR] [--hardened] [--stacks[=DEPTH]] [--no-threads]\n"
    "                      [--subbuf-size BYTES] [--num-subbuf N] [--no-discard] [--report]\n"
    "                      [--libdir DIR] [--] PROG [ARGS...]\n"
    "       meshward report [--pid PID] [--from T] [--to T] [--top N] [--json] [--html FILE]\n"
    "                       [--collapsed FILE] [--reader ctf|babeltrace2] [--dump] TRACE_DIR\n"
    "       meshward --version | --help\n"
    "\n"
    "  run    runs PROG with libmeshward preloaded (libmeshward-hardened with --hardened);\n"
    "         --stats prints allocator statistics at exit, -O sets option MESHWARD_NAME;\n"
    "         --valgrind runs it under memcheck, -V passes OPTION to valgrind\n"
    "  trace  records PROG's allocations with LTTng into DIR (default: a new dated folder);\n"
    "         --stacks records whole call stacks; --no-threads leaves each allocation's\n"
    "         thread out (smaller traces, no thread analyses); --report prints the report of\n"
    "         the trace on stderr afterwards\n"
    "  report reads a trace: leaks, peak, hot and temporary call sites, histograms, threads,\n"
    "         timeline, corruptions (text; --json; --html FILE; --collapsed FILE for flame\n"
    "         graphs); --pid, --from/--to (seconds, or with ms/us/ns) restrict it\n"
    "\n"
    "run and trace exit with PROG's status (128+N when killed by signal N), 125 when meshward\n"
    "itself fails, 126/127 when PROG cannot be run or found; report exits with 0 or 125.\n";

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_EXIT_FAIL;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(sub, "trace") == 0) return cmd_trace(argc - 1, argv + 1);
    if (strcmp(sub, "report") == 0) return cmd_report(argc - 1, argv + 1);
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(sub, "--version") == 0) {
        printf("meshward %s\n", MW_VERSION);
        return 0;
    }
    cli_error("unknown subcommand '%s' (try 'meshward --help')", sub);
    return CLI_EXIT_FAIL;
}
