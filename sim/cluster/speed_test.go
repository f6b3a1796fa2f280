package cluster

import (
	"testing"
)

func BenchmarkBigCluster(b *testing.B) {
	for _, pol := range []string{"powermail", "rendezvous"} {
		b.Run(pol, func(b *testing.B) {
			c := Defaults()
			c.Backends, c.Groups, c.Mailboxes, c.Policy = 1000, 20, 1e7, pol
			c.SMTPRate, c.LoginRate, c.Duration = 1000, 2000, float64(b.N)/1000
			s, _ := New(c)
			r := s.Run()
			b.ReportMetric(r.Run.WallSec/float64(max(r.Delivered, 1))*1e6, "us/msg")
		})
	}
}
