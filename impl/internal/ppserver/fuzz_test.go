package ppserver_test

import (
	"bufio"
	"io"
	"testing"
	"time"

	"powermail/impl/internal/ppserver"
	"powermail/impl/pp"
)

// FuzzSession drives a whole authenticated session with arbitrary input.
// Invariants: the server does not panic, the session ends when the client
// hangs up, and no upload is left open in the store (a partial message is
// always cancelled).
func FuzzSession(f *testing.F) {
	const id = "018f3a2b4c5d9a8b7c6d5e4f30211203f4e5d6c7b8a9"
	const sum = "cd2eca3535741f27a8ae40c31b0c41d4057a7a7b912b33b9aed86485d1c84676"
	f.Add("PREPARE " + id + "\r\nCHUNK 7\r\nhello\r\nEND 7 " + sum + "\r\nCOMMIT " + id + " a@b.c\r\nLIST a@b.c\r\nGET a@b.c " + id + "\r\n")
	f.Add("PREPARE " + id + "\r\nCHUNK 70\r\nhello")
	f.Add("COMMIT " + id + " +2\r\na@b.c\r\n")
	f.Add("DELETE a@b.c " + id + "\r\nLIST a@b.c\r\nMAILBOXES\r\nSTATUS\r\nREADONLY on\r\nMINFREE 5\r\nQUIT\r\n")
	f.Add("CHUNK 5\r\n\x00\x00\x00\x00\x00PING\r\n")
	f.Fuzz(func(t *testing.T, input string) {
		st := newFakeStore(t.TempDir())
		srv := newServer(t, st, func(c *ppserver.Config) { c.IOTimeout = time.Second })
		_, p := newPipeClient(t, srv, testSecret)
		c := p.rawConn(t)
		d := &dialog{t: t, c: c, r: pp.NewReader(c, 0), st: st, p: p}
		aw, drain := asyncWriter(c)
		d.w, d.drain = bufio.NewWriter(aw), drain
		if err := d.greeting(); err != nil {
			t.Fatal(err)
		}
		if err := d.auth(); err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, d.r)
		d.w.WriteString(input)
		d.w.Flush()
		d.drain()
		c.Close()
		p.wg.Wait()
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.uploading != 0 {
			t.Fatalf("%d uploads left open", st.uploading)
		}
	})
}
