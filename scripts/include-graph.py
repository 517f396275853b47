#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The module's parts must form layers: no include loop among them.

   python3 scripts/include-graph.py [-v] [DIR]

A part is a file name without its extension: region.c and region.h are the
part "region". A part depends on another when its .c or .h file includes
the other's header ("#include \"x.h\""). The dependencies must form no
cycle: then every part can be read knowing only the parts below it, and a
change to a lower part cannot need a change above it to compile. KUnit
files (*_kunit.c include the .c file they test) and the feature probes are
left out. -v prints each part with what it uses, lowest first.

For the includes to tell the truth, a function is declared in the header
of the part that defines it, and nowhere else: a part cannot call another
without including its header. pshare.h, the types every part shares,
declares no function of its own but static inlines.

Exits 1 and names a cycle, or a function declared in the wrong header.
"""

import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)\.h"', re.M)
# A declaration or definition at the start of a line: "type name(" with
# the type on the same line; static ones are private to their file.
FUNC = re.compile(r'^(?!static\b)[a-z_][\w \t*]*?\b(\w+)\(', re.M)
DEFINITION = re.compile(r'^(?!static\b)[a-z_][\w \t*]*?\b(\w+)\([^;{]*\)\s*\{',
                        re.M)


def parts_of(top):
    deps = {}
    for name in sorted(os.listdir(top)):
        base, ext = os.path.splitext(name)
        if ext not in ('.c', '.h') or base.endswith('_kunit'):
            continue
        with open(os.path.join(top, name), encoding='utf-8') as f:
            used = set(INCLUDE.findall(f.read()))
        deps.setdefault(base, set()).update(used - {base})
    # Headers of the kernel build (pshare_probed.h) are not parts.
    for used in deps.values():
        used.intersection_update(deps)
    return deps


def misplaced(top):
    """Functions declared in a header other than their own part's."""
    defined = {}
    declared = []
    for name in sorted(os.listdir(top)):
        base, ext = os.path.splitext(name)
        if ext not in ('.c', '.h') or base.endswith('_kunit'):
            continue
        with open(os.path.join(top, name), encoding='utf-8') as f:
            text = f.read()
        if ext == '.c':
            for fn in DEFINITION.findall(text):
                defined[fn] = base
        elif ext == '.h':
            declared += [(fn, base) for fn in FUNC.findall(text)]
    return [f'{fn}() of {defined[fn]}.c is declared in {hdr}.h'
            for fn, hdr in declared
            if fn in defined and defined[fn] != hdr]


def find_cycle(deps):
    """Depth-first search; returns one cycle as a list, or None."""
    state = {}
    path = []

    def visit(part):
        state[part] = 'open'
        path.append(part)
        for nxt in sorted(deps[part]):
            if state.get(nxt) == 'open':
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[part] = 'done'
        return None

    for part in sorted(deps):
        if part not in state:
            found = visit(part)
            if found:
                return found
    return None


def layers(deps):
    """Each part's height: 0 uses nothing, else 1 + the highest it uses."""
    height = {}

    def h(part):
        if part not in height:
            height[part] = 1 + max((h(d) for d in deps[part]), default=-1)
        return height[part]

    for part in deps:
        h(part)
    return height


def main(argv):
    verbose = '-v' in argv
    args = [a for a in argv if a != '-v']
    top = args[0] if args else os.path.join(os.path.dirname(__file__),
                                            '..', 'module')
    wrong = misplaced(top)
    for what in wrong:
        print('include-graph: ' + what, file=sys.stderr)
    if wrong:
        return 1
    deps = parts_of(top)
    cycle = find_cycle(deps)
    if cycle:
        print('include-graph: a loop among the module parts: ' +
              ' -> '.join(cycle), file=sys.stderr)
        return 1
    if verbose:
        height = layers(deps)
        for part in sorted(deps, key=lambda p: (height[p], p)):
            uses = ', '.join(sorted(deps[part])) or '-'
            print(f'{height[part]:2}  {part:10} uses {uses}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
