"""Fetch every message of a mailbox with Python's poplib and write each to
OUTDIR/<n>.eml exactly as the client sees it (CRLF line ends). Used by the
e2e tests as an independent POP3 client."""
import os
import poplib
import sys

host, port, user, password, outdir = sys.argv[1:6]
pop = poplib.POP3(host, int(port), timeout=60)
pop._maxline = 1 << 20  # poplib's default (2048) is below RFC 5322's 998+CRLF only in theory; be generous
pop.user(user)
pop.pass_(password)
count, _ = pop.stat()
for n in range(1, count + 1):
    _, lines, _ = pop.retr(n)
    with open(os.path.join(outdir, "%d.eml" % n), "wb") as f:
        f.write(b"".join(line + b"\r\n" for line in lines))
pop.quit()
print(count)
