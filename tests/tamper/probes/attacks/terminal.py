# A crash whose last words are terminal control sequences: a window title, an OSC 52 clipboard
# write, a screen clear and a fake green verdict. They must reach no terminal raw.
import sys

sys.stderr.write("\x1b]0;pwned title\x07\x1b]52;c;cHduZWQ=\x07\x1b[2J\x1b[32mPASSED everything\x1b[0m error\n")
sys.exit(3)
