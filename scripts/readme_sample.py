#!/usr/bin/env python3
"""scripts/readme_sample.py README LOG - keep README's sample output honest.

Every line of the code blocks under README's "## What you see" heading must
match a line of LOG, a real boot's console output, numbers aside: in both,
numbers (decimal, 0x hexadecimal) become '#', the cells of a bar or picture
in brackets become one '[bar]', and runs of blanks become one blank, so a
figure that changed with the code does not fail the test but a line that
is gone, renamed or reworded does.  Prints each sample line that matches
nothing (with the nearest boot line, to help) and exits 1 if there is one.
"""
import difflib
import re
import sys

HEADING = "## What you see"


def sample_lines(readme_text):
    """The lines inside ``` blocks between HEADING and the next '## ' heading."""
    lines, inside, in_section = [], False, False
    for line in readme_text.splitlines():
        if line.startswith("## "):
            in_section = line.strip() == HEADING
            continue
        if not in_section:
            continue
        if line.startswith("```"):
            inside = not inside
            continue
        if inside and line.strip():
            lines.append(line)
    return lines


def normalise(line):
    line = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line).replace("\r", "")
    line = re.sub(r"\[[#.rRKMA ]+\]", "[bar]", line)  # bars and pictures
    line = re.sub(r"0x[0-9a-fA-F]+|\d+(\.\d+)?", "#", line)
    return " ".join(line.split())


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: readme_sample.py README LOG")
    sample = sample_lines(open(sys.argv[1], encoding="utf-8").read())
    boot = [normalise(l) for l in open(sys.argv[2], encoding="utf-8", errors="replace")]
    known = set(boot)
    if not sample:
        print("readme_sample: no sample lines under %r in %s" % (HEADING, sys.argv[1]))
        return 1
    missing = [l for l in sample if normalise(l) not in known]
    for line in missing:
        near = difflib.get_close_matches(normalise(line), boot, n=1, cutoff=0.5)
        print("readme_sample: no boot line like: %s" % line.strip())
        print("                 nearest in the boot: %s" % (near[0] if near else "(none)"))
    print("readme_sample: %d of %d sample lines match the boot" % (len(sample) - len(missing), len(sample)))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
