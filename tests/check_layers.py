#!/usr/bin/env python3
"""tests/check_layers.py SRCDIR - the layers of DESIGN.md, enforced.

Follows every '#include "..."' of every source file, transitively, and
fails when a file reaches a header its layer must not see: lower layers
never include higher ones, and schedulers/ and viz/ see the graph layer
only through the plan (graph/plan_internal.h), never graph internals.
"""
import os
import re
import sys

# layer -> the folders (or single headers) its files may reach
ALLOWED = {
    'runtime': ['runtime/'],
    'graph': ['runtime/', 'graph/'],
    'schedulers': ['runtime/', 'graph/plan_internal.h', 'schedulers/'],
    'viz': ['runtime/', 'graph/plan_internal.h', 'viz/'],
    'dataframe': ['runtime/', 'dataframe/'],
    'array': ['runtime/', 'array/'],
    'tools': [],
    'examples': [],
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def resolve(src, name, base):
    """The repository path of an include, or None for a system one."""
    for cand in (os.path.join(os.path.dirname(name), src), src,
                 os.path.join('include', src)):
        path = os.path.normpath(cand)
        if os.path.isfile(os.path.join(base, path)):
            return path
    return None


def closure(base, start, cache):
    """Every repository file start reaches through includes."""
    seen, todo = set(), [start]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        if f not in cache:
            with open(os.path.join(base, f), encoding='utf-8') as fh:
                cache[f] = [resolve(i, f, base)
                            for i in INCLUDE.findall(fh.read())]
        todo.extend(p for p in cache[f] if p)
    seen.discard(start)
    return seen


def main():
    base = sys.argv[1]
    cache, bad, checked = {}, [], 0
    for layer, allowed in ALLOWED.items():
        top = os.path.join(base, layer)
        if not os.path.isdir(top):
            continue
        for root, _, files in os.walk(top):
            for fn in sorted(files):
                if not fn.endswith(('.c', '.h')):
                    continue
                f = os.path.relpath(os.path.join(root, fn), base)
                checked += 1
                for dep in sorted(closure(base, f, cache)):
                    public = dep.startswith('include/')
                    ok = public or any(dep.startswith(a) for a in allowed)
                    if not ok:
                        bad.append(f'{f} reaches {dep}')
    for b in bad:
        print('layer violation:', b)
    print(f'{checked} files checked')
    print(f'{0 if bad else 1} passed, {1 if bad else 0} failed')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
