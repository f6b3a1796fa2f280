package main

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"powermail/impl/store"
)

// storeStatus exports the store's Status at every scrape: free space
// against the floor below which the backend refuses new mail, read-only
// mode, and what it holds. Read when scraped, not sampled, so an alert
// sees the value of that moment.
type storeStatus struct {
	st atomic.Pointer[store.Store]
}

var (
	statusCollector = &storeStatus{}
	registerStatus  sync.Once
)

// exportStatus makes st the store whose status /metrics shows (the last
// one opened: a process serves one store; tests open several in turn).
func exportStatus(st *store.Store) {
	statusCollector.st.Store(st)
	registerStatus.Do(func() { prometheus.MustRegister(statusCollector) })
}

func desc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("powermail_store_"+name, help, nil, nil)
}

var (
	descFree     = desc("free_bytes", "Bytes available to the daemon on the store's file system (f_bavail).")
	descTotal    = desc("size_bytes", "Size of the store's file system.")
	descInodes   = desc("free_inodes", "Free inodes on the store's file system.")
	descFloor    = desc("min_free_bytes", "The free-space floor: below it the backend refuses new mail.")
	descReadOnly = desc("readonly", "1 when the backend refuses new mail by configuration or READONLY.")
	descMessages = desc("messages", "Message files in mailboxes (one per id, however many mailboxes link it).")
	descBoxes    = desc("mailboxes", "Mailboxes on this backend.")
)

func (c *storeStatus) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFree, descTotal, descInodes, descFloor, descReadOnly, descMessages, descBoxes} {
		ch <- d
	}
}

// Collect reports a failed statfs as a scrape error: the target then
// shows as failing, which is what a backend that cannot see its own disk is.
func (c *storeStatus) Collect(ch chan<- prometheus.Metric) {
	st := c.st.Load()
	if st == nil {
		return
	}
	s, err := st.Status()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descFree, err)
		return
	}
	ro := 0.0
	if s.ReadOnly {
		ro = 1
	}
	for _, m := range []struct {
		d *prometheus.Desc
		v float64
	}{
		{descFree, float64(s.FreeBytes)}, {descTotal, float64(s.TotalBytes)}, {descInodes, float64(s.FreeInodes)},
		{descFloor, float64(s.MinFreeBytes)}, {descReadOnly, ro}, {descMessages, float64(s.Messages)},
		{descBoxes, float64(s.Mailboxes)},
	} {
		ch <- prometheus.MustNewConstMetric(m.d, prometheus.GaugeValue, m.v)
	}
}
