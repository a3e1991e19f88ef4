/* spawn.c — running other programs: the program under study (exec) and the helpers the
 * command drives (lttng, babeltrace2), whose output is captured so that it can be shown
 * when they fail and parsed when they succeed. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool is_executable(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *spawn_which(const char *name) {
    if (strchr(name, '/')) return is_executable(name) ? strdup(name) : NULL;
    const char *path = getenv("PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        char buf[PATH_MAX];
        if (snprintf(buf, sizeof buf, "%.*s/%s", (int)len, len ? path : ".", name) <
                (int)sizeof buf &&
            is_executable(buf))
            return strdup(buf);
        path += len + (path[len] == ':');
    }
    return NULL;
}

int spawn_exit_status(int wstatus) {
    if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
    return CLI_EXIT_FAIL;
}

int spawn_exec(char *const argv[]) {
    execvp(argv[0], argv);
    int err = errno;
    cli_error("cannot run %s: %s", argv[0], strerror(err));
    return err == ENOENT ? CLI_EXIT_NOTFOUND : CLI_EXIT_NOEXEC;
}

/* Reads all of fd into a malloc'ed NUL-terminated string. */
static char *slurp(int fd) {
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) return NULL;
        if (len + 1 == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger) {
                free(buf);
                return NULL;
            }
            buf = bigger;
        }
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

int spawn_capture(char *const argv[], char **out) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        cli_error("pipe: %s", strerror(errno));
        return CLI_EXIT_FAIL;
    }
    pid_t pid = fork();
    if (pid < 0) {
        cli_error("fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return CLI_EXIT_FAIL;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, STDIN_FILENO);
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(CLI_EXIT_NOTFOUND);
    }
    close(fds[1]);
    char *text = slurp(fds[0]);
    close(fds[0]);
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    if (out)
        *out = text;
    else
        free(text);
    return spawn_exit_status(wstatus);
}
