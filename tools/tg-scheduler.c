/* tools/tg-scheduler.c - the cluster's scheduler process.
 *
 * Usage: tg-scheduler [--host H] [--port P] [--scheduler-file PATH]
 *                     [--token-file PATH] [--worker-queue N]
 *                     [--max-header BYTES] [--max-frames N]
 *                     [--max-frame BYTES] [--quiet]
 * Binds 127.0.0.1 unless --host says otherwise (and warns then), port 0
 * picks a free port; prints its address, writes the scheduler file
 * (address and token, mode 0600), serves until SIGINT or SIGTERM.  A thin
 * wrapper over tg_serve_scheduler.  Exit codes: 0 stopped cleanly, 1
 * could not start, 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <taskgraph.h>

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "tg-scheduler: %s\n", msg);
    fprintf(stderr,
            "usage: tg-scheduler [--host H] [--port P] "
            "[--scheduler-file PATH]\n"
            "                    [--token-file PATH] [--worker-queue N]\n"
            "                    [--max-header BYTES] [--max-frames N] "
            "[--max-frame BYTES] [--quiet]\n");
    return 2;
}

/* A non-negative number argument, or -1. */
static long long number(const char *s)
{
    char *end;
    long long v = s ? strtoll(s, &end, 10) : -1;
    return s && *s && !*end && v >= 0 ? v : -1;
}

int main(int argc, char **argv)
{
    tg_server_opts o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long n = number(v);
        if (strcmp(a, "--quiet") == 0) {
            o.quiet = true;
            continue;
        }
        if (!v)
            return usage(NULL);
        i++;
        if (strcmp(a, "--host") == 0)
            o.host = v;
        else if (strcmp(a, "--port") == 0 && n >= 0 && n <= 65535)
            o.port = (int)n;
        else if (strcmp(a, "--scheduler-file") == 0)
            o.scheduler_file = v;
        else if (strcmp(a, "--token-file") == 0)
            o.token_file = v;
        else if (strcmp(a, "--worker-queue") == 0 && n > 0 && n < 100000)
            o.worker_queue = (int)n;
        else if (strcmp(a, "--max-header") == 0 && n > 0)
            o.max_header = (size_t)n;
        else if (strcmp(a, "--max-frames") == 0 && n > 0)
            o.max_frames = (size_t)n;
        else if (strcmp(a, "--max-frame") == 0 && n > 0)
            o.max_frame = (size_t)n;
        else
            return usage(NULL);
    }
    if (tg_serve_scheduler(&o) != 0) {
        fprintf(stderr, "tg-scheduler: %s\n", tg_last_error());
        return 1;
    }
    return 0;
}
