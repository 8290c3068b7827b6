"""One line: is this Python one the book supports?  python3 tools/check_python.py

Run before the learner install (README, Makefile): on another Python, pip's answer is a
screen of "Ignored the following versions" and "No matching distribution found". Written
for any Python 3, so that an old one gets this line too.
"""

import sys

# The Pythons the tests run the learner install on (tools/learner_envs.py).
OLDEST, NEWEST = (3, 10), (3, 13)


def main():
    found = "{}.{}.{}".format(*sys.version_info[:3])
    wanted = "{}.{} to {}.{}".format(*OLDEST, *NEWEST)
    if OLDEST <= sys.version_info[:2] <= NEWEST:
        print("Python {} is supported ({}).".format(found, wanted))
        return 0
    sys.stderr.write(
        "Python {} is not supported: the book needs Python {}; make the environment with "
        "one of them (e.g. python3.12 -m venv .venv).\n".format(found, wanted)
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
