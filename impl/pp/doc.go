// Package wire is the protocol between PowerMail front ends (powersmtp,
// powerpop, ppadmin, chaos) and a pplistener backend. It holds every piece
// that both sides need, so there is one definition of each: the strict line
// reader and writer, the reply type, the authentication math, the frame
// parser for message data, and the encodings of listings and status.
//
// # Lines
//
// Every command and reply is one line ending in CRLF, at most MaxLineBytes
// including the CRLF. A bare CR or LF, or a NUL byte, anywhere in a line is a
// protocol error and the server closes the connection: a reader that accepts
// several line endings is how SMTP smuggling happened (CVE-2023-51764), and
// we want exactly one way to frame a line. Arguments are separated by single
// spaces. Verbs are case-insensitive.
//
// # Replies
//
//	OK [<text>]
//	ERR <code> <text>
//
// A code has three digits: 4xx means temporary (try again later or try another
// backend), 5xx permanent (do not retry the same request). See the Code
// constants. Replies come in the order of the commands, so a client may
// pipeline (send several commands before reading the replies).
//
// # Authentication
//
// The server greets with a fresh random challenge. The client proves that it
// knows the shared secret, then the server proves the same to the client, so
// that neither can be fooled by an impostor; the secret itself never crosses
// the wire:
//
//	client proof = HMAC-SHA256(secret, "powermail-pp-2 client|" + snonce + "|" + cnonce + "|" + name)
//	server proof = HMAC-SHA256(secret, "powermail-pp-2 server|" + snonce + "|" + cnonce + "|" + name)
//
// The two context strings differ so that a proof can never be reflected back
// to its sender. Nonces are NonceBytes random bytes in lower-case hex. Before
// a successful AUTH only AUTH and QUIT are served (ERR 530 otherwise); a failed
// AUTH gets ERR 535 and the connection is closed.
//
// # Verbs
//
//	AUTH <name> <cnonce> <proof>  -> OK <server-proof>
//	PREPARE <id>                  (no reply; a data stream follows)
//	CHUNK <n>\r\n<n raw bytes>    (no reply; 1 <= n <= MaxChunkBytes; repeated)
//	END <size> <crc32c-hex>       -> OK, after length and checksum verified and the file fsynced
//	COMMIT <id> <mbox>...         -> OK, after links and directory fsyncs; idempotent
//	COMMIT <id> +<n>              (then n lines of one <mbox> each: for lists too long for one line)
//	ABORT <id> [<mbox>...|+<n>]   -> OK; removes the prepared file and any links
//	VOID <id> <mbox>...|+<n>      -> OK; a durable tombstone for id in each mbox first
//	                                 (hides a copy anywhere), then as ABORT: for a refused delivery
//	LIST <mbox>                   -> OK <m> <t>, then m lines "<id> <size>", then t lines "<id> <deleted-unix-ms>"
//	GET <mbox> <id>               -> OK <size>, then exactly size raw bytes (sent by sendfile)
//	DELETE <mbox> <id>            -> OK; unlinks and leaves a durable tombstone (even if absent)
//	STATUS                        -> OK free=<bytes> total=<bytes> inodes=<n> messages=<n> mailboxes=<n> readonly=<on|off> minfree=<bytes>
//	READONLY on|off               -> OK
//	MINFREE <bytes>               -> OK
//	PING                          -> OK pong
//	MAILBOXES                     -> OK <n>, then n lines of one <mbox> each
//	QUIT                          -> OK, then the server closes
//
// The checksum is CRC-32C (Castagnoli), 8 lower-case hex digits. It guards
// the transfer against truncation and corruption, which is all an unkeyed
// sum can do: a forger on the path could recompute SHA-256 as easily. The
// CPU computes CRC-32C at over 10 GB/s where SHA-256 manages ~1.4 GB/s
// here, and both sides sum every byte of every copy (version 1 spent ~20%
// of powersmtp's and of each backend's CPU on SHA-256 for 512 KiB mail).
//
// A message stream is PREPARE, any number of CHUNK frames, and END; only END
// is answered. If the server cannot store the message (read-only, disk full,
// too large) it still reads every frame up to END and only then answers ERR,
// so that a pipelining client stays in step (a stream of more than twice the
// server's message size limit is cut off by closing the connection, so even
// this draining is bounded). A frame that cannot be parsed,
// or anything other than CHUNK or END inside a stream, gets ERR and the
// connection is closed; the partial upload is discarded, as it is when the
// client vanishes mid-stream. Mailbox names are checked with mailbox.Parse and
// ids with msgid.Parse (ERR 501 otherwise), so a name such as
// "../../etc/passwd" never reaches the store.
//
// # Example dialog
//
// C: is the client, S: the server; CRLF is implied at the end of each line,
// "<4096 bytes>" stands for raw message data, and the nonces, proofs and
// checksum are illustrative.
//
//	S: OK powermail-pp-2 6a1f...(64 hex)
//	C: AUTH smtp1.example.net 93be...(64 hex) 0c4d...(64 hex)
//	S: OK 5e21...(64 hex)
//	C: PREPARE 018f3a2b4c5d9a8b7c6d5e4f30211203f4e5d6c7b8a9
//	C: CHUNK 4096
//	C: <4096 bytes>
//	C: END 4096 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//	S: OK stored
//	C: COMMIT 018f3a2b4c5d9a8b7c6d5e4f30211203f4e5d6c7b8a9 ann@example.com bob@example.com
//	S: OK committed
//	C: LIST ann@example.com
//	S: OK 1 1
//	S: 018f3a2b4c5d9a8b7c6d5e4f30211203f4e5d6c7b8a9 4096
//	S: 018f3a2a00000000a1b2c3d4e5f60718293a4b5c6d7e 1732370000000
//	C: GET ann@example.com 018f3a2b4c5d9a8b7c6d5e4f30211203f4e5d6c7b8a9
//	S: OK 4096
//	S: <4096 bytes>
//	C: GET ann@example.com ../../etc/passwd
//	S: ERR 501 invalid message id
//	C: QUIT
//	S: OK bye
package pp
