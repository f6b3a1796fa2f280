#!/usr/bin/env python3
"""Independent POP3 client for pop3d's integration test (Python's poplib).

usage: poplib_check.py HOST PORT USER PASSWORD EXPECTED_DIR

EXPECTED_DIR holds one file per message, named 1, 2, ...: the exact bytes the
client must see after RETR (dot-unstuffed, CRLF lines). The script checks STAT,
UIDL, every RETR byte for byte, TOP, then DELEs message 1 and QUITs.
Exit status 0 on success; the reason is printed otherwise.
"""
import os
import poplib
import sys

# poplib refuses lines over 2048 octets by default; our messages may have up
# to 998-octet lines, and the 10 MB test message is built of long lines too.
poplib._MAXLINE = 1 << 20


def main():
    host, port, user, password, expected_dir = sys.argv[1:6]
    expected = []
    for i in range(1, len(os.listdir(expected_dir)) + 1):
        with open(os.path.join(expected_dir, str(i)), "rb") as f:
            expected.append(f.read())

    pop = poplib.POP3(host, int(port), timeout=60)
    pop.user(user)
    pop.pass_(password)
    count, _ = pop.stat()
    if count != len(expected):
        fail("STAT says %d messages, want %d" % (count, len(expected)))
    _, uidls, _ = pop.uidl()
    if len(uidls) != count:
        fail("UIDL listed %d messages" % len(uidls))
    for i, want in enumerate(expected, start=1):
        _, lines, _ = pop.retr(i)
        got = b"\r\n".join(lines) + b"\r\n"
        if got != want:
            fail("RETR %d: %d bytes differ from the expected %d" % (i, len(got), len(want)))
    _, top, _ = pop.top(1, 0)
    header = expected[0].split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    if top != header + [b""]:
        fail("TOP 1 0 returned %r" % top[:5])
    pop.dele(1)
    resp = pop.quit()
    if not resp.startswith(b"+OK"):
        fail("QUIT: %r" % resp)
    print("ok: %d messages verified" % count)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


if __name__ == "__main__":
    main()
