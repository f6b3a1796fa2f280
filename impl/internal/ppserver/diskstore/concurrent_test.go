package diskstore_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"powermail/impl/mailbox"
)

// TestConcurrentClients: goroutines sharing one pooled client deliver and
// read back concurrently (run with -race); every message comes back intact
// and every mailbox lists exactly its own.
func TestConcurrentClients(t *testing.T) {
	const workers, perWorker = 8, 15
	b := startBackend(t)
	c := b.client(t)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			box := mailbox.MustParse(fmt.Sprintf("worker%d@example.com", w))
			for i := range perWorker {
				msg := message(w*1000 + i*97)
				id, err := tryPut(c, msg, 333, box)
				if err != nil {
					t.Errorf("worker %d message %d: %v", w, i, err)
					return
				}
				var got bytes.Buffer
				if _, err := c.Get(ctxT(t), box, id, &got); err != nil || !bytes.Equal(got.Bytes(), msg) {
					t.Errorf("worker %d message %d: %v", w, i, err)
				}
			}
			if l, err := c.List(ctxT(t), box); err != nil || len(l.Messages) != perWorker {
				t.Errorf("worker %d: %d listed, %v", w, len(l.Messages), err)
			}
		}()
	}
	wg.Wait()
}
