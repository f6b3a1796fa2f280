"""TOP with Python's poplib, an independent POP3 client: for each line
count given, print one line "<n> <header lines> <body lines>" for message 1,
counting the lines poplib returns before and after the blank line."""
import poplib
import sys

host, port, user, password = sys.argv[1:5]
pop = poplib.POP3(host, int(port), timeout=60)
pop.user(user)
pop.pass_(password)
for arg in sys.argv[5:]:
    _, lines, _ = pop.top(1, int(arg))
    blank = lines.index(b"")
    print(arg, blank, len(lines) - blank - 1)
pop.quit()
