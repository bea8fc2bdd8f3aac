/* taskgraph/diagnostics.h - a progress bar and a profiler for computes.
 *
 * Both are built on the scheduler callbacks (callbacks.h), so they work
 * the same on every scheduler.  The progress bar is like Dask's
 * dask.diagnostics.ProgressBar; the profiler records each task's begin,
 * end and worker thread and writes a Chrome trace-event file (open it in
 * https://ui.perfetto.dev or chrome://tracing) and a text summary.
 */
#ifndef TASKGRAPH_DIAGNOSTICS_H
#define TASKGRAPH_DIAGNOSTICS_H

#include <stdio.h>

#include "callbacks.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- progress bar ---- */

typedef enum tg_progress_mode {
    TG_PROGRESS_AUTO = 0, /* TTY if the stream is a terminal, else LINES */
    TG_PROGRESS_TTY,      /* one line redrawn in place with '\r' */
    TG_PROGRESS_LINES     /* a new line at every 10 % */
} tg_progress_mode;

/* Options of the progress bar; all-zero means the defaults. */
typedef struct tg_progress_opts {
    FILE *stream;          /* borrowed; NULL means stderr */
    tg_progress_mode mode; /* default AUTO */
    /* Show a compute only once it has run this long, so that quick
     * computes print nothing.  0 means the default, 500 ms. */
    uint32_t min_ms;
    bool immediate; /* show every compute from its start */
    uint32_t width; /* bar width in characters; 0 means 40 */
} tg_progress_opts;

/* Turns the progress bar on (with the defaults) or off for computes that
 * start afterwards.  The environment variable TG_PROGRESS=1 turns it on
 * at the first compute unless this was called before.  One compute is
 * shown at a time: computes that start while one is shown (nested or
 * concurrent) are not.  Returns 0 or a negative code.  Any thread. */
TG_API int tg_progress_enable(bool on);
/* Turns the progress bar on with options (copied; NULL means the
 * defaults), replacing earlier options.  Any thread. */
TG_API int tg_progress_enable_with(const tg_progress_opts *opts);
/* True when the progress bar is on.  Any thread. */
TG_API bool tg_progress_enabled(void);

/* ---- profiler ---- */

typedef struct tg_profiler tg_profiler;

/* Records every task of every compute that runs while it is started.
 * Thread-safe: tasks end on any worker.  Start, stop, free: caller
 * serialises. */
TG_API tg_profiler *tg_profiler_new(void);
/* Starts recording computes that start from now on.  Returns 0, or
 * TG_EINVAL if already started, or TG_ENOMEM. */
TG_API int tg_profiler_start(tg_profiler *p);
/* Stops recording.  Computes still running may add records until they
 * finish.  Returns 0, or TG_EINVAL if not started. */
TG_API int tg_profiler_stop(tg_profiler *p);
/* Stops the profiler if started and frees it.  NULL does nothing.  No
 * compute it records may still be running. */
TG_API void tg_profiler_free(tg_profiler *p);
/* Forgets every record.  Caller serialises with running computes. */
TG_API void tg_profiler_clear(tg_profiler *p);
/* Number of task records so far.  Any thread. */
TG_API size_t tg_profiler_n_tasks(const tg_profiler *p);
/* Records the profiler could not keep for lack of memory. */
TG_API size_t tg_profiler_n_dropped(const tg_profiler *p);

/* Writes the records as Chrome trace-event JSON: one complete ("X")
 * event per task, named by its function, on the track of its worker,
 * with its key in args.  Returns 0, or TG_EIO/TG_ENOMEM with
 * tg_last_error().  Caller serialises with running computes. */
TG_API int tg_profiler_write_trace(const tg_profiler *p,
                                   const char *path) TG_WARN_UNUSED;
/* Prints a table of time per function name (tasks, total, mean, max,
 * share of all task time), biggest total first.  Returns 0 or a negative
 * code. */
TG_API int tg_profiler_summary(const tg_profiler *p, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* TASKGRAPH_DIAGNOSTICS_H */
