/* tools/tg-worker.c - a worker process of the cluster.
 *
 * Usage: tg-worker ADDRESS|--scheduler-file PATH [--preload LIB.so]...
 *                  [--nthreads N] [--name NAME] [--host H]
 *                  [--token-file PATH] [--quiet]
 * ADDRESS is tcp://host:port (the token then comes from TG_TOKEN or
 * --token-file) or a scheduler file.  Each --preload library is loaded
 * first; it registers its task functions when loaded (a constructor
 * calling tg_register), into the registry of the shared libtaskgraph
 * this program is linked with.  Code never arrives over the wire: a
 * task names a function one of these libraries (or taskgraph itself)
 * registered.  A thin wrapper over tg_serve_worker.  Exit codes: 0
 * stopped cleanly, 1 could not start, 2 bad usage.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <taskgraph.h>

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "tg-worker: %s\n", msg);
    fprintf(stderr, "usage: tg-worker ADDRESS|--scheduler-file PATH "
                    "[--preload LIB.so]...\n"
                    "                 [--nthreads N] [--name NAME] "
                    "[--host H] [--token-file PATH] [--quiet]\n");
    return 2;
}

int main(int argc, char **argv)
{
    tg_server_opts o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quiet") == 0) {
            o.quiet = true;
            continue;
        }
        if (a[0] != '-') {
            if (o.address)
                return usage("two addresses");
            o.address = a;
            continue;
        }
        if (!v)
            return usage(NULL);
        i++;
        if (strcmp(a, "--scheduler-file") == 0) {
            o.scheduler_file = v;
        } else if (strcmp(a, "--preload") == 0) {
            if (!dlopen(v, RTLD_NOW | RTLD_GLOBAL)) {
                fprintf(stderr, "tg-worker: cannot load %s: %s\n", v,
                        dlerror());
                return 1;
            }
        } else if (strcmp(a, "--nthreads") == 0) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 0 || n > 4096)
                return usage("--nthreads takes 0 to 4096");
            o.nthreads = (int)n;
        } else if (strcmp(a, "--name") == 0) {
            o.name = v;
        } else if (strcmp(a, "--host") == 0) {
            o.host = v;
        } else if (strcmp(a, "--token-file") == 0) {
            o.token_file = v;
        } else {
            return usage(NULL);
        }
    }
    if (!o.address && !o.scheduler_file)
        return usage("no scheduler address");
    if (o.address && o.scheduler_file)
        return usage("an address or a scheduler file, not both");
    if (tg_serve_worker(&o) != 0) {
        fprintf(stderr, "tg-worker: %s\n", tg_last_error());
        return 1;
    }
    return 0;
}
