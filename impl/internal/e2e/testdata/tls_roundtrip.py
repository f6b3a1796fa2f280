"""Send one message with smtplib over STARTTLS and read it back with poplib
over STLS, both verifying the server's certificate against CAFILE (the
self-signed certificate of `make run`). Prints the retrieved message on
stdout. Then shows that the same clients without CAFILE refuse the
certificate: verification is really on. Used by the e2e TLS test."""
import poplib
import smtplib
import ssl
import sys

host, smtp_port, pop_port, cafile, user, password = sys.argv[1:7]
body = sys.stdin.buffer.read()

trusted = ssl.create_default_context(cafile=cafile)
with smtplib.SMTP(host, int(smtp_port), timeout=30) as s:
    s.ehlo("tls-test.example")
    if not s.has_extn("starttls"):
        sys.exit("EHLO does not offer STARTTLS")
    s.starttls(context=trusted)
    s.ehlo("tls-test.example")
    s.sendmail("sender@remote.example", [user], body)

pop = poplib.POP3(host, int(pop_port), timeout=30)
if "STLS" not in pop.capa():
    sys.exit("CAPA does not offer STLS")
pop.stls(context=trusted)
pop.user(user)
pop.pass_(password)
_, lines, _ = pop.retr(1)
pop.quit()
sys.stdout.buffer.write(b"".join(line + b"\r\n" for line in lines))

untrusted = ssl.create_default_context()
try:
    with smtplib.SMTP(host, int(smtp_port), timeout=30) as s:
        s.starttls(context=untrusted)
    sys.exit("STARTTLS accepted a certificate the client does not trust")
except ssl.SSLCertVerificationError:
    pass
