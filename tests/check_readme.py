#!/usr/bin/env python3
"""tests/check_readme.py CC SRCDIR LIB FILE... - the README's programs.

Every ```c block of each FILE that holds a whole program (an int main)
is compiled against the library's headers and static library LIB, run,
and must exit 0: the examples a new user copies never drift from the
API.  Blocks without main are fragments and are left alone.
"""
import os
import re
import subprocess
import sys
import tempfile

BLOCK = re.compile(r'```c\n(.*?)```', re.S)
LIBS = ['libuv', 'jansson', 'libxxhash', 'libcgraph', 'libgvc']


def pkg_libs():
    out = []
    for lib in LIBS:
        r = subprocess.run(['pkg-config', '--libs', lib],
                           capture_output=True, text=True)
        if r.returncode == 0:
            out += r.stdout.split()
    return out + ['-lpthread', '-lm']


def main():
    cc, src, lib, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    libs = pkg_libs()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            with open(f, encoding='utf-8') as fh:
                text = fh.read()
            for k, block in enumerate(BLOCK.findall(text)):
                if not re.search(r'\bint main\s*\(', block):
                    continue
                name = f'{os.path.basename(f)}#{k}'
                c = os.path.join(tmp, f'prog{k}.c')
                exe = os.path.join(tmp, f'prog{k}')
                with open(c, 'w', encoding='utf-8') as fh:
                    fh.write(block)
                build = subprocess.run(
                    [cc, '-std=c11', '-Wall', '-Werror', '-o', exe, c,
                     '-I' + os.path.join(src, 'include'), lib] + libs,
                    capture_output=True, text=True)
                run = build.returncode == 0 and subprocess.run(
                    [exe], cwd=tmp, capture_output=True, text=True,
                    timeout=120)
                if build.returncode or run.returncode:
                    failed += 1
                    print(f'FAIL {name}:\n{build.stderr}'
                          f'{run.stdout + run.stderr if run else ""}')
                else:
                    passed += 1
                    print(f'ok   {name}: {run.stdout.strip()}')
    print(f'{passed} passed, {failed} failed')
    return 1 if failed or not passed else 0


if __name__ == '__main__':
    sys.exit(main())
