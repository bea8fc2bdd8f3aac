/* taskgraph.h - the one header users include.
 *
 * taskgraph records calls of ordinary C functions as a task graph and runs
 * it on a pluggable scheduler.  See README.md for a tour and each
 * taskgraph/ header for the API of its part.
 */
#ifndef TASKGRAPH_H
#define TASKGRAPH_H

#include "taskgraph/common.h"
#include "taskgraph/value.h"
#include "taskgraph/graph.h"
#include "taskgraph/adapt.h"
#include "taskgraph/compute.h"
#include "taskgraph/distributed.h"
#include "taskgraph/callbacks.h"
#include "taskgraph/diagnostics.h"
#include "taskgraph/viz.h"
#include "taskgraph/dtype.h"
#include "taskgraph/dataframe.h"
#include "taskgraph/array.h"

#endif /* TASKGRAPH_H */
