/* tools/tg-viz.c - render a JSON graph file (tg_graph_write_json) to
 * SVG, PNG, PDF or DOT.
 *
 * Usage: tg-viz graph.json out.svg [--rankdir TB|LR|BT|RL]
 *              [--summarize N] [--color none|order|state|duration]
 * --summarize N draws one node per function above N tasks (default 200;
 * 0 or negative: never).
 * Exit codes: 0 done, 1 the input or output failed, 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <taskgraph.h>

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "tg-viz: %s\n", msg);
    fprintf(stderr, "usage: tg-viz graph.json out.{svg,png,pdf,dot} "
                    "[--rankdir TB|LR|BT|RL] [--summarize N]\n"
                    "              [--color none|order|state|duration]\n"
                    "--summarize N: one node per function above N tasks "
                    "(default 200; 0: never)\n");
    return 2;
}

/* The index of s in names[0..n), or -1. */
static int pick(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static int parse_option(const char *opt, const char *val, tg_viz_opts *o)
{
    static const char *const dirs[] = {"TB", "LR", "BT", "RL"};
    static const char *const colors[] = {"none", "order", "state", "duration"};
    if (strcmp(opt, "--rankdir") == 0) {
        int d = pick(val, dirs, 4);
        if (d < 0)
            return usage("--rankdir takes TB, LR, BT or RL");
        o->rankdir = (tg_viz_rankdir)d;
    } else if (strcmp(opt, "--color") == 0) {
        int c = pick(val, colors, 4);
        if (c < 0)
            return usage("--color takes none, order, state or duration");
        o->color = (tg_viz_color)c;
    } else if (strcmp(opt, "--summarize") == 0) {
        char *end;
        long n = strtol(val, &end, 10);
        if (*val == '\0' || *end != '\0')
            return usage("--summarize takes a number of tasks");
        o->summarize_above = n <= 0 ? -1 : n; /* 0 in opts: default */
    } else {
        fprintf(stderr, "tg-viz: unknown option '%s'\n", opt);
        return usage(NULL);
    }
    return 0;
}

int main(int argc, char **argv)
{
    tg_viz_opts o = {0};
    const char *paths[2];
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(NULL);
            return 0;
        }
        if (strncmp(argv[i], "--", 2) == 0) {
            if (i + 1 >= argc)
                return usage("an option needs a value");
            int rc = parse_option(argv[i], argv[i + 1], &o);
            if (rc)
                return rc;
            i++;
        } else if (n_paths < 2) {
            paths[n_paths++] = argv[i];
        } else {
            return usage("too many arguments");
        }
    }
    if (n_paths != 2)
        return usage("needs an input and an output file");
    int rc = tg_visualize_json(paths[0], paths[1], &o);
    if (rc) {
        fprintf(stderr, "tg-viz: %s\n", tg_last_error());
        return 1;
    }
    return 0;
}
