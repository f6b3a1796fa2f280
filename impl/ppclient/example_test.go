package ppclient_test

import (
	"context"
	"log"
	"os"
	"time"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/ppclient"
)

// A delivery in two phases, then a read. A front end does the prepare on
// several backends and commits only when enough of them said "stored".
func Example() {
	c := ppclient.New(ppclient.Config{Addr: "10.0.0.7:1101", Secret: os.Getenv("PM_SECRET"), ClientName: "smtp1"})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	id := msgid.New(time.Now())
	up, err := c.Begin(ctx, id)
	if err != nil {
		log.Fatal(err) // ppclient.IsTemporary(err): try another backend
	}
	up.Write([]byte("Subject: hi\r\n\r\nhello\r\n"))
	if err := up.Finish(); err != nil { // durable on the backend, in no mailbox yet
		log.Fatal(err)
	}
	ann := mailbox.MustParse("ann@example.com")
	if err := c.Commit(ctx, id, []mailbox.Name{ann}); err != nil {
		log.Fatal(err)
	}
	// Get writes the stored bytes to any io.Writer; to a *net.TCPConn
	// they go socket to socket by splice(2).
	if _, err := c.Get(ctx, ann, id, os.Stdout); err != nil {
		log.Fatal(err)
	}
}
